"""Blocks of the observation: a grid, a map view or an image, flattened into one column range.

A layout line over a column range describes a block when the layout states all of:

- its shape: ``R x C`` (rows by columns, also ``R by C``) and ``K channels`` (``K one-hot
  channels``), or ``R x C x K``; R * C * K must be the line's column count (without a stated K:
  the count over R * C, where the channel names below list that many);
- that its cells hold 0 or 1: ``one-hot``, ``binary``, ``0 or 1`` or ``in [0, 1]``;
- a name for every channel, listed after the word "channel" as ``0 <name>, 1 <name>, ...``
  (``0: <name>`` too); a block of one channel is named by its line.

The block's text is its ``obs[...]`` line with the indented lines under it; what that text does
not state is looked up in the layout's lines that belong to no ``obs[...]`` line (a header such
as "The observation is a 10 x 10 image with 4 channels"). Cells run row by row with the channel
fastest: channel k of cell (r, c) is column ``first + (r * C + c) * K + k``, as a row-by-row
flatten of an (R, C, K) array gives; a layout that says "channel-first" or "channels first" means
``first + k * R * C + r * C + c``.

Where the layout also states an anchor: a fixed cell ("the player stands in cell (3, 4)", for a
view centred on the player) or a channel whose name says agent, player, robot or avatar (its
cell, the mean of its cells where there are several), each channel k gives

- ``distance_<anchor>_<k>``: the steps from the anchor to the nearest cell of k (Manhattan,
  in cells; Euclidean where the layout says so), ``R + C`` when there is none;
- ``<k>_next_to_<anchor>``: 1 when k is in a cell left, right, above or below the anchor;
- ``count_<k>``: the number of cells of k;

and an anchor channel also its row and column. Without an anchor: counts, each channel's row
and column (the mean where there are several, -1 when there is none) and, for up to
MAX_PAIR_CHANNELS channels, between two channels the distance and their row and column
differences. A layout that states less gets no block quantities (offer nothing rather than guess).

Every quantity is one array expression over the state (numpy or jax.numpy: ``{xp}``) computed
with whole-array operations, so it compiles into a reward like any column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from eureka.design.quantities import Quantity

SHAPE = re.compile(r"(?<![\w.])(\d+)\s*(?:x|\u00d7|by)\s*(\d+)(?:\s*(?:x|\u00d7|by)\s*(\d+))?(?![\w.])", re.IGNORECASE)
CHANNELS = re.compile(r"(?<![\w.])(\d+)\s+(?:[\w-]+\s+){0,2}?channels?\b", re.IGNORECASE)
BINARY = re.compile(r"one[- ]hot|\bbinary\b|\b0 or 1\b|\b0/1\b|\[\s*0(?:\.0*)?\s*,\s*1(?:\.0*)?\s*\]", re.IGNORECASE)
CHANNEL_FIRST = re.compile(r"\bchannels?[- ]first\b", re.IGNORECASE)
EUCLIDEAN = re.compile(r"\beuclid", re.IGNORECASE)
CHANNEL_WORD = re.compile(r"\bchannel", re.IGNORECASE)
ANCHOR_WORDS = r"agent|player|robot|avatar"
ANCHOR_CELL = re.compile(rf"\b(?P<who>{ANCHOR_WORDS})\b[^.;]*?\bcell\s*\(\s*(?P<r>\d+)\s*,\s*(?P<c>\d+)\s*\)",
                         re.IGNORECASE)
ANCHOR_NAME = re.compile(rf"\b(?:{ANCHOR_WORDS})\b", re.IGNORECASE)
MAX_PAIR_CHANNELS = 4  # without an anchor, relations between every two channels up to this many (6 pairs)
MAX_BLOCK_DERIVED = 64  # quantities per block, at most (a long table drowns a small model)
MAX_CELLS = 65_536


@dataclass(frozen=True)
class Block:
    """A grid of R x C cells with K channels of 0/1 values in columns [first, stop)."""

    first: int
    stop: int
    rows: int
    cols: int
    channels: int
    names: tuple[str, ...]  # each channel's description, as the layout states it
    channel_first: bool = False
    anchor_cell: tuple[int, int] | None = None
    anchor_channel: int | None = None
    anchor_word: str = "agent"
    metric: Literal["manhattan", "euclidean"] = "manhattan"

    @property
    def label(self) -> str:
        return f"the {self.rows} x {self.cols} grid obs[:, {self.first}:{self.stop}]"

    @property
    def far(self) -> int:
        """The distance reported when a channel is absent: more than any two cells are apart."""
        return self.rows + self.cols

    def columns(self, channel: int) -> tuple[int, ...]:
        cells = self.rows * self.cols
        if self.channel_first:
            return tuple(range(self.first + channel * cells, self.first + (channel + 1) * cells))
        return tuple(range(self.first + channel, self.stop, self.channels))

    def cells(self, channel: int) -> str:
        """The (N, R * C) slice of one channel, cells row by row (a template over {var})."""
        cells = self.rows * self.cols
        if self.channel_first:
            start = self.first + channel * cells
            return f"{{var}}[:, {start}:{start + cells}]"
        if self.channels == 1:
            return f"{{var}}[:, {self.first}:{self.stop}]"
        return f"{{var}}[:, {self.first + channel}:{self.stop}:{self.channels}]"


def _without_parentheses(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", " ", text)
    return text


def _shape(text: str, width: int) -> tuple[int, int, int] | None:
    channel_counts = [int(m.group(1)) for m in CHANNELS.finditer(text)]
    for match in SHAPE.finditer(text):
        rows, cols = int(match.group(1)), int(match.group(2))
        inferred = [width // (rows * cols)] if rows * cols and width % (rows * cols) == 0 else []
        options = [int(match.group(3))] if match.group(3) else channel_counts + [1] + inferred
        for channels in options:
            if rows >= 2 and cols >= 2 and channels >= 1 and rows * cols * channels == width:
                return rows, cols, channels
    return None


def _channel_names(text: str, count: int) -> tuple[str, ...] | None:
    """``0 <name>, 1 <name>, ...`` after the word "channel", in order (None unless all are there)."""
    start = CHANNEL_WORD.search(text)
    if start is None:
        return None
    flat = _without_parentheses(text[start.start():])
    names: list[str] = []
    position = 0
    for index in range(count):
        match = re.compile(rf"(?<![\w.]){index}\s*(?:[:=\u2013\u2014-]\s*)?(?P<name>[A-Za-z][^,;:.\n]*)").search(
            flat, position)
        if match is None:
            return None
        name = " ".join(match.group("name").replace("'s ", " ").split())
        names.append(re.sub(r"^(?:the|a|an)\s+", "", name, flags=re.IGNORECASE))
        position = match.end()
    return tuple(names)


def parse_block(first: int, stop: int, text: str, free_text: str = "") -> Block | None:
    """The block a layout entry over columns [first, stop) describes (`text`: its lines;
    `free_text`: the layout's lines outside any entry), or None where the layout states too little."""
    width = stop - first
    sources = (text, free_text)
    shape = next((s for s in (_shape(t, width) for t in sources) if s), None)
    if shape is None or shape[0] * shape[1] > MAX_CELLS or not any(BINARY.search(t) for t in sources):
        return None
    rows, cols, channels = shape
    if channels == 1:
        from eureka.design.quantities import _slug

        names: tuple[str, ...] | None = (_slug(text) or "cell",)
    else:
        names = next((n for n in (_channel_names(t, channels) for t in sources) if n), None)
    if names is None:
        return None
    anchor_cell, anchor_channel, word = None, None, "agent"
    for source in sources:
        match = ANCHOR_CELL.search(source)
        if match and int(match.group("r")) < rows and int(match.group("c")) < cols:
            anchor_cell, word = (int(match.group("r")), int(match.group("c"))), match.group("who").lower()
            break
    if anchor_cell is None:
        anchor_channel = next((k for k, name in enumerate(names) if ANCHOR_NAME.search(name)), None)
    return Block(first, stop, rows, cols, channels, names,
                 channel_first=any(CHANNEL_FIRST.search(t) for t in sources),
                 anchor_cell=anchor_cell, anchor_channel=anchor_channel, anchor_word=word,
                 metric="euclidean" if any(EUCLIDEAN.search(t) for t in sources) else "manhattan")


# ---------------------------------------------------------------------------------------------
# Derived quantities


def block_quantities(block: Block, used: set[str]) -> list["Quantity"]:
    """The block's quantities (see the module docstring), named uniquely within `used`."""
    from eureka.design.quantities import Quantity, _identifier, _slug, _unique

    slugs = [_identifier(_slug(name)) or f"channel_{k}" for k, name in enumerate(block.names)]
    found: list[Quantity] = []
    rows, cols = f"({{xp}}.arange({block.rows * block.cols}) // {block.cols})", \
        f"({{xp}}.arange({block.rows * block.cols}) % {block.cols})"
    far = float(block.far)

    def add(name: str, meaning: str, formula: str, columns: tuple[int, ...], low: float, high: float) -> None:
        found.append(Quantity(_unique(name, used), meaning, "block", columns, low, high, formula=formula))

    def mask(channel: int) -> str:
        return f"({block.cells(channel)} > 0.5)"

    def present(channel: int) -> str:
        return f"{{xp}}.any({mask(channel)}, axis=1)"

    def mean_of(channel: int, index: str) -> str:
        return (f"({{xp}}.sum({mask(channel)} * {index}, axis=1) / "
                f"{{xp}}.maximum({{xp}}.sum({mask(channel)}, axis=1), 1))")

    def grid_distance(row: str, col: str, metric: str) -> str:
        if metric == "euclidean":
            return f"{{xp}}.sqrt({{xp}}.square({rows} - {row}) + {{xp}}.square({cols} - {col}))"
        return f"({{xp}}.abs({rows} - {row}) + {{xp}}.abs({cols} - {col}))"

    def channel_text(k: int) -> str:
        return f"{block.names[k]} (channel {k})"

    anchored = block.anchor_cell is not None or block.anchor_channel is not None
    if anchored:
        if block.anchor_cell is not None:
            anchor_row, anchor_col = map(str, block.anchor_cell)
            where = f"the {block.anchor_word}'s cell {block.anchor_cell}"
            anchor = block.anchor_word
            anchor_columns: tuple[int, ...] = ()
            gate = None
        else:
            a = block.anchor_channel
            assert a is not None
            anchor_row, anchor_col = f"{mean_of(a, rows)}[:, None]", f"{mean_of(a, cols)}[:, None]"
            anchor = slugs[a]
            where = f"the {channel_text(a)}"
            anchor_columns = block.columns(a)
            gate = present(a)
        distance = grid_distance(anchor_row, anchor_col, block.metric)
        steps = grid_distance(anchor_row, anchor_col, "manhattan")
        others = [k for k in range(block.channels) if k != block.anchor_channel]
        metric = "Euclidean" if block.metric == "euclidean" else "Manhattan, in steps"
        for k in others:
            nearest = f"{{xp}}.min({{xp}}.where({mask(k)}, {distance}, {far}), axis=1)"
            formula = f"{{xp}}.where({gate}, {nearest}, {far})" if gate else nearest
            add(f"distance_{anchor}_{slugs[k]}",
                f"the distance from {where} to the nearest {channel_text(k)} in {block.label}, in cells "
                f"({metric}); {block.far} when there is none", formula,
                block.columns(k) + anchor_columns, 0.0, far)
        for k in others:
            beside = f"{{xp}}.any({mask(k)} & ({steps} == 1), axis=1)"
            formula = f"({gate} & {beside})" if gate else beside
            add(f"{slugs[k]}_next_to_{anchor}",
                f"1 when {channel_text(k)} is in a cell left, right, above or below {where}, else 0",
                f"{formula}.astype({{xp}}.float32)", block.columns(k) + anchor_columns, 0.0, 1.0)
    for k in range(block.channels):
        add(f"count_{slugs[k]}", f"the number of cells of {block.label} holding {channel_text(k)}",
            f"{{xp}}.sum({mask(k)}, axis=1).astype({{xp}}.float32)", block.columns(k), 0.0,
            float(block.rows * block.cols))
    positioned = [block.anchor_channel] if block.anchor_channel is not None else [] if anchored \
        else list(range(block.channels))
    for k in positioned:
        for axis, index, size in (("row", rows, block.rows), ("col", cols, block.cols)):
            word = "row (0 at the top)" if axis == "row" else "column (0 at the left)"
            add(f"{slugs[k]}_{axis}", f"the {word} of {channel_text(k)} in {block.label} (the mean where it "
                f"fills several cells), -1 when there is none",
                f"{{xp}}.where({present(k)}, {mean_of(k, index)}, -1.0)", block.columns(k), -1.0, float(size - 1))
    if not anchored and block.channels <= MAX_PAIR_CHANNELS:
        for a in range(block.channels):
            for b in range(a + 1, block.channels):
                both = f"({present(a)} & {present(b)})"
                columns = block.columns(a) + block.columns(b)
                row_gap = f"({mean_of(a, rows)} - {mean_of(b, rows)})"
                col_gap = f"({mean_of(a, cols)} - {mean_of(b, cols)})"
                if block.metric == "euclidean":
                    apart = f"{{xp}}.sqrt({{xp}}.square({row_gap}) + {{xp}}.square({col_gap}))"
                else:
                    apart = f"({{xp}}.abs({row_gap}) + {{xp}}.abs({col_gap}))"
                add(f"distance_{slugs[a]}_{slugs[b]}",
                    f"the distance between {channel_text(a)} and {channel_text(b)} in {block.label}, in cells; "
                    f"{block.far} when either is missing", f"{{xp}}.where({both}, {apart}, {far})", columns, 0.0, far)
                for axis, gap, size in (("row", row_gap, block.rows), ("col", col_gap, block.cols)):
                    word = "row" if axis == "row" else "column"
                    add(f"{slugs[a]}_{axis}_minus_{slugs[b]}_{axis}",
                        f"the {word} of {channel_text(a)} minus the {word} of {channel_text(b)}; 0 when either "
                        "is missing", f"{{xp}}.where({both}, {gap}, 0.0)", columns, float(1 - size), float(size - 1))
    return found[:MAX_BLOCK_DERIVED]
