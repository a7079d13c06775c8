"""The LLM review of a candidate, asked again once when the reply gives no verdict."""

from __future__ import annotations

from typing import Callable

from eureka.critic.checks import Review, parse_review

ASKED_AGAIN_SUFFIX = "-again"  # the purpose of the second request: "i0-c1:review0-again"


def review_with_second_chance(ask: Callable[[str], str]) -> Review:
    """`ask(suffix)` returns one review reply. An empty, cut-off or prose reply is asked again
    once; a second one without a verdict counts as a rejection, with both reasons."""
    first = parse_review(ask(""))
    if first.parsed:
        return first
    second = parse_review(ask(ASKED_AGAIN_SUFFIX))
    if second.parsed:
        return second
    return Review(False, [first.reasons[0], f"asked again: {second.reasons[0]}"], parsed=False)
