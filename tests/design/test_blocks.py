"""Blocks of the observation (eureka.design.blocks): layout parsing and derived quantities,
computed with numpy and with jax.numpy on grids built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from eureka.design.blocks import parse_block
from eureka.design.quantities import Quantity, _entries, calibrate, derive_quantities
from eureka.design.spec import SpecMode
from eureka.envs.base import SpaceInfo, Transitions

# made up: a 5 x 5 view with 3 named channels, the agent at a stated cell, then two scalars
VIEW_LAYOUT = """\
The observation has 77 columns.
obs[:, 0:75]: a 5 x 5 view around the rover, row by row, each cell with 3 one-hot channels:
  0 rock, 1 crater (impassable), 2 beacon. The rover sits in cell (2, 2).
obs[:, 75]: charge left, in [0, 1]
obs[:, 76]: speed in m/s, in [0, 2]
"""
# made up: a 4 x 6 board, channels first, the moving pieces named; a robot channel is the anchor
BOARD_LAYOUT = """\
The board is a 4 x 6 grid of 0/1 planes, channel-first (all of channel 0, then channel 1, ...).
obs[:, 0:72]: the board; channels: 0: robot, 1: crate, 2: exit
"""


def grid(rows: int, cols: int, channels: int, cells: dict[int, list[tuple[int, int]]],
         channel_first: bool = False) -> np.ndarray:
    """One flattened observation row with the given cells of each channel set to 1."""
    array = np.zeros((channels, rows, cols) if channel_first else (rows, cols, channels), dtype=np.float32)
    for channel, where in cells.items():
        for r, c in where:
            if channel_first:
                array[channel, r, c] = 1.0
            else:
                array[r, c, channel] = 1.0
    return array.reshape(-1)


def view_rows() -> np.ndarray:
    """Three rovers' views: rocks at distance 1 and 3, one crater beside, no beacon anywhere."""
    tail = np.array([0.5, 1.0], dtype=np.float32)
    first = grid(5, 5, 3, {0: [(2, 3), (0, 0)], 1: [(1, 2)]})  # a rock right of the rover, a crater above
    second = grid(5, 5, 3, {0: [(4, 3)], 2: [(0, 4)]})  # rock 3 steps away, beacon at 4
    third = grid(5, 5, 3, {})  # nothing in view
    return np.stack([np.concatenate([row, tail]) for row in (first, second, third)])


def by_name(quantities: list[Quantity]) -> dict[str, Quantity]:
    return {q.name: q for q in quantities}


def test_a_stated_grid_becomes_a_block_with_channels_and_an_anchor_cell():
    entries, free = _entries(VIEW_LAYOUT)
    first, stop, _, detail = entries[0]
    assert (first, stop) == (0, 75) and "The rover sits" in detail and "charge" not in detail
    block = parse_block(first, stop, detail, free)
    assert block is not None and (block.rows, block.cols, block.channels) == (5, 5, 3)
    assert block.names == ("rock", "crater", "beacon")  # "(impassable)" is a note, not part of the name
    assert block.anchor_cell is None  # "rover" is not an anchor word: the layout must say agent/player/robot/avatar


def test_the_anchor_is_a_stated_cell_of_the_agent_or_a_channel_named_like_one():
    layout = VIEW_LAYOUT.replace("The rover sits", "The agent sits")
    entries, free = _entries(layout)
    block = parse_block(*entries[0][:2], entries[0][3], free)
    assert block is not None and block.anchor_cell == (2, 2) and block.anchor_word == "agent"
    entries, free = _entries(BOARD_LAYOUT)
    board = parse_block(*entries[0][:2], entries[0][3], free)
    assert board is not None and board.channel_first and board.anchor_channel == 0 and board.anchor_cell is None
    assert (board.rows, board.cols, board.channels, board.names) == (4, 6, 3, ("robot", "crate", "exit"))
    assert board.columns(1) == tuple(range(24, 48))  # channel-first: a plane per channel


