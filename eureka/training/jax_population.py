"""Train a whole population of reward candidates in one jitted, vmapped JAX program.

K candidate rewards x S seeds are K*S members of one program: each member is rejax's PPO
on a gymnax env wrapped by `CandidateRewardEnv`, which replaces the env's reward with the
member's candidate (``lax.switch`` over a static tuple of candidate functions, selected by
an index in the env params) and keeps the env's own reward as ground truth. The program is
compiled once for the generation and run in chunks, one chunk per checkpoint, so progress and
checkpoint statistics come back to Python between chunks.

Fitness comes only from the env: episodes finished during training (per checkpoint) and a
deterministic evaluation at the end, never from a candidate's reward.

What is rejax's and what is ours: the PPO update and rollout are rejax's (`train_iteration`).
We do not call rejax's `train()`, because its evaluation callback scores a sampled policy
with rejax's own evaluator and cannot carry checkpoint statistics or stop for progress; the
chunk loop, the ground-truth statistics (carried in the wrapper env's state, which rejax
threads through untouched) and the deterministic evaluation are written here.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment
from pydantic import field_validator
from rejax import PPO

from eureka.envs import compat
from eureka.envs.base import SpaceInfo
from eureka.envs.gymnax_backend import (
    describe_trace_error,
    make_env,
    space_info,
    split_done,
    structure_problems,
)
from eureka.reward import RewardFn, describe_exception, load_reward
from eureka.hyperparams import JaxPPOHyperparams
from eureka.task import TaskSpec
from eureka.training.base import (
    Checkpoint,
    FitnessSpec,
    MemberResult,
    TrainCandidate,
    TrainOutcome,
)
from eureka.training.jax_eval import make_eval_fn as _make_eval_fn
from eureka.training.jax_eval import make_success_fn

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


# --------------------------------------------------------------------------- settings


class PPOSettings(JaxPPOHyperparams):
    """PPO settings (rejax's PPO): the fields and ranges a task file may set
    (eureka.hyperparams.JaxPPOHyperparams); `task.training.hyperparams` overrides the env's
    defaults. Any flax.linen activation, and layer sizes as a tuple (rejax hashes them)."""

    activation: str = "tanh"
    hidden_layer_sizes: tuple[int, ...] = (64, 64)

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: str) -> str:
        if not callable(getattr(nn, value, None)):
            raise ValueError(f"{value!r} is not an activation function of flax.linen")
        return value

    def rejax_config(self, num_envs: int) -> dict[str, Any]:
        config = self.model_dump(exclude={"activation", "hidden_layer_sizes"})
        config["num_envs"] = num_envs
        config["agent_kwargs"] = {
            "activation": self.activation,
            "hidden_layer_sizes": self.hidden_layer_sizes,
        }
        return config


# Per-env defaults, by env id or by family ("brax/", "craftax/") (everything else is PPOSettings' default), measured here with 8 envs,
# deterministic evaluation: CartPole (rejax's config re-split for 8 envs) >= 475 at 100k steps
# for 27 of 32 members over 8 reward variants, 32 of 32 at 150k; MountainCar with its own -1
# reward reached the flag 4/4 at 50k (observation and reward normalisation do the exploring);
# Pendulum >= -250 at 200k (4/4, -117 mean), where rejax's config needs ~1M: the short horizon
# (gamma 0.95) and 2048-step rollouts make the difference; Acrobot -81 at 100k.
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},
    "Acrobot-v1": {"normalize_observations": True},
    "MountainCar-v0": {
        "num_steps": 32,
        "gae_lambda": 0.98,
        "ent_coef": 0.0,
        "normalize_observations": True,
    },
    "Pendulum-v1": {
        "num_steps": 256,
        "num_minibatches": 8,
        "learning_rate": 1e-3,
        "gamma": 0.95,
        "ent_coef": 0.0,
        "normalize_observations": True,
        "activation": "swish",
    },
    # Not tuned here (no GPU): brax's published PPO settings for its locomotion envs
    # (observation normalisation, gamma 0.97, lr 3e-4, entropy 1e-2, 32 minibatches)
    # with longer rollouts, and the Craftax paper's PPO (lr 2e-4, gae 0.8, 8 minibatches,
    # 3 x 512 tanh layers). A task's hyperparams override them.
    "brax/": {
        "num_steps": 16,
        "num_epochs": 4,
        "num_minibatches": 32,
        "learning_rate": 3e-4,
        "gamma": 0.97,
        "ent_coef": 1e-2,
        "normalize_observations": True,
        "activation": "swish",
        "hidden_layer_sizes": (256, 256),
    },
    "craftax/": {
        "num_steps": 64,
        "num_epochs": 4,
        "num_minibatches": 8,
        "learning_rate": 2e-4,
        "max_grad_norm": 1.0,
        "gae_lambda": 0.8,
        "hidden_layer_sizes": (512, 512, 512),
    },
}


def ppo_settings(env_id: str, hyperparams: dict[str, Any]) -> PPOSettings:
    if "num_envs" in hyperparams:
        raise ValueError("training.hyperparams.num_envs: set training.num_envs instead")
    defaults = ENV_DEFAULTS.get(env_id, ENV_DEFAULTS.get(f"{compat.family(env_id)}/", {}))
    return PPOSettings(**{**defaults, **hyperparams})


@dataclass(frozen=True)
class Schedule:
    """How `task.training.timesteps` is cut into PPO iterations and checkpoint chunks."""

    iteration_steps: int  # env steps per PPO iteration, per member
    chunk_iterations: tuple[int, ...]  # PPO iterations in each chunk; one checkpoint per chunk

    @classmethod
    def plan(cls, timesteps: int, checkpoints: int, num_envs: int, num_steps: int) -> "Schedule":
        iteration_steps = num_envs * num_steps
        iterations = max(1, math.ceil(timesteps / iteration_steps))
        chunks = min(checkpoints, iterations)
        base, extra = divmod(iterations, chunks)
        return cls(iteration_steps, tuple(base + (i < extra) for i in range(chunks)))

    @property
    def total_steps(self) -> int:
        return self.iteration_steps * sum(self.chunk_iterations)


# --------------------------------------------------------------------------- the wrapper env


@struct.dataclass
class CandidateEnvParams:
    base: Any  # the wrapped env's own params
    candidate: jax.Array  # index into CandidateRewardEnv.branches


@struct.dataclass
class RolloutStats:
    """Sums over the steps of one env since the last checkpoint."""

    steps: jax.Array
    reward_sum: jax.Array  # candidate reward (finite values only)
    component_sums: jax.Array  # (num_component_slots,)
    nonfinite_steps: jax.Array  # steps whose candidate reward was NaN or infinite
    episodes: jax.Array  # episodes finished
    return_sum: jax.Array  # ground truth: the env's own reward, summed per finished episode
    length_sum: jax.Array
    successes: jax.Array  # finished episodes where fitness.success held on the last step

    @classmethod
    def zeros(cls, num_component_slots: int) -> "RolloutStats":
        zero_i, zero_f = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32)
        return cls(zero_i, zero_f, jnp.zeros((num_component_slots,), jnp.float32),
                   zero_i, zero_i, zero_f, zero_f, zero_i)


@struct.dataclass
class CandidateEnvState:
    env_state: Any
    obs: jax.Array  # the observation the next action is taken from
    episode_return: jax.Array  # ground truth, current episode
    episode_length: jax.Array
    steps_taken: jax.Array  # by this env, over all of training
    first_nonfinite_step: jax.Array  # steps_taken when the reward first went non-finite; -1
    stats: RolloutStats
    # With `costly_reset`: the start of this env's next episode, drawn ahead of time
    # (`CandidateRewardEnv.redraw_resets`); None otherwise.
    next_start: Any = None


SuccessFn = Callable[[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]
Branch = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


class CandidateRewardEnv(Environment):
    """A gymnax env whose reward is one of several candidate rewards, chosen by
    `CandidateEnvParams.candidate`, with ground-truth episode statistics kept in the state.

    It overrides `step` (not only `step_env`) because the candidate reward needs the true
    next observation, which gymnax's auto-reset would replace, and the statistics must
    survive the reset.

    Under rejax's vmap over envs a reset computed "only where an episode ended" is computed
    for every env on every step. That is cheap for classic control; for a costly reset
    (Craftax generates a world, brax runs physics) pass ``costly_reset=True``: each env then
    holds its next episode's start, drawn once per PPO iteration by `redraw_resets`.
    """

    def __init__(self, base: Environment, branches: Sequence[Branch],
                 num_component_slots: int, success: SuccessFn, costly_reset: bool = False):
        super().__init__()
        self.base = base
        self.branches = tuple(branches)
        self.num_component_slots = num_component_slots
        self.success = success
        self.costly_reset = costly_reset

    def default_params_for(self, base_params: Any) -> CandidateEnvParams:
        return CandidateEnvParams(base=base_params, candidate=jnp.zeros((), jnp.int32))

    def reset_env(self, key, params: CandidateEnvParams):
        next_start = None
        if self.costly_reset:
            key, key_next = jax.random.split(key)
            next_start = self.base.reset_env(key_next, params.base)
        obs, env_state = self.base.reset_env(key, params.base)
        return obs, CandidateEnvState(
            env_state=env_state,
            obs=obs,
            episode_return=jnp.zeros((), jnp.float32),
            episode_length=jnp.zeros((), jnp.int32),
            steps_taken=jnp.zeros((), jnp.int32),
            first_nonfinite_step=jnp.full((), -1, jnp.int32),
            stats=RolloutStats.zeros(self.num_component_slots),
            next_start=next_start,
        )

    def redraw_resets(self, key, state: CandidateEnvState, params: CandidateEnvParams):
        """Draw a fresh next-episode start for every env of `state` (batched over envs)."""
        if not self.costly_reset:
            return state
        keys = jax.random.split(key, state.obs.shape[0])
        next_start = jax.vmap(self.base.reset_env, in_axes=(0, None))(keys, params.base)
        return state.replace(next_start=next_start)

    def reset(self, key, params: CandidateEnvParams | None = None):
        return self.reset_env(key, params)

    def step(self, key, state: CandidateEnvState, action, params: CandidateEnvParams):
        key_step, key_reset = jax.random.split(key)
        next_obs, next_env_state, env_reward, done, _ = self.base.step_env(
            key_step, state.env_state, action, params.base
        )
        env_reward = jnp.asarray(env_reward, jnp.float32).reshape(())
        terminated, truncated = split_done(self.base, params.base, next_env_state, done)
        ended = terminated | truncated

        # Each candidate sees a batch of one transition (rejax vmaps the env over its envs).
        one = lambda x: jnp.expand_dims(x, 0)  # noqa: E731
        total, components = jax.lax.switch(
            params.candidate, self.branches,
            one(state.obs), one(action), one(next_obs), one(terminated),
        )
        finite = jnp.isfinite(total)
        reward = jnp.where(finite, total, 0.0)
        components = jnp.where(jnp.isfinite(components), components, 0.0)
        success = self.success(one(state.obs), one(next_obs), one(terminated),
                               one(truncated), one(env_reward))
        success = jnp.ravel(jnp.asarray(success, bool))[0] & ended

        episode_return = state.episode_return + env_reward
        episode_length = state.episode_length + 1
        stats = state.stats
        stats = RolloutStats(
            steps=stats.steps + 1,
            reward_sum=stats.reward_sum + reward,
            component_sums=stats.component_sums + components,
            nonfinite_steps=stats.nonfinite_steps + (~finite).astype(jnp.int32),
            episodes=stats.episodes + ended.astype(jnp.int32),
            return_sum=stats.return_sum + jnp.where(ended, episode_return, 0.0),
            length_sum=stats.length_sum + jnp.where(ended, episode_length, 0).astype(jnp.float32),
            successes=stats.successes + success.astype(jnp.int32),
        )
        steps_taken = state.steps_taken + 1
        first_nonfinite = jnp.where(
            (~finite) & (state.first_nonfinite_step < 0), steps_taken, state.first_nonfinite_step
        )

        if self.costly_reset:
            reset_obs, reset_env_state = state.next_start
        else:
            reset_obs, reset_env_state = self.base.reset_env(key_reset, params.base)
        env_state = jax.tree.map(
            lambda r, s: jax.lax.select(ended, r, s), reset_env_state, next_env_state
        )
        obs = jax.lax.select(ended, reset_obs, next_obs)
        new_state = CandidateEnvState(
            env_state=env_state,
            obs=obs,
            episode_return=jnp.where(ended, 0.0, episode_return),
            episode_length=jnp.where(ended, 0, episode_length),
            steps_taken=steps_taken,
            first_nonfinite_step=first_nonfinite,
            stats=stats,
            next_start=state.next_start,
        )
        return obs, new_state, reward, ended, {}

    def action_space(self, params: CandidateEnvParams | None = None):
        return self.base.action_space(None if params is None else params.base)

    def observation_space(self, params: CandidateEnvParams):
        return self.base.observation_space(params.base)

    @property
    def name(self) -> str:
        return f"CandidateReward({self.base.name})"

    @property
    def num_actions(self) -> int:
        return self.base.num_actions


def make_branch(reward_fn: RewardFn, component_names: Sequence[str], slots: int) -> Branch:
    """Adapt a reward to a `lax.switch` branch: (total (), components (slots,)), every
    branch the same shape; component i of the candidate is `component_names[i]`."""

    def branch(obs, action, next_obs, terminated):
        total, components = reward_fn(obs, action, next_obs, terminated)
        total = jnp.ravel(jnp.asarray(total, jnp.float32))[0]
        values = [jnp.ravel(jnp.asarray(components[n], jnp.float32))[0] for n in component_names]
        padded = values + [jnp.zeros((), jnp.float32)] * (slots - len(values))
        return total, jnp.stack(padded)

    return branch


# --------------------------------------------------------------------------- the program


@dataclass(frozen=True)
class _Candidate:
    id: str
    reward_fn: RewardFn
    component_names: tuple[str, ...]


class _ChunkStats(struct.PyTreeNode):
    stats: RolloutStats  # summed over the member's envs
    first_nonfinite_step: jax.Array  # min over envs of steps_taken; -1 if none


def train_population(
    task: TaskSpec,
    candidates: list[tuple[str, RewardFn]],
    progress: ProgressFn | None = None,
    artifacts: dict[str, Path] | None = None,
    evaluate: bool = True,
) -> list[TrainOutcome]:
    """Train every (candidate, seed) pair of `candidates` x `task.training.seeds` at once.

    With `artifacts` (candidate id -> directory), each member's policy is saved there
    (`policy_seed<seed>.npz`, eureka.training.policy's layout: a snapshot per checkpoint).
    Without `evaluate`, the final deterministic evaluation is left to the caller (the
    sandboxed job: the host re-scores the saved policies in a clean evaluation job).

    A candidate that cannot be traced (wrong shapes, Python control flow on arrays, ...) is
    reported failed without training; the others train in one compiled program. A member
    whose reward becomes NaN or infinite is reported failed; the other members do not notice.
    """
    started = time.monotonic()
    env, base_params = make_env(task.env)
    info = space_info(task.env)
    seeds = list(task.training.seeds)

    failures: dict[str, str] = {}
    runnable: list[_Candidate] = []
    for candidate_id, reward_fn in candidates:
        names, problem = _component_names(reward_fn, info)
        if problem:
            failures[candidate_id] = problem
        else:
            runnable.append(_Candidate(candidate_id, reward_fn, names))

    results: dict[str, list[MemberResult]] = {
        cid: [MemberResult(seed=s, status="failed", error=err) for s in seeds]
        for cid, err in failures.items()
    }
    if runnable:
        trained = _train_runnable(task, env, base_params, runnable, seeds, progress, started, artifacts, evaluate)
        results.update(trained)
    return [TrainOutcome(candidate_id=cid, members=results[cid]) for cid, _ in candidates]


def _component_names(reward_fn: RewardFn, info: SpaceInfo) -> tuple[tuple[str, ...], str]:
    """The candidate's component names, or a reason it cannot join the compiled program."""
    batch = 16
    action = (jax.ShapeDtypeStruct((batch, info.action_dim), jnp.float32)
              if info.action_kind == "continuous" else jax.ShapeDtypeStruct((batch,), jnp.int32))
    args = (jax.ShapeDtypeStruct((batch, info.obs_dim), jnp.float32), action,
            jax.ShapeDtypeStruct((batch, info.obs_dim), jnp.float32),
            jax.ShapeDtypeStruct((batch,), jnp.bool_))
    try:
        out = jax.eval_shape(reward_fn, *args)
    except Exception as exc:  # generated code: any error keeps it out of the program
        return (), f"reward does not trace: {describe_trace_error(exc, reward_fn)}"
    problems = structure_problems(out, batch)
    if problems:
        return (), "reward has the wrong output structure: " + " ".join(problems)
    return tuple(sorted(out[1])), ""


def _train_runnable(
    task: TaskSpec,
    env: Environment,
    base_params: Any,
    runnable: list[_Candidate],
    seeds: list[int],
    progress: ProgressFn | None,
    started: float,
    artifacts: dict[str, Path] | None = None,
    evaluate_final: bool = True,
) -> dict[str, list[MemberResult]]:
    settings = ppo_settings(task.env.id, task.training.hyperparams)
    num_envs = task.training.num_envs
    if (num_envs * settings.num_steps) % settings.num_minibatches:
        raise ValueError(
            f"num_envs x num_steps = {num_envs} x {settings.num_steps} is not divisible by "
            f"num_minibatches = {settings.num_minibatches}"
        )
    schedule = Schedule.plan(task.training.timesteps, task.training.checkpoints, num_envs,
                             settings.num_steps)

    slots = max([1] + [len(c.component_names) for c in runnable])
    wrapper = CandidateRewardEnv(
        env,
        [make_branch(c.reward_fn, c.component_names, slots) for c in runnable],
        slots,
        make_success_fn(task.fitness),
        costly_reset=compat.costly_reset(task.env),
    )
    algo = PPO.create(
        env=wrapper,
        env_params=wrapper.default_params_for(base_params),
        total_timesteps=schedule.total_steps,
        skip_initial_evaluation=True,
        **settings.rejax_config(num_envs),
    )

    # Members are (candidate, seed) pairs, flattened; a member's randomness depends on its
    # seed only, so candidates are compared on the same initial weights and env draws.
    member_candidate = np.repeat(np.arange(len(runnable), dtype=np.int32), len(seeds))
    member_seed = np.tile(np.asarray(seeds), len(runnable))
    train_state = _initial_states(algo, member_seed)

    run_chunk = jax.jit(jax.vmap(_make_chunk_fn(algo, slots), in_axes=(0, 0, None)))
    evaluate = jax.jit(jax.vmap(_make_eval_fn(_make_greedy_act(algo, env, base_params), env, base_params,
                                              task.fitness)))
    candidate_index = jnp.asarray(member_candidate)
    train_state = _with_output_types(run_chunk, train_state, candidate_index)

    checkpoints: list[list[Checkpoint]] = [[] for _ in member_seed]
    snapshots: list[dict[str, Any]] = []  # actor parameters of every member, after each chunk
    first_nonfinite = np.full(len(member_seed), -1, np.int64)
    step = 0
    for chunk_number, chunk_iterations in enumerate(schedule.chunk_iterations):
        train_state, chunk = run_chunk(train_state, candidate_index, jnp.int32(chunk_iterations))
        chunk = jax.device_get(chunk)
        if chunk_number == 0:
            log.info("population of %d members: first chunk, compile included, after %.1f s",
                     len(member_seed), time.monotonic() - started)
        step += chunk_iterations * schedule.iteration_steps
        if artifacts:
            snapshots.append(jax.device_get(_policy_params(train_state, algo)))
        for member in range(len(member_seed)):
            candidate = runnable[member_candidate[member]]
            stats = jax.tree.map(lambda x: np.asarray(x[member]), chunk.stats)
            checkpoints[member].append(_checkpoint(step, stats, candidate, task.fitness))
            local = int(chunk.first_nonfinite_step[member])
            if local >= 0 and first_nonfinite[member] < 0:
                first_nonfinite[member] = local * num_envs
        if progress is not None:
            progress(step, schedule.total_steps)

    if evaluate_final:
        eval_keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(int(s)), 1) for s in member_seed])
        final_fitness = np.asarray(jax.device_get(evaluate(train_state, eval_keys)), np.float64)
    else:
        final_fitness = np.full(len(member_seed), np.nan)
    seconds = time.monotonic() - started
    log.info("population of %d members x %d env steps trained in %.1f s",
             len(member_seed), schedule.total_steps, seconds)

    if artifacts:
        _save_policies(snapshots, runnable, member_candidate, member_seed, artifacts)

    results: dict[str, list[MemberResult]] = {c.id: [] for c in runnable}
    for member, seed in enumerate(member_seed):
        candidate = runnable[member_candidate[member]]
        error = None
        if first_nonfinite[member] >= 0:
            error = (
                f"reward became non-finite (NaN or inf) at step {first_nonfinite[member]} "
                f"(about) of {schedule.total_steps}; the member trained on with 0 in its place"
            )
        fitness = float(final_fitness[member])
        if error is None and evaluate_final and not math.isfinite(fitness):
            error = "the trained policy's evaluation was not finite"
        results[candidate.id].append(MemberResult(
            seed=int(seed),
            status="failed" if error else "ok",
            error=error,
            fitness=None if error or not evaluate_final else fitness,
            checkpoints=checkpoints[member],
            # Members train together in one program: this is the whole population's wall time.
            train_seconds=seconds,
            env_steps=schedule.total_steps,
        ))
    return results


