"""The one code-fence parser: tags, longer fences, blocks left open, and None when there is none."""

from __future__ import annotations

from eureka.design.fences import blocks, code_block, open_block

PYTHON = ("python", "py", "python3", "")


def test_no_fence_means_no_block() -> None:
    assert blocks("def compute_reward(): pass", PYTHON) == []
    assert open_block("def compute_reward(): pass", PYTHON) is None
    assert code_block("I would reward the pole for staying up.", PYTHON, marker="def compute_reward") is None


def test_language_tags_are_compared_lower_cased_and_filtered() -> None:
    text = "```Python\na = 1\n```\n```json\n{}\n```\n~~~\nb = 2\n~~~\n```py title=x\nc = 3\n```\n"
    assert blocks(text, PYTHON) == ["a = 1\n", "b = 2\n", "c = 3\n"]
    assert blocks(text, ("json",)) == ["{}\n"]
    assert blocks(text, ("json", "")) == ["{}\n", "b = 2\n"]


def test_a_longer_fence_holds_a_shorter_one() -> None:
    text = "````markdown\nhere:\n```python\nx = 1\n```\n````\n"
    assert blocks(text, ("markdown",)) == ["here:\n```python\nx = 1\n```\n"]


def test_the_marked_block_wins_else_the_last() -> None:
    text = "```python\ndef f(): pass\n```\n```python\nprint(1)\n```\n"
    assert code_block(text, PYTHON, marker="def f") == "def f(): pass\n"
    assert code_block(text, PYTHON, marker="def g") == "print(1)\n"
    assert code_block(text, PYTHON) == "print(1)\n"


def test_a_block_left_open_counts_only_with_the_marker() -> None:
    cut = "Here it is:\n```python\ndef compute_reward(obs):\n    return obs"
    assert open_block(cut, PYTHON) == "def compute_reward(obs):\n    return obs"
    assert code_block(cut, PYTHON, marker="def compute_reward") == "def compute_reward(obs):\n    return obs"
    assert code_block(cut, PYTHON, marker="def other") is None
    assert open_block("```json\n{", PYTHON) is None  # another language's open block is not code
    assert open_block("```\n{", ("json",)) is None  # untagged only where "" is asked for