@pytest.mark.parametrize("layout, why", [
    ("obs[:, 0:75]: a 5 x 5 view, 3 channels: 0 rock, 1 crater, 2 beacon", "values not stated as 0/1"),
    ("obs[:, 0:75]: a 5 x 5 view, 3 one-hot channels: 0 rock, 1 crater", "a channel without a name"),
    ("obs[:, 0:75]: a 4 x 5 view, 3 one-hot channels: 0 rock, 1 crater, 2 beacon", "shape and width disagree"),
    ("obs[:, 0:75]: the view, one-hot: 0 rock, 1 crater, 2 beacon", "no shape"),
])
def test_a_layout_that_states_too_little_gets_no_block_quantities(layout: str, why: str):
    assert [q for q in derive_quantities(layout, 80) if q.kind == "block"] == [], why


def test_derived_quantities_of_an_anchor_cell_on_hand_made_views():
    layout = VIEW_LAYOUT.replace("The rover sits", "The agent sits")
    quantities = by_name(derive_quantities(layout, 77))
    assert {"charge_left", "speed"} <= set(quantities)  # the scalar lines still name their columns
    rows = view_rows()
    values = {name: q.evaluate(rows) for name, q in quantities.items() if q.kind == "block"}
    np.testing.assert_array_equal(values["distance_agent_rock"], [1, 3, 10])  # 10 = rows + cols: none in view
    np.testing.assert_array_equal(values["distance_agent_crater"], [1, 10, 10])
    np.testing.assert_array_equal(values["distance_agent_beacon"], [10, 4, 10])
    np.testing.assert_array_equal(values["rock_next_to_agent"], [1, 0, 0])
    np.testing.assert_array_equal(values["crater_next_to_agent"], [1, 0, 0])
    np.testing.assert_array_equal(values["count_rock"], [2, 1, 0])
    assert quantities["distance_agent_rock"].range_text == "[0, 10]"
    assert "nearest rock (channel 0)" in quantities["distance_agent_rock"].meaning
    assert set(quantities["count_crater"].columns) == set(range(1, 75, 3))  # the channel's columns: related edits


def test_euclidean_distance_where_the_layout_says_so():
    layout = VIEW_LAYOUT.replace("The rover sits", "Euclidean distances; the agent sits")
    quantities = by_name(derive_quantities(layout, 77))
    np.testing.assert_allclose(quantities["distance_agent_rock"].evaluate(view_rows()), [1, np.hypot(2, 1), 10])


def test_a_moving_anchor_channel_on_a_channel_first_board():
    quantities = by_name(derive_quantities(BOARD_LAYOUT, 72))
    rows = np.stack([
        grid(4, 6, 3, {0: [(1, 1)], 1: [(1, 2), (3, 5)], 2: [(0, 5)]}, channel_first=True),
        grid(4, 6, 3, {0: [(3, 0)], 1: [(3, 5)]}, channel_first=True),  # no exit
        grid(4, 6, 3, {1: [(0, 0)], 2: [(0, 1)]}, channel_first=True),  # no robot: distances are "far"
    ])
    np.testing.assert_array_equal(quantities["distance_robot_crate"].evaluate(rows), [1, 5, 10])
    np.testing.assert_array_equal(quantities["distance_robot_exit"].evaluate(rows), [5, 10, 10])
    np.testing.assert_array_equal(quantities["crate_next_to_robot"].evaluate(rows), [1, 0, 0])
    np.testing.assert_array_equal(quantities["robot_row"].evaluate(rows), [1, 3, -1])
    np.testing.assert_array_equal(quantities["robot_col"].evaluate(rows), [1, 0, -1])
    assert "distance_robot_robot" not in quantities


def test_without_an_anchor_channels_get_positions_and_pairwise_relations():
    layout = ("The screen is a 3 x 4 image, every value 0 or 1.\n"
              "obs[:, 0:24]: the screen, cell (r, c) channel k at column (r * 4 + c) * 2 + k.\n"
              "  Channels: 0 the bat (bottom row), 1 the puck\n")
    quantities = by_name(derive_quantities(layout, 24))
    rows = np.stack([grid(3, 4, 2, {0: [(2, 1), (2, 2)], 1: [(0, 3)]}), grid(3, 4, 2, {0: [(2, 0)]})])
    np.testing.assert_array_equal(quantities["bat_col"].evaluate(rows), [1.5, 0])  # the mean of its cells
    np.testing.assert_array_equal(quantities["puck_row"].evaluate(rows), [0, -1])
    np.testing.assert_array_equal(quantities["bat_col_minus_puck_col"].evaluate(rows), [-1.5, 0])
    np.testing.assert_array_equal(quantities["distance_bat_puck"].evaluate(rows), [3.5, 7])
    np.testing.assert_array_equal(quantities["count_bat"].evaluate(rows), [2, 1])