def _policy_params(train_state: Any, algo: PPO) -> dict[str, jax.Array]:
    """Every member's actor in eureka.training.policy's layout (arrays stacked over members)."""
    tree = train_state.actor_ts.params["params"]
    head = tree["action_logits"] if "action_logits" in tree else tree["action_mean"]
    layers = [tree["features"][f"Dense_{j}"] for j in range(len(tree["features"]))] + [head]
    params = {}
    for j, layer in enumerate(layers):
        params[f"layer{j}.kernel"] = layer["kernel"]
        params[f"layer{j}.bias"] = layer["bias"]
    if algo.normalize_observations:
        params["obs_mean"] = train_state.obs_rms_state.mean
        params["obs_var"] = train_state.obs_rms_state.var
    return params


def _save_policies(snapshots: list[dict[str, Any]], runnable: list[_Candidate], member_candidate: np.ndarray,
                   member_seed: np.ndarray, artifacts: dict[str, Path]) -> None:
    from eureka.training.policy import FINAL, checkpoint_snapshot, policy_file, save_snapshots

    for member, candidate_index in enumerate(member_candidate):
        candidate = runnable[candidate_index]
        if candidate.id not in artifacts or not snapshots:
            continue
        per_member = {checkpoint_snapshot(i): {k: np.asarray(v[member]) for k, v in snap.items()}
                      for i, snap in enumerate(snapshots)}
        per_member[FINAL] = per_member[checkpoint_snapshot(len(snapshots) - 1)]
        save_snapshots(artifacts[candidate.id] / policy_file(int(member_seed[member])), per_member)


