"""Ground-truth evaluation of a policy on a gymnax env, jitted (shared by the population
trainer and the clean evaluation job, which must not import the trainer's libraries)."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from eureka.envs.gymnax_backend import split_done
from eureka.training.base import FitnessSpec
from eureka.training.fitness import success_flags

SuccessFn = Callable[[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def make_success_fn(fitness: FitnessSpec) -> SuccessFn:
    """`fitness.success` as a function of batched arrays, evaluated with jax.numpy."""

    def success(obs, next_obs, terminated, truncated, env_reward):
        flags = success_flags(fitness, obs, next_obs, terminated, truncated, env_reward, xp=jnp)
        return jnp.broadcast_to(flags, terminated.shape)

    return success


def make_eval_fn(act: Callable[[Any, jax.Array], jax.Array], env: Any, params: Any,
                  fitness: FitnessSpec, episodes: int | None = None):
    """A deterministic evaluation of `act(policy, obs batch) -> actions` on the env's own reward:
    `evaluate(policy, key)` is the mean ground-truth score over `episodes` episodes."""
    episodes = episodes or fitness.eval_episodes
    success_fn = make_success_fn(fitness)
    max_steps = int(getattr(params, "max_steps_in_episode", 10_000))

    def evaluate(train_state, key):
        key_reset, key_run = jax.random.split(key)
        obs, state = jax.vmap(env.reset_env, in_axes=(0, None))(
            jax.random.split(key_reset, episodes), params
        )
        zeros_f, zeros_b = jnp.zeros(episodes, jnp.float32), jnp.zeros(episodes, bool)
        carry = (obs, state, zeros_b, zeros_f, zeros_f, zeros_b, key_run, 0)

        def running(carry):
            done, t = carry[2], carry[7]
            return (~jnp.all(done)) & (t < max_steps)

        def one_step(carry):
            obs, state, done, returns, lengths, successes, key, t = carry
            key, key_step = jax.random.split(key)
            action = act(train_state, obs)
            next_obs, next_state, reward, env_done, _ = jax.vmap(
                env.step_env, in_axes=(0, 0, 0, None)
            )(jax.random.split(key_step, episodes), state, action, params)
            reward = jnp.asarray(reward, jnp.float32).reshape(episodes)
            terminated, truncated = jax.vmap(split_done, in_axes=(None, None, 0, 0))(
                env, params, next_state, env_done
            )
            ended = terminated | truncated
            live = ~done
            succeeded = success_fn(obs, next_obs, terminated, truncated, reward) & ended
            return (
                next_obs, next_state, done | ended,
                returns + jnp.where(live, reward, 0.0),
                lengths + live.astype(jnp.float32),
                successes | (live & succeeded),
                key, t + 1,
            )

        _, _, _, returns, lengths, successes, _, _ = jax.lax.while_loop(running, one_step, carry)
        if fitness.metric == "success_rate":
            return successes.astype(jnp.float32).mean()
        if fitness.metric == "episode_length":
            return lengths.mean()
        return returns.mean()

    return evaluate
