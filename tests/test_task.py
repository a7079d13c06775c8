from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.task import TaskError, load_task

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "tasks").glob("*.yaml"))


def write_task(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def base_task() -> dict:
    return {"name": "t", "description": "balance", "env": {"id": "CartPole-v1"}}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_tasks_load_with_their_baselines(path: Path) -> None:
    task = load_task(path)
    assert task.resolve(task.baselines.human).is_file()
    assert task.resolve(task.baselines.sparse).is_file()
    assert task.context.observation


def test_missing_field_is_named(tmp_path: Path) -> None:
    data = base_task()
    del data["description"]
    with pytest.raises(TaskError, match=r"task.yaml.*\n  description: required field is missing"):
        load_task(write_task(tmp_path, data))


def test_wrong_type_is_named_with_the_value(tmp_path: Path) -> None:
    data = {**base_task(), "training": {"timesteps": "lots"}}
    with pytest.raises(TaskError, match=r"training.timesteps: .*'lots'"):
        load_task(write_task(tmp_path, data))


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    data = {**base_task(), "search": {"iterations": 2, "sampels": 3}}
    with pytest.raises(TaskError, match=r"search.sampels: unknown field"):
        load_task(write_task(tmp_path, data))


def test_missing_baseline_file_is_named(tmp_path: Path) -> None:
    data = {**base_task(), "baselines": {"human": "nowhere.py"}}
    with pytest.raises(TaskError, match=r"baselines.human: file not found: .*nowhere.py"):
        load_task(write_task(tmp_path, data))


def test_success_rate_needs_a_success_condition(tmp_path: Path) -> None:
    data = {**base_task(), "fitness": {"metric": "success_rate"}}
    with pytest.raises(TaskError, match=r"fitness.success: required"):
        load_task(write_task(tmp_path, data))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="task file not found"):
        load_task(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TaskError, match="not valid YAML"):
        load_task(bad)


def test_cli_reports_bad_task_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    data = {**base_task(), "colour": "blue"}
    result = CliRunner().invoke(cli, ["run", str(write_task(tmp_path, data))])
    assert result.exit_code == 2
    assert "colour: unknown field" in result.output
    assert "Traceback" not in result.output


def test_llm_settings_and_price_are_read_and_checked(tmp_path: Path) -> None:
    data = {**base_task(), "llm": {"timeout_s": 30, "deadline_s": 300, "max_attempts": 4, "backoff_s": 0.5,
                                   "breaker_s": 120, "price": {"input_per_mtok": 1.5, "output_per_mtok": 6}}}
    task = load_task(write_task(tmp_path, data))
    assert (task.llm.timeout_s, task.llm.deadline_s, task.llm.max_attempts, task.llm.breaker_s) == (30, 300, 4, 120)
    assert task.llm.price.output_per_mtok == 6
    data["llm"]["timeout_s"] = 0
    with pytest.raises(TaskError, match=r"llm.timeout_s: Input should be greater than 0"):
        load_task(write_task(tmp_path, data))


def test_hyperparams_are_typed_per_backend_and_given_as_typed_values(tmp_path: Path) -> None:
    data = {**base_task(), "training": {"hyperparams": {"learning_rate": "1e-3", "n_steps": 64}}}
    task = load_task(write_task(tmp_path, data))
    assert task.training.hyperparams == {"learning_rate": 0.001, "n_steps": 64}  # YAML reads 1e-3 as a string
    jax = {**base_task(), "env": {"backend": "jax", "id": "CartPole-v1"},
           "training": {"hyperparams": {"hidden_layer_sizes": [32, 32], "activation": "relu"}}}
    assert load_task(write_task(tmp_path, jax)).training.hyperparams["hidden_layer_sizes"] == [32, 32]
    jax["training"]["hyperparams"]["n_steps"] = 32  # SB3's name, not rejax's
    with pytest.raises(TaskError, match=r"jax backend's trainer\)\n  training.hyperparams.n_steps: unknown field"):
        load_task(write_task(tmp_path, jax))