def _initial_states(algo: PPO, member_seed: np.ndarray) -> Any:
    """Initial train states, stacked over members.

    Computed outside the big program, one member at a time: batched linear algebra in
    initialisers (orthogonal init is a QR) has deadlocked XLA's CPU thread pool inside large
    vmapped programs here. rejax's networks use lecun-normal init today, but a change of
    library or network must not bring the hang back. One jitted
    function for all members also keeps one state class: rejax builds its state class anew
    on every untraced `init_state` call.
    """
    init = jax.jit(algo.init_state)
    by_seed = {int(s): init(jax.random.PRNGKey(int(s))) for s in dict.fromkeys(member_seed)}
    return jax.tree.map(lambda *xs: jnp.stack(xs), *[by_seed[int(s)] for s in member_seed])


def _with_output_types(run_chunk, train_state: Any, candidate_index: jax.Array) -> Any:
    """Cast the initial state to the types a chunk returns, so the program compiles once.

    rejax starts some statistics as Python ints (weak int32) that come back as float32;
    without this the second chunk would compile the whole program again.
    """
    out_state, _ = jax.eval_shape(run_chunk, train_state, candidate_index, jnp.int32(1))

    def cast(value, out):
        typed = jax.typeof(value)
        if (typed.dtype, typed.weak_type) == (out.dtype, out.weak_type):
            return value
        return jax.lax.convert_element_type(value, out.dtype)

    return jax.tree.map(cast, train_state, out_state)


