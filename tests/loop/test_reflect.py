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
