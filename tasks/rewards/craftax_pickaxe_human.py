"""Human-written Craftax-Classic pickaxe reward: progress through the recipe (wood up to
the 3 it needs, then a crafting table at hand with the last wood) as a potential, so that
placing a table, walking away and placing another gains nothing; the pickaxe itself pays
most, and dying costs the progress made and a little more."""

import jax.numpy as jnp

WOOD, WOOD_PICKAXE = 1323, 1329  # inventory counts / 10
CELL_CHANNELS, VIEW_COLUMNS = 21, 9
TABLE = 11  # block channel of a crafting table
PLAYER_ROW, PLAYER_COL = 3, 4


def _table_next_to_player(obs):
    """A crafting table in one of the 8 cells around the player (where crafting works)."""
    near = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                cell = (PLAYER_ROW + dr) * VIEW_COLUMNS + (PLAYER_COL + dc)
                near.append(obs[:, cell * CELL_CHANNELS + TABLE])
    return jnp.max(jnp.stack(near, axis=1), axis=1) > 0.5


def _progress(obs):
    """0-3: wood towards a table (it takes 2) and the pickaxe (1 more); 4-5: a table at
    hand, without or with the wood for the pickaxe."""
    wood = jnp.round(obs[:, WOOD] * 10)  # the observation holds the count / 10, inexactly
    return jnp.where(_table_next_to_player(obs), 4.0 + jnp.minimum(wood, 1.0), jnp.minimum(wood, 3.0))


def compute_reward(obs, action, next_obs, terminated):
    made = next_obs[:, WOOD_PICKAXE] > obs[:, WOOD_PICKAXE]
    # An episode's last step (pickaxe or death) gives its progress back.
    progress = jnp.where(terminated, 0.0, _progress(next_obs)) - _progress(obs)
    pickaxe = jnp.where(made, 10.0, 0.0)
    death = jnp.where(terminated & ~made, -1.0, 0.0)
    total = progress + pickaxe + death
    return total, {"progress": progress, "pickaxe": pickaxe, "death": death}