def _make_chunk_fn(algo: PPO, slots: int):
    wrapper: CandidateRewardEnv = algo.env

    def chunk(train_state, candidate, iterations):
        member_algo = algo.replace(env_params=algo.env_params.replace(candidate=candidate))

        def redraw(ts):
            if not wrapper.costly_reset:
                return ts
            rng, key = jax.random.split(ts.rng)
            env_state = wrapper.redraw_resets(key, ts.env_state, member_algo.env_params)
            return ts.replace(rng=rng, env_state=env_state)

        env_state = train_state.env_state
        fresh = jax.tree.map(
            lambda x: jnp.zeros((algo.num_envs, *x.shape), x.dtype), RolloutStats.zeros(slots)
        )
        train_state = train_state.replace(env_state=env_state.replace(stats=fresh))
        train_state = jax.lax.fori_loop(
            0, iterations, lambda _, ts: member_algo.train_iteration(redraw(ts)), train_state
        )
        env_state = train_state.env_state
        first = env_state.first_nonfinite_step
        big = jnp.iinfo(jnp.int32).max
        first = jnp.min(jnp.where(first < 0, big, first))
        return train_state, _ChunkStats(
            stats=jax.tree.map(lambda x: x.sum(axis=0), env_state.stats),
            first_nonfinite_step=jnp.where(first == big, -1, first),
        )

    return chunk


