"""Human-written DoorKey reward: potential-based shaping over the task's stages (get the key,
open the door, reach the goal), each stage pulling the agent towards its target cell and to
face it, plus a bonus at the goal. Shared by DoorKey 5x5 and 8x8."""

import jax.numpy as jnp

AGENT_X, AGENT_Y, FACING_DX, FACING_DY, CARRYING = 0, 1, 2, 3, 4
KEY_X, KEY_Y, DOOR_X, DOOR_Y, DOOR_OPEN, GOAL_X, GOAL_Y = 5, 6, 7, 8, 9, 11, 12
GAMMA = 0.99


def compute_reward(obs, action, next_obs, terminated):
    def potential(o):
        door_open = o[:, DOOR_OPEN] > 0.5
        carrying = o[:, CARRYING] > 0.5
        stage = jnp.where(door_open, 2.0, jnp.where(carrying, 1.0, 0.0))
        target_x = jnp.where(door_open, o[:, GOAL_X], jnp.where(carrying, o[:, DOOR_X], o[:, KEY_X]))
        target_y = jnp.where(door_open, o[:, GOAL_Y], jnp.where(carrying, o[:, DOOR_Y], o[:, KEY_Y]))
        distance = jnp.abs(o[:, AGENT_X] - target_x) + jnp.abs(o[:, AGENT_Y] - target_y)
        ahead_x = o[:, AGENT_X] + o[:, FACING_DX]
        ahead_y = o[:, AGENT_Y] + o[:, FACING_DY]
        facing = ((ahead_x == target_x) & (ahead_y == target_y)).astype(jnp.float32)
        return stage - 0.05 * distance + 0.05 * facing

    progress = GAMMA * potential(next_obs) - potential(obs)
    progress = jnp.where(terminated, 0.0, progress)  # the goal bonus replaces the last step's
    goal = 5.0 * terminated.astype(jnp.float32)
    total = progress + goal
    return total, {"progress": progress, "goal": goal}