def test_block_quantities_agree_in_numpy_and_in_jax_under_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    board = np.stack([grid(4, 6, 3, {0: [(1, 1)], 1: [(2, 4)]}, channel_first=True),
                      grid(4, 6, 3, {1: [(0, 0)], 2: [(3, 5)]}, channel_first=True)])
    cases = [(VIEW_LAYOUT.replace("The rover sits", "The agent sits"), view_rows()), (BOARD_LAYOUT, board),
             ("obs[:, 0:24]: a 3 x 4 image of 0 or 1, 2 channels: 0 bat, 1 puck", np.stack([grid(3, 4, 2, {1: [(1, 1)]})]))]
    checked = 0
    for layout, data in cases:
        for q in derive_quantities(layout, data.shape[1]):
            if q.kind != "block":
                continue
            text = q.expression("state", "jnp")
            traced = jax.jit(lambda state, text=text: eval(text, {"jnp": jnp, "state": state}))(jnp.asarray(data))
            np.testing.assert_allclose(np.asarray(traced), q.evaluate(data), err_msg=q.name)
            checked += 1
    assert checked == 27  # 9 per layout: every kind of block quantity


def test_a_spec_over_a_block_quantity_compiles_calibrates_and_runs_in_both_backends():
    layout = VIEW_LAYOUT.replace("The rover sits", "The agent sits")
    rng = np.random.default_rng(0)
    obs = (rng.random((64, 77)) < 0.1).astype(np.float32)
    next_obs = (rng.random((64, 77)) < 0.1).astype(np.float32)
    transitions = Transitions(obs, rng.integers(0, 4, 64), next_obs, np.zeros(64, bool), np.zeros(64, bool),
                              np.zeros(64, np.float32))
    reply = ('{"ends_on": "time_limit_only", "terms": [{"kind": "progress", "quantity": "distance_agent_beacon", '
             '"toward": "lower", "weight": "medium"}, {"kind": "in_region", "quantity": "crater_next_to_agent", '
             '"where": "above", "threshold": 0.5, "weight": "small"}]}')
    for module in ("numpy", "jax"):
        if module == "jax":
            pytest.importorskip("jax")
        space = SpaceInfo(77, "discrete", 4, module)
        mode = SpecMode.from_layout(layout, space, transitions)
        assert mode.calibration.scale["distance_agent_beacon"] == 5.0  # half the documented [0, 10]
        compiled = mode.compile_reply(reply)
        assert compiled.problems == [] and compiled.code is not None
        namespace: dict = {}
        exec(compile(compiled.code, "<reward>", "exec"), namespace)  # noqa: S102 - our own compiled spec
        total, parts = namespace["compute_reward"](obs, transitions.action, next_obs, transitions.terminated)
        assert np.asarray(total).shape == (64,) and np.all(np.isfinite(np.asarray(total)))
        beacon = next(q for q in mode.quantities if q.name == "distance_agent_beacon")
        expected = (beacon.evaluate(obs) - beacon.evaluate(next_obs)) / mode.calibration.step[beacon.name]
        np.testing.assert_allclose(np.asarray(parts["progress_distance_agent_beacon"]), expected, rtol=1e-5)


def test_calibration_takes_the_documented_ranges_of_block_quantities():
    quantities = [q for q in derive_quantities(BOARD_LAYOUT, 72) if q.kind == "block"]
    calibration = calibrate(quantities)
    assert calibration.scale["distance_robot_exit"] == 5.0 and calibration.scale["count_crate"] == 12.0


def test_a_single_channel_grid_is_named_by_its_line():
    layout = "obs[:, 0:25]: walls, a 5 x 5 binary grid, row by row; the agent is in cell (2, 2)"
    quantities = by_name(derive_quantities(layout, 25))
    assert {n for n, q in quantities.items() if q.kind == "block"} == {
        "distance_agent_walls", "walls_next_to_agent", "count_walls"}
    row = grid(5, 5, 1, {0: [(0, 0), (2, 4)]})[None]
    assert quantities["distance_agent_walls"].evaluate(row)[0] == 2
    assert quantities["count_walls"].evaluate(row)[0] == 2
