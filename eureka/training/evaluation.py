"""The clean evaluator: ground-truth fitness of trained policies, in a job with no candidate code.

The host hands this job only policy parameters it has checked (eureka.training.policy) and
the task. The job rolls each policy out in the env with the greedy action and scores it by
the task's ground truth (training/fitness.py: the env's own reward, success condition or
episode length); the same for each checkpoint's snapshot, over fewer episodes. For each
candidate's first seed it also records the rollout video and the greedy episodes
(`rollouts_seed<seed>.npz`) the next generation's pre-filter ranks on. No reward code is
written to this job's scratch dir, and none is imported: whatever a candidate did inside
its training job, the most it can change is the policy it handed over.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from eureka.task import TaskSpec
from eureka.training.base import EpisodeRecord
from eureka.training.fitness import EpisodeLedger, success_flags
from eureka.training.policy import FINAL, PolicyArch, checkpoint_snapshot, greedy_action

CHECKPOINT_EPISODES = 3  # gymnasium: per checkpoint snapshot (at most fitness.eval_episodes)


class EvalMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int  # the candidate's folder under artifacts/
    seed: int
    policy_file: str  # relative to the job's scratch dir, written by the host
    checkpoints: int  # snapshots checkpoint0 .. checkpoint<n-1> in the file
    record: bool = False  # video and rollouts of this member


class EvalJobSpec(BaseModel):
    """`job.json` of an `eureka.jobs.evaluate` job."""

    model_config = ConfigDict(extra="forbid")

    task: dict
    arch: PolicyArch
    members: list[EvalMember]


class EvalMemberResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    seed: int
    fitness: float | None
    checkpoint_fitness: list[float | None] = Field(default_factory=list)
    episodes: list[EpisodeRecord] = Field(default_factory=list)
    error: str | None = None


class EvalJobResult(BaseModel):
    """`result.json` of an `eureka.jobs.evaluate` job."""

    model_config = ConfigDict(extra="forbid")

    members: list[EvalMemberResult]


def load_host_snapshots(path: Path) -> dict[str, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as npz:
        snapshots: dict[str, dict[str, np.ndarray]] = {}
        for key in npz.files:
            snap, _, name = key.partition("/")
            snapshots.setdefault(snap, {})[name] = npz[key]
    return snapshots


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# ----------------------------------------------------------------------------- gymnasium


def evaluate_gymnasium(task: TaskSpec, spec: EvalJobSpec, scratch: Path, artifacts: Path) -> list[EvalMemberResult]:
    results = []
    for member in spec.members:
        snapshots = load_host_snapshots(scratch / member.policy_file)
        out = artifacts / str(member.index)
        out.mkdir(parents=True, exist_ok=True)
        recorder = None
        if member.record:
            from eureka.training.rollouts import RolloutRecorder

            recorder = RolloutRecorder()
        fitness, episodes = gym_episodes(task, spec.arch, snapshots[FINAL], member.seed,
                                         task.fitness.eval_episodes, recorder)
        checkpoint_fitness = [
            _finite_or_none(gym_episodes(task, spec.arch, snapshots[checkpoint_snapshot(i)], member.seed,
                                         min(CHECKPOINT_EPISODES, task.fitness.eval_episodes))[0])
            for i in range(member.checkpoints)
        ]
        if recorder is not None:
            from eureka.training.rollouts import save_rollouts
            from eureka.training.video import record_rollout

            save_rollouts(recorder.transitions(), out, member.seed)
            record_rollout(task.env, _gym_act(task, spec.arch, snapshots[FINAL]), out,
                           name=f"rollout_seed{member.seed}", seed=member.seed)
        results.append(EvalMemberResult(index=member.index, seed=member.seed, fitness=_finite_or_none(fitness),
                                        checkpoint_fitness=checkpoint_fitness, episodes=episodes))
    return results


def _gym_act(task: TaskSpec, arch: PolicyArch, params: dict):
    from eureka.envs.gymnasium_backend import make_env

    probe = make_env(task.env)
    space = probe.action_space
    probe.close()
    low = getattr(space, "low", None)
    high = getattr(space, "high", None)

    def act(obs):
        action = greedy_action(params, arch, np.asarray(obs)[None], None if low is None else low.reshape(1, -1),
                               None if high is None else high.reshape(1, -1))[0]
        if arch.action_kind == "discrete":
            return int(action)
        return np.asarray(action, dtype=space.dtype).reshape(space.shape)

    return act


def gym_episodes(task: TaskSpec, arch: PolicyArch, params: dict, seed: int, count: int,
                 recorder=None) -> tuple[float, list[EpisodeRecord]]:
    """Greedy episodes seeded `seed * 1000 + episode` (as the trainer's own evaluation)."""
    from eureka.envs.gymnasium_backend import make_env

    env = make_env(task.env)
    act = _gym_act(task, arch, params)
    ledger = EpisodeLedger(task.fitness, 1)
    episodes = []
    for episode in range(count):
        obs, _ = env.reset(seed=seed * 1000 + episode)
        env_return, length = 0.0, 0
        while True:
            action = act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            if recorder is not None:
                recorder.step(obs, action, next_obs, terminated, truncated, reward)
            success = success_flags(task.fitness, obs[None], next_obs[None], np.array([terminated]),
                                    np.array([truncated]), np.array([reward]))
            ledger.step(np.array([reward]), np.array([done]), success & done)
            env_return += float(reward)
            length += 1
            obs = next_obs
            if done:
                episodes.append(EpisodeRecord(success=bool(success[0]), length=length, env_return=env_return,
                                              ended_by="termination" if terminated else "time_limit"))
                break
    env.close()
    fitness, _ = ledger.drain()
    return (float(fitness) if fitness is not None else math.nan), episodes


# ----------------------------------------------------------------------------- jax (gymnax)


def evaluate_jax(task: TaskSpec, spec: EvalJobSpec, scratch: Path, artifacts: Path) -> list[EvalMemberResult]:
    import jax
    import jax.numpy as jnp
    from gymnax.environments import spaces

    from eureka.envs import compat
    from eureka.envs.gymnax_backend import make_env
    from eureka.training.jax_eval import make_eval_fn

    env, params = make_env(task.env)
    action_space = env.action_space(params)
    low = high = None
    if not isinstance(action_space, spaces.Discrete):
        low, high = action_space.low, action_space.high

    def act(policy, obs):
        return greedy_action(policy, spec.arch, obs, low, high, xp=jnp)

    loaded = [load_host_snapshots(scratch / m.policy_file) for m in spec.members]

    # Final policies and checkpoint snapshots in one program (one compile), each scored on
    # the same episodes as the trainer's own final evaluation (key salt 1). One member's
    # snapshots at a time (lax.map over members, a fixed-size vmap inside): a policy's score
    # must not depend on how many others share the job (float results of a vmapped program
    # can change with its batch size, and a greedy CartPole episode with them).
    width = 1 + max(m.checkpoints for m in spec.members)
    names = [[FINAL, *(checkpoint_snapshot(i) for i in range(m.checkpoints))] for m in spec.members]
    padded = [row + [FINAL] * (width - len(row)) for row in names]
    stacked = {key: jnp.stack([jnp.stack([loaded[m][name][key] for name in row]) for m, row in enumerate(padded)])
               for key in spec.arch.shapes()}
    keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(m.seed), 1) for m in spec.members])
    one_member = jax.vmap(make_eval_fn(act, env, params, task.fitness), in_axes=(0, None))
    evaluate = jax.jit(lambda policies, member_keys: jax.lax.map(lambda pk: one_member(*pk), (policies, member_keys)))
    scores = np.asarray(jax.device_get(evaluate(stacked, keys)), np.float64)
    results = []
    for m, member in enumerate(spec.members):
        results.append(EvalMemberResult(
            index=member.index, seed=member.seed, fitness=_finite_or_none(float(scores[m, 0])),
            checkpoint_fitness=[_finite_or_none(float(v)) for v in scores[m, 1:1 + member.checkpoints]]))
    recorded = [m for m, member in enumerate(spec.members) if member.record]
    if recorded:
        _jax_rollouts(env, params, act, [loaded[m][FINAL] for m in recorded], [spec.members[m] for m in recorded],
                      artifacts)
        if not compat.family(task.env.id):  # brax/craftax: no Gymnasium twin renders them
            _jax_videos(task, spec.arch, [loaded[m][FINAL] for m in recorded],
                        [spec.members[m] for m in recorded], artifacts)
    return results


