"""JAX rewards as serialized pure functions (jax.export / StableHLO): no candidate Python after the probe.

On the jax backend the critic's probe job, the only process that imports a candidate's
Python, traces the accepted reward with a symbolic batch dimension and serializes it. Every
later use (the critic's reward values for the pre-filter and novelty, the population
trainer) loads the serialized function, which is data, not Python: what the candidate's
Python did at import or trace time cannot reach those processes or the other candidates.

Loading wraps `Exported.call` in a `custom_vmap` whose rule folds the vmapped axis into the
batch axis (rows are independent), since `vmap` over `call_exported` has no batching rule.
"""

from __future__ import annotations

import hashlib
import threading

from eureka.envs.base import SpaceInfo
from eureka.reward import RewardFn

EXPORTED_SUFFIX = ".jaxexport"
MAX_EXPORTED_BYTES = 16 << 20
EXPORTED_FILE = "reward.jaxexport"  # jax: the accepted reward, serialized (jax.export)


def reward_signature(space: SpaceInfo):
    import jax
    import jax.numpy as jnp
    from jax import export

    (batch,) = export.symbolic_shape("b")
    action = (jax.ShapeDtypeStruct((batch, space.action_dim), jnp.float32) if space.action_kind == "continuous"
              else jax.ShapeDtypeStruct((batch,), jnp.int32))
    return (jax.ShapeDtypeStruct((batch, space.obs_dim), jnp.float32), action,
            jax.ShapeDtypeStruct((batch, space.obs_dim), jnp.float32),
            jax.ShapeDtypeStruct((batch,), jnp.bool_))


def export_reward(reward_fn: RewardFn, space: SpaceInfo) -> bytes:
    """Trace `reward_fn` to (total (b,), {name: (b,)}) as float32 and serialize it."""
    import jax
    import jax.numpy as jnp
    from jax import export

    def pure(obs, action, next_obs, terminated):
        total, components = reward_fn(obs, action, next_obs, terminated)
        batch = obs.shape[0]
        as_rows = lambda value: jnp.broadcast_to(jnp.asarray(value, jnp.float32).reshape(-1), (batch,))  # noqa: E731
        return as_rows(total), {str(name): as_rows(value) for name, value in components.items()}

    return bytes(export.export(jax.jit(pure))(*reward_signature(space)).serialize())


def load_exported(blob: bytes, space: SpaceInfo) -> tuple[RewardFn, tuple[str, ...]]:
    """The serialized reward as a batched function usable under jit, vmap and lax.switch,
    and its component names."""
    import jax
    import jax.numpy as jnp
    from jax import export

    exported = export.deserialize(bytearray(blob))
    out = jax.tree_util.tree_unflatten(exported.out_tree, list(range(len(exported.out_avals))))
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise ValueError("the serialized reward does not return (total, components)")
    names = tuple(sorted(out[1]))
    dtypes = [arg.dtype for arg in reward_signature(space)]

    @jax.custom_batching.custom_vmap
    def call(obs, action, next_obs, terminated):
        return exported.call(obs, action, next_obs, terminated)

    @call.def_vmap
    def _rule(axis_size, in_batched, obs, action, next_obs, terminated):
        args = [jnp.broadcast_to(a, (axis_size, *a.shape)) if not batched else a
                for a, batched in zip((obs, action, next_obs, terminated), in_batched)]
        folded = [a.reshape((-1, *a.shape[2:])) for a in args]
        result = call(*folded)
        unfold = lambda value: value.reshape((axis_size, -1, *value.shape[1:]))  # noqa: E731
        result = jax.tree.map(unfold, result)
        return result, jax.tree.map(lambda _: True, result)

    def reward(obs, action, next_obs, terminated):
        args = [jnp.asarray(a).astype(d) for a, d in zip((obs, action, next_obs, terminated), dtypes)]
        return call(*args)

    return reward, names


def code_key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class ExportedRewards:
    """The serialized form of each accepted reward of this process, by the sha256 of its code:
    the critic puts what its probe exported, the training runner takes it."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, code: str, blob: bytes) -> None:
        with self._lock:
            self._blobs[code_key(code)] = blob

    def get(self, code: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(code_key(code))


EXPORTED_REWARDS = ExportedRewards()


__all__ = ["EXPORTED_REWARDS", "EXPORTED_SUFFIX", "MAX_EXPORTED_BYTES", "export_reward", "load_exported"]
