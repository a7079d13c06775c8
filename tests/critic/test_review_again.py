"""A review without a verdict is asked again once, then counts as a rejection with its reason."""

from __future__ import annotations

from eureka.critic.review import review_with_second_chance


def asker(*replies: str):
    asked: list[str] = []

    def ask(suffix: str) -> str:
        asked.append(suffix)
        return replies[len(asked) - 1]
    return ask, asked


def test_a_verdict_the_first_time_is_taken() -> None:
    ask, asked = asker("VERDICT: REJECT\n- the sign of upright is wrong")
    review = review_with_second_chance(ask)
    assert not review.accepted and review.reasons == ["the sign of upright is wrong"] and asked == [""]


def test_no_verdict_is_asked_again_once() -> None:
    ask, asked = asker("Looks fine to me.", "VERDICT: ACCEPT")
    review = review_with_second_chance(ask)
    assert review.accepted and asked == ["", "-again"]


def test_no_verdict_twice_is_a_rejection_with_both_reasons() -> None:
    ask, asked = asker("", "The reward reads the pole angle and")
    review = review_with_second_chance(ask)
    assert not review.accepted and not review.parsed and asked == ["", "-again"]
    assert review.reasons[0] == "the review came back empty (no VERDICT line)"
    assert review.reasons[1].startswith("asked again: the review gave no VERDICT line: 'The reward reads")
