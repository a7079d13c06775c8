"""RunConfig: one resolution of a run's settings from the command line, the task file and defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eureka import config
from eureka.config import RunConfig
from eureka.task import load_task
from tests.helpers import GYM_CARTPOLE


def task(**changes):
    spec = load_task(GYM_CARTPOLE)
    for section, values in changes.items():
        setattr(spec, section, getattr(spec, section).model_copy(update=values))
    return spec


def test_command_line_then_task_file_then_defaults() -> None:
    spec = task(search={"iterations": 5, "samples": 7})
    assert RunConfig.resolve(spec, model="scripted:x").iterations == 5
    resolved = RunConfig.resolve(spec, model="scripted:x", iterations=2, samples=1)
    assert (resolved.iterations, resolved.samples) == (2, 1)
    assert resolved.temperature == spec.llm.temperature
    assert resolved.max_tokens_per_reply == spec.llm.max_tokens


def test_defaults_depend_on_the_model() -> None:
    spec = task()
    api = RunConfig.resolve(spec, model="openai/gpt-4o")
    local = RunConfig.resolve(spec, model="local")
    assert (api.llm_review, api.overlap, api.mode, api.edits) == (True, True, "code", 0)
    assert (local.llm_review, local.overlap, local.mode, local.edits) == (False, False, "spec", 4)
    assert RunConfig.resolve(spec, model="scripted:x").llm_review is False
    assert RunConfig.resolve(spec, model="local", edits=2).edits == 2
    assert RunConfig.resolve(spec, model="openai/gpt-4o", edits=2).edits == 0  # no spec to edit


def test_code_share_only_in_structured_mode_by_default_with_the_embedded_model() -> None:
    spec = task()
    assert RunConfig.resolve(spec, model="local").code_share == 0.0  # off until measured (README)
    assert RunConfig.resolve(spec, model="local", code_share=0.25).code_share == 0.25
    assert RunConfig.resolve(spec, model="local", code_share=0).code_share == 0
    assert RunConfig.resolve(spec, model="local", mode="code").code_share == 0  # all code anyway
    assert RunConfig.resolve(spec, model="openai/gpt-4o").code_share == 0
    assert RunConfig.resolve(spec, model="scripted:x", mode="spec").code_share == 0
    assert RunConfig.resolve(spec, model="scripted:x", mode="spec", code_share=0.5).code_share == 0.5
    assert RunConfig.resolve(task(search={"code_share": 0.5}), model="local").code_share == 0.5
    with pytest.raises(ValidationError):
        RunConfig(model="local", iterations=1, samples=1, code_share=1.5)


def test_constant_variants_default_comes_from_the_trainer() -> None:
    assert RunConfig.resolve(task(), model="scripted:x").constant_variants == 0
    jax_task = task(env={"backend": "jax", "id": "CartPole-v1"})
    assert RunConfig.resolve(jax_task, model="scripted:x").constant_variants == 4
    assert RunConfig.resolve(jax_task, model="scripted:x", constant_variants=1).constant_variants == 1


def test_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EUREKA_MODEL", "scripted:/somewhere")
    assert RunConfig.resolve(task()).model == "scripted:/somewhere"
    assert RunConfig.resolve(task(), model="local").model == "local"


def test_trackers_are_settings_of_the_run() -> None:
    resolved = RunConfig.resolve(task(), model="scripted:x", log=("mlflow", "tensorboard", "mlflow"))
    assert resolved.log == ["mlflow", "tensorboard"]
    assert RunConfig.from_run({"model": "scripted:x", "settings": resolved.model_dump()}).log == resolved.log
    with pytest.raises(ValidationError, match="log"):
        RunConfig(model="local", iterations=1, samples=1, log=["wandb"])


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="itrations"):
        RunConfig(model="local", iterations=1, samples=1, itrations=2)


def test_round_trip_through_run_json() -> None:
    resolved = RunConfig.resolve(task(), model="scripted:x", islands=2, seed=3)
    run = {"model": resolved.model, "settings": resolved.model_dump()}
    assert RunConfig.from_run(run) == resolved


def test_settings_of_a_run_json_from_before_run_config() -> None:
    """Format 1 files kept the model beside the settings and lacked later settings."""
    old = {"model": "scripted:x", "settings": {
        "iterations": 2, "samples": 3, "max_repairs": 1, "sandbox": "bwrap", "with_baselines": False,
        "elites_in_prompt": 1, "max_tokens": None, "max_cost_usd": None, "llm_review": False, "overlap": True,
        "constant_variants": 0, "mode": "code", "selection": True, "seed": None, "temperature": 0.8,
        "max_tokens_per_reply": 1024}}
    resolved = RunConfig.from_run(old)
    assert resolved.model == "scripted:x"
    assert (resolved.edits, resolved.islands, resolved.migration_interval, resolved.workers) == (0, 1, 2, None)
    assert resolved.code_share == 0  # a resumed older run stays as it was: no free-form samples added
    assert resolved.log == []  # no experiment tracker
    assert resolved.generation.temperature == 0.8


def test_environment_variables_are_read_in_config_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EUREKA_SANDBOX_GPUS", "all")
    monkeypatch.delenv("EUREKA_SANDBOX_IMAGE", raising=False)
    assert config.env_sandbox_gpus() == "all"
    assert config.env_sandbox_image() is None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    assert config.env_mlflow_tracking_uri() == "http://127.0.0.1:5000"
    assert config.env_mlflow_experiment() is None


def test_no_other_module_reads_a_eureka_variable() -> None:
    import re
    from pathlib import Path

    package = Path(config.__file__).parent
    readers = [str(path.relative_to(package)) for path in package.rglob("*.py")
               if path.name != "config.py" and re.search(r"environ(\.get)?\(?\[?[\"']EUREKA_", path.read_text())]
    assert readers == []