def _make_greedy_act(algo: PPO, env: Environment, params: Any):
    """The trained policy's greedy (mode) action for a batch of observations."""
    action_space = env.action_space(params)
    discrete = isinstance(action_space, spaces.Discrete)

    def act(train_state, obs):
        if algo.normalize_observations:
            obs = algo.normalize_obs(train_state.obs_rms_state, obs)
        # rejax's `act` samples; the mode of its action distribution is the greedy action.
        dist = algo.actor.apply(train_state.actor_ts.params, obs,
                                method=lambda module, o: module._action_dist(o))
        action = dist.mode()
        if discrete:
            return action.astype(jnp.int32)
        return jnp.clip(action, action_space.low, action_space.high)

    return act


def _checkpoint(step: int, stats: RolloutStats, candidate: _Candidate,
                fitness: FitnessSpec) -> Checkpoint:
    steps = max(int(stats.steps), 1)
    episodes = int(stats.episodes)
    if episodes == 0:
        score = None
    elif fitness.metric == "success_rate":
        score = int(stats.successes) / episodes
    elif fitness.metric == "episode_length":
        score = float(stats.length_sum) / episodes
    else:
        score = float(stats.return_sum) / episodes
    finite_steps = max(steps - int(stats.nonfinite_steps), 1)
    return Checkpoint(
        step=step,
        fitness=score,
        reward_mean=float(stats.reward_sum) / finite_steps,
        components={name: float(stats.component_sums[i]) / steps
                    for i, name in enumerate(candidate.component_names)},
        episode_length=float(stats.length_sum) / episodes if episodes else None,
    )