def test_the_jax_hyperparams_model_mirrors_the_trainers_settings() -> None:
    pytest.importorskip("rejax")
    from eureka.hyperparams import JaxPPOHyperparams
    from eureka.training.jax_population import PPOSettings

    assert set(JaxPPOHyperparams.model_fields) == set(PPOSettings.model_fields)


def test_a_baseline_outside_the_folder_needs_an_allowed_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "human.py").write_text("def compute_reward(obs, action, next_obs, terminated): ...\n")
    folder = tmp_path / "task"
    folder.mkdir()
    path = write_task(folder, {**base_task(), "baselines": {"human": str(elsewhere / "human.py")}})
    with pytest.raises(TaskError, match=r"baselines.human: .*outside the task's folder.*--allow-path"):
        load_task(path)
    assert load_task(path, allowed_paths=[elsewhere]).baselines.human == elsewhere / "human.py"
    link = folder / "link.py"
    link.symlink_to("/etc/passwd")  # a link inside the folder to a file outside it
    with pytest.raises(TaskError, match=r"baselines.sparse: /etc/passwd is outside"):
        load_task(write_task(folder, {**base_task(), "baselines": {"sparse": "link.py"}}))


def test_anchors_and_aliases_are_refused_with_their_field(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("name: t\ndescription: &d balance\nenv: {id: CartPole-v1}\ncontext: {observation: *d}\n")
    with pytest.raises(TaskError, match=r"task.yaml: description: YAML anchors and aliases .* \(line 2\)"):
        load_task(path)


def test_success_expressions_are_checked_at_load(tmp_path: Path) -> None:
    data = {**base_task(), "fitness": {"metric": "success_rate", "success": "obs.tofile('/tmp/x') is None"}}
    with pytest.raises(TaskError, match=r"fitness.success: calling obs.tofile\(...\) is not allowed"):
        load_task(write_task(tmp_path, data))
    data["fitness"]["success"] = "terminated & (np.abs(next_obs[:, 2]) < 0.1)"
    assert load_task(write_task(tmp_path, data)).fitness.success


@pytest.mark.parametrize("path", [p for p in SHIPPED if "backend: jax" not in p.read_text()]
                         + [ROOT / "tests" / "data" / "tasks" / "cartpole_gymnasium.yaml"], ids=lambda p: p.stem)
def test_gymnasium_tasks_pass_the_full_check(path: Path) -> None:
    from eureka.task_check import check_task

    check_task(load_task(path))


@pytest.mark.slow
def test_the_jax_success_expression_is_checked_inside_jit() -> None:
    pytest.importorskip("gymnax")
    from eureka.task_check import check_task

    check_task(load_task(ROOT / "tasks" / "mountain_car.yaml"))  # success: terminated, with jax.numpy


def test_max_cost_needs_a_known_price(tmp_path: Path) -> None:
    from eureka.task_check import checked_task

    path = write_task(tmp_path, base_task())
    with pytest.raises(TaskError, match=r"llm.price: --max-cost: the price of openai/no-such-model is unknown"):
        checked_task(path, model="openai/no-such-model", max_cost_usd=1.0)
    assert checked_task(path, model="openai/gpt-4o-mini", max_cost_usd=1.0)  # litellm knows this one
    (tmp_path / "priced").mkdir()
    priced = write_task(tmp_path / "priced", {**base_task(), "llm": {"price": {"input_per_mtok": 1,
                                                                             "output_per_mtok": 2}}})
    assert checked_task(priced, model="openai/no-such-model", max_cost_usd=1.0)
    result = CliRunner().invoke(cli, ["run", str(path), "--model", "openai/no-such-model", "--max-cost", "1",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "llm.price" in result.output
    assert not (tmp_path / "runs").exists()


def test_llm_flags_replace_the_task_settings(tmp_path: Path) -> None:
    from eureka.task_check import checked_task

    task = checked_task(write_task(tmp_path, base_task()), timeout_s=7.5, deadline_s=None)
    assert task.llm.timeout_s == 7.5 and task.llm.deadline_s == 900
