"""Fenced blocks of a model's reply (```python ... ```), the one parser of code fences.

A fence is three or more backticks or tildes; the block closes at the same fence on a line of
its own, so a longer fence can hold a shorter one. The language tag is compared lower-cased;
an untagged block has the tag "". Nothing is guessed: text without a fence has no block.

Example::

    >>> blocks("Here:\\n```py\\nx = 1\\n```\\n", {"python", "py", ""})
    ['x = 1\\n']
    >>> code_block("no code here", {"python"}) is None
    True
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Collection

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)


def blocks(text: str, languages: Collection[str]) -> list[str]:
    """The bodies of the closed blocks whose tag is one of `languages` ("" for untagged), in order."""
    wanted = {language.lower() for language in languages}
    return [m.group("body") for m in FENCE.finditer(text) if m.group("lang").lower() in wanted]


@lru_cache(maxsize=16)
def _open_fence(languages: frozenset[str]) -> re.Pattern[str]:
    tags = "|".join(sorted((re.escape(language) for language in languages if language), key=len, reverse=True))
    optional = "?" if "" in languages else ""
    return re.compile(rf"^(?:`{{3,}}|~{{3,}})[ \t]*(?:{tags}){optional}[ \t]*\n(?P<body>.*)\Z",
                      re.MULTILINE | re.DOTALL | re.IGNORECASE)


def open_block(text: str, languages: Collection[str]) -> str | None:
    """The body of the first fence line (tag in `languages`, or none) to the end of the text:
    a block whose closing fence never came (generation stopped early). None without one."""
    match = _open_fence(frozenset(language.lower() for language in languages)).search(text)
    return match.group("body") if match else None


def code_block(text: str, languages: Collection[str], marker: str | None = None) -> str | None:
    """The block of `text` to use: the last closed block holding `marker` (else the last closed
    block); with no closed block, a block left open that holds `marker`. None when there is none.
    """
    closed = blocks(text, languages)
    if not closed:
        unclosed = open_block(text, languages)
        if unclosed is not None and marker is not None and marker in unclosed:
            closed = [unclosed]
    if not closed:
        return None
    marked = [block for block in closed if marker is not None and marker in block]
    return (marked or closed)[-1]