# --------------------------------------------------------------------------- file entry point


def train_population_from_files(
    task: TaskSpec,
    candidates: list[TrainCandidate],
    scratch: Path,
    progress: ProgressFn | None = None,
    artifacts: dict[str, Path] | None = None,
    evaluate: bool = True,
) -> list[TrainOutcome]:
    """Load each candidate's reward file (relative to `scratch`) and train the population.

    A `.jaxexport` file is a serialized reward (eureka.training.exported_reward): no Python
    of it runs here. Any other file is imported as Python (in-process use and tests; the
    sandboxed train job gets serialized rewards only). A file that does not load fails its
    candidate only. Without `evaluate`, final fitness is left to the clean evaluation job.
    """
    from eureka.training.exported_reward import EXPORTED_SUFFIX, load_exported

    loaded: list[tuple[str, RewardFn]] = []
    failed: dict[str, str] = {}
    for candidate in candidates:
        path = scratch / candidate.reward_file
        try:
            if candidate.reward_file.endswith(EXPORTED_SUFFIX):
                loaded.append((candidate.id, load_exported(path.read_bytes(), space_info(task.env))[0]))
            else:
                loaded.append((candidate.id, load_reward(path)))
        except (Exception, SystemExit) as exc:  # generated code: fails this candidate only
            failed[candidate.id] = "loading the reward failed: " + describe_exception(
                exc, candidate.reward_file
            )
    outcomes = {o.candidate_id: o for o in train_population(task, loaded, progress, artifacts, evaluate)}
    for cid, error in failed.items():
        members = [MemberResult(seed=s, status="failed", error=error) for s in task.training.seeds]
        outcomes[cid] = TrainOutcome(candidate_id=cid, members=members)
    return [outcomes[c.id] for c in candidates]


__all__ = [
    "ENV_DEFAULTS",
    "CandidateRewardEnv",
    "PPOSettings",
    "Schedule",
    "ppo_settings",
    "train_population",
    "train_population_from_files",
]
