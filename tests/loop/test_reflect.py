from eureka.loop.reflect import reflect
from eureka.training.base import Checkpoint, FitnessSpec, MemberResult, TrainOutcome


def outcome(fitness: list[float], components: dict[str, list[float]], final: float = 1.0) -> TrainOutcome:
    points = [Checkpoint(step=(i + 1) * 100, fitness=f, reward_mean=0.0,
                         components={k: v[i] for k, v in components.items()}, episode_length=10.0 + i)
              for i, f in enumerate(fitness)]
    return TrainOutcome(candidate_id="i0-c0", members=[MemberResult(seed=0, status="ok", fitness=final,
                                                                    checkpoints=points)])


def test_lists_each_series_with_min_mean_max() -> None:
    text = reflect(outcome([10, 20, 30], {"upright": [0.1, 0.5, 0.9], "alive": [1, 2, 3]}),
                   FitnessSpec()).text
    assert "task_score (ground-truth return): [10, 20, 30], Min: 10, Mean: 20, Max: 30" in text
    assert "upright: [0.1, 0.5, 0.9], Min: 0.1, Mean: 0.5, Max: 0.9" in text
    assert "alive: [1, 2, 3]" in text
    assert "episode_length: [10, 11, 12]" in text
    assert "final task_score of the trained policy (deterministic evaluation): 1" in text


def test_constant_component_gets_advice() -> None:
    reflection = reflect(outcome([1, 2, 3], {"bonus": [0.5, 0.5, 0.5], "speed": [0.1, 0.4, 0.2]}),
                         FitnessSpec())
    assert any("'bonus' is nearly constant" in a for a in reflection.advice)
    assert not any("'speed' is nearly constant" in a for a in reflection.advice)


def test_dominant_component_gets_advice() -> None:
    reflection = reflect(outcome([1, 2, 3], {"big": [100, 120, 90], "small": [0.1, 0.3, 0.2]}),
                         FitnessSpec())
    assert any("'big' dominates" in a for a in reflection.advice)


def test_zero_success_gets_advice() -> None:
    spec = FitnessSpec(metric="success_rate", success="terminated")
    reflection = reflect(outcome([0, 0, 0], {"height": [0.1, 0.2, 0.3]}, final=0.0), spec)
    assert "task_score (success rate)" in reflection.text
    assert any("task score stays near zero" in a for a in reflection.advice)
    assert "Observations:" in reflection.text


def test_failed_training_says_why() -> None:
    failed = TrainOutcome(candidate_id="x", members=[MemberResult(seed=0, status="failed",
                                                                  error="the reward became non-finite at step 3")])
    assert "non-finite at step 3" in reflect(failed, FitnessSpec()).text


def test_trajectory_analysis_splits_success_and_failure() -> None:
    from eureka.loop.reflect import analyse_episodes
    from eureka.training.base import EpisodeRecord

    episodes = [
        EpisodeRecord(success=True, length=90, ended_by="termination", env_return=-90, components={"speed": 0.5}),
        EpisodeRecord(success=False, length=200, ended_by="time_limit", env_return=-200, components={"speed": 0.9}),
        EpisodeRecord(success=False, length=200, ended_by="time_limit", env_return=-200, components={"speed": 0.8}),
    ]
    text = analyse_episodes(episodes, FitnessSpec(metric="success_rate", success="terminated"))
    assert "1 succeeded, 2 failed" in text
    assert "failures ended by: termination 0, time limit 2" in text
    assert "speed: 0.5 vs 0.85  <- pays more in the worse episodes" in text


def test_trajectory_analysis_for_returns_uses_halves() -> None:
    from eureka.loop.reflect import analyse_episodes
    from eureka.training.base import EpisodeRecord

    episodes = [EpisodeRecord(success=False, length=n, ended_by="termination", env_return=float(n),
                              components={"upright": n / 100}) for n in (10, 20, 300, 400)]
    text = analyse_episodes(episodes, FitnessSpec())
    assert "min 10, mean 182, max 400" in text
    assert "upright: 3.5 vs 0.15" in text
    assert "<- pays more" not in text


def test_a_fitness_of_zero_is_printed_as_zero_not_nan() -> None:
    text = reflect(outcome([0, 0, 0], {"height": [0.1, 0.2, 0.3]}, final=0.0), FitnessSpec()).text
    assert "(deterministic evaluation): 0" in text and "nan" not in text


def test_the_reflection_never_contradicts_a_successful_evaluation() -> None:
    """Seen: a 10/10 deterministic evaluation was told "the task score stays near zero" because the
    stochastic training episodes never succeeded."""
    spec = FitnessSpec(metric="success_rate", success="terminated")
    reflection = reflect(outcome([0, 0, 0], {"height": [0.1, 0.2, 0.3]}, final=1.0), spec)
    assert not any("stays near zero" in a for a in reflection.advice)
    assert any("deterministic evaluation scored 1" in a for a in reflection.advice)


def episodes_moving(paths: list[list[list[float]]], success: bool = False):
    from eureka.training.base import EpisodeMotion, EpisodeRecord

    return [EpisodeRecord(success=success, length=len(p) - 1, ended_by="time_limit", env_return=0.0,
                          motion=EpisodeMotion.of(p)) for p in paths]


def with_episodes(episodes, final: float = 0.0) -> TrainOutcome:
    base = outcome([0, 0, 0], {"closeness": [0.1, 0.2, 0.3]}, final=final)
    base.members[0].episodes = episodes
    return base


SPEC = FitnessSpec(metric="success_rate", success="truncated")


def test_a_policy_that_stays_still_is_named_as_such() -> None:
    """A reward-hacking policy that learned to stay put got generic advice only; now it is named."""
    starts = [[-0.5, 0.3, 0.6], [0.4, -0.2, -0.7], [0.1, 0.8, 0.2]]
    paths = [[start, [start[0] + 0.01, start[1], start[2]], [start[0] + 0.01, start[1], start[2]]] for start in starts]
    reflection = reflect(with_episodes(episodes_moving(paths)), SPEC)
    [said] = [a for a in reflection.advice if "moved little" in a]
    assert "obs[:, 0] by 0.01" in said and "relation" in said


def test_a_policy_that_oscillates_is_named_as_such() -> None:
    paths = [[[start + (0.3 if k % 2 else 0.0), 0.0] for k in range(20)] for start in (-0.5, 0.0, 0.5)]
    reflection = reflect(with_episodes(episodes_moving(paths)), SPEC)
    assert any("oscillated" in a and "obs[:, 0]" in a for a in reflection.advice)


def test_a_policy_that_moves_elsewhere_is_told_so_and_a_successful_one_is_not() -> None:
    paths = [[[start, 0.0], [start + 0.5, 0.0], [start + 1.0, 0.0]] for start in (-0.5, 0.0, 0.5)]
    reflection = reflect(with_episodes(episodes_moving(paths)), SPEC)
    assert any("did not end where success is measured" in a and "obs[:, 0] from 0 to 1" in a
               for a in reflection.advice)
    succeeded = reflect(with_episodes(episodes_moving(paths, success=True), final=1.0), SPEC)
    assert not any("policy moved" in a for a in succeeded.advice)