def _jax_videos(task: TaskSpec, arch: PolicyArch, policies: list[dict], members: list[EvalMember],
                artifacts: Path) -> None:
    """Rendered by the Gymnasium env of the same id (gymnax's classic-control envs share
    Gymnasium's dynamics and ids; gymnax itself does not render)."""
    from eureka.task import EnvSpec
    from eureka.training.video import record_rollout

    render_spec = EnvSpec(backend="gymnasium", id=task.env.id, max_episode_steps=task.env.max_episode_steps)
    render_task = task.model_copy(update={"env": render_spec})
    for policy, member in zip(policies, members):
        try:
            act = _gym_act(render_task, arch, policy)
        except Exception as exc:  # noqa: BLE001 - no twin: the video's record says why
            from eureka.training.video import RolloutVideo

            failed = RolloutVideo(ok=False, error=f"{type(exc).__name__}: {exc}"[:2000])
            (artifacts / str(member.index) / f"rollout_seed{member.seed}.json").write_text(failed.model_dump_json())
            continue
        record_rollout(render_spec, act, artifacts / str(member.index), f"rollout_seed{member.seed}", seed=member.seed)


def _jax_rollouts(env, params, act, policies: list[dict], members: list[EvalMember], artifacts: Path) -> None:
    """Greedy episodes of each recorded policy, as `rollouts_seed<seed>.npz`."""
    import jax
    import jax.numpy as jnp

    from eureka.envs.base import Transitions
    from eureka.envs.gymnax_backend import split_done
    from eureka.training.rollouts import MAX_ROLLOUT_TRANSITIONS, save_rollouts, whole_episodes

    def one_step(carry, key):
        policy, obs, state = carry
        key_step, key_reset = jax.random.split(key)
        action = act(policy, obs[None])[0]
        next_obs, next_state, reward, done, _ = env.step_env(key_step, state, action, params)
        terminated, truncated = split_done(env, params, next_state, done)
        reset_obs, reset_state = env.reset_env(key_reset, params)
        ended = terminated | truncated
        carry = (policy, jnp.where(ended, reset_obs, next_obs),
                 jax.tree.map(lambda a, b: jnp.where(ended, a, b), reset_state, next_state))
        return carry, (obs, action, next_obs, terminated, truncated, jnp.reshape(reward, ()))

    def rollout(policy, key):
        key_reset, key_steps = jax.random.split(key)
        obs, state = env.reset_env(key_reset, params)
        _, rows = jax.lax.scan(one_step, (policy, obs, state), jax.random.split(key_steps, MAX_ROLLOUT_TRANSITIONS))
        return rows

    stacked = {key: jnp.stack([p[key] for p in policies]) for key in policies[0]}
    keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(m.seed), 2) for m in members])
    rows = jax.device_get(jax.jit(jax.vmap(rollout))(stacked, keys))
    for row, member in enumerate(members):
        obs, action, next_obs, terminated, truncated, reward = (np.asarray(x[row]) for x in rows)
        transitions = Transitions(obs=obs.astype(np.float32).reshape(len(obs), -1), action=action,
                                  next_obs=next_obs.astype(np.float32).reshape(len(obs), -1),
                                  terminated=terminated.astype(bool), truncated=truncated.astype(bool),
                                  env_reward=reward.astype(np.float32))
        out = artifacts / str(member.index)
        out.mkdir(parents=True, exist_ok=True)
        save_rollouts(whole_episodes(transitions), out, member.seed)
