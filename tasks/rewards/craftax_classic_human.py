"""Human-written Craftax-Classic reward: items by how far along the tech tree they are,
keeping food, drink and energy up, the env's health term, and a penalty for dying."""

import jax.numpy as jnp

INVENTORY = slice(1323, 1335)
# wood, stone, coal, iron, diamond, sapling, wood/stone/iron pickaxe, wood/stone/iron sword
ITEM_VALUE = jnp.array([1.0, 2.0, 2.0, 3.0, 5.0, 0.5, 3.0, 4.0, 6.0, 2.0, 3.0, 5.0])
HEALTH, FOOD, DRINK, ENERGY = 1335, 1336, 1337, 1338


def compute_reward(obs, action, next_obs, terminated):
    gained = (next_obs[:, INVENTORY] - obs[:, INVENTORY] > 0.05).astype(jnp.float32)
    items = jnp.sum(gained * ITEM_VALUE, axis=1)
    # Each intrinsic is shown / 10: a rise of one point is 0.1.
    needs = 2.0 * jnp.sum(jnp.maximum(next_obs[:, FOOD:ENERGY + 1] - obs[:, FOOD:ENERGY + 1], 0.0), axis=1)
    health = next_obs[:, HEALTH] - obs[:, HEALTH]  # the env's 0.1 x change in health points
    death = -2.0 * terminated.astype(jnp.float32)
    total = items + needs + health + death
    return total, {"items": items, "needs": needs, "health": health, "death": death}
