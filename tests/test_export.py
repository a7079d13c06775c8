"""`eureka export`: the artifact directory, its use in a fresh interpreter, and --verify."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.export import check_files, fitness_reproduced, split_reward_file

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"


def run_cli(args: list[str]):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, sandbox_name: str) -> Path:
    """A real two-generation scripted run on a small budget (training is seeded: --verify must
    reproduce whatever fitness it reached)."""
    tmp = tmp_path_factory.mktemp("export-run")
    data = yaml.safe_load((ROOT / "tests" / "data" / "tasks" / "cartpole_gymnasium.yaml").read_text())
    data["training"]["timesteps"] = 8192
    data["training"]["hyperparams"]["n_epochs"] = 5
    data["fitness"]["eval_episodes"] = 3
    data["fitness"].pop("target")  # no early stop, and --verify must reproduce the number itself
    data.pop("baselines")
    task = tmp / "cartpole.yaml"
    task.write_text(yaml.safe_dump(data))
    result = run_cli(["run", task, "--model", f"scripted:{SCRIPTED}", "--iterations", 2, "--samples", 3,
                      "--sandbox", sandbox_name, "--runs-dir", tmp / "runs"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def exported(run_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exported") / "best"
    result = run_cli(["export", run_dir, "-o", out])
    assert result.exit_code == 0, result.output
    return out


def test_export_writes_reward_wrapper_and_a_manifest_whose_hashes_match(run_dir: Path, exported: Path) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    best = run["best"]
    assert sorted(p.name for p in exported.iterdir()) == ["manifest.json", "reward.py", "wrapper.py"]
    manifest = json.loads((exported / "manifest.json").read_text())
    assert set(manifest["files"]) == {"reward.py", "wrapper.py"}
    for name, digest in manifest["files"].items():
        assert sha256(exported / name) == digest, name
    original = (run_dir / best["directory"] / "reward.py").read_text()
    header, code = split_reward_file((exported / "reward.py").read_text())
    assert code == original
    assert manifest["reward_sha256"] == hashlib.sha256(original.encode()).hexdigest()
    assert manifest["reward_sha256"] in header
    assert "cartpole" in header and f"scripted:{SCRIPTED}" in header and f"{best['fitness']:.6g}" in header
    assert manifest["task"] == run["task"]
    assert manifest["candidate"]["id"] == best["candidate"]
    assert manifest["fitness"]["value"] == best["fitness"]
    assert [s["seed"] for s in manifest["fitness"]["per_seed"]] == [0]
    assert manifest["fitness"]["per_seed"][0]["fitness"] == best["fitness"]
    assert manifest["lineage"][0]["candidate"] == best["candidate"]
    assert "task_score" in manifest["lineage"][0]["reflection"]


def test_lineage_follows_parents_with_their_reflections(run_dir: Path, tmp_path: Path) -> None:
    result = run_cli(["export", run_dir, "--candidate", "i1-c0", "-o", tmp_path / "child"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "child" / "manifest.json").read_text())
    parent = json.loads((run_dir / "iter_1/cand_0/candidate.json").read_text())["parent_id"]
    assert parent is not None and parent.startswith("i0-")
    assert [m["candidate"] for m in manifest["lineage"]] == ["i1-c0", parent]
    assert manifest["lineage"][0]["parent"] == parent
    grand = json.loads((run_dir / f"iter_0/cand_{parent[-1]}/metrics.json").read_text())
    assert manifest["lineage"][1]["reflection"] == grand["reflection"]


FRESH_USE = r"""
import json, sys
sys.modules["eureka"] = None  # the export must not need eureka
import wrapper
env = wrapper.make_env()
obs, _ = env.reset(seed=0)
steps = []
for _ in range(5):
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    steps.append({"reward": reward, "env_reward": info["env_reward"], "components": info["reward_components"],
                  "terminated": terminated})
    if terminated or truncated:
        break
print(json.dumps({"steps": steps, "wrapper": type(env).__name__, "inner": type(env.env).__name__}))
"""


def test_exported_wrapper_runs_on_the_real_env_in_a_fresh_interpreter(exported: Path) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    proc = subprocess.run([sys.executable, "-c", FRESH_USE], cwd=exported, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wrapper"] == "EurekaReward" and out["inner"] == "RecordEpisodeStatistics"
    assert len(out["steps"]) == 5
    for step in out["steps"]:
        assert set(step["components"]) == set(manifest["candidate"]["components"])
        assert step["env_reward"] == 1.0  # CartPole's own reward, kept beside the new one
        assert isinstance(step["reward"], float) and step["reward"] != step["env_reward"]


def test_exported_wrapper_doctest_passes(exported: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "doctest", "-v", "wrapper.py"], cwd=exported,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout


def test_verify_reproduces_the_fitness_in_the_sandbox(run_dir: Path, tmp_path: Path, sandbox_name: str) -> None:
    result = run_cli(["export", run_dir, "-o", tmp_path / "v", "--verify", "--sandbox", sandbox_name])
    assert result.exit_code == 0, result.output
    assert "ok   critic probe: passed" in result.output
    assert "ok   re-train seed 0" in result.output
    assert "FAIL" not in result.output
    best = json.loads((run_dir / "run.json").read_text())["best"]["fitness"]
    assert f"verified: fitness {best:.6g} reproduced as" in result.output


def test_a_changed_file_is_caught_by_the_manifest(exported: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert all(c.ok for c in check_files(copy, manifest))
    reward = copy / "reward.py"
    reward.write_text(reward.read_text().replace("return total", "total = total * 2\n    return total"))
    failed = {c.name for c in check_files(copy, manifest) if not c.ok}
    assert failed == {"sha256 reward.py", "reward code sha256"}


@pytest.mark.parametrize(("spec", "recorded", "retrained", "ok"), [
    ({"metric": "episode_return"}, 500.0, 500.0, True),
    ({"metric": "episode_return"}, 500.0, 451.0, True),  # within 10%
    ({"metric": "episode_return"}, 500.0, 449.0, False),
    ({"metric": "episode_return", "target": 475}, 480.0, 500.0, True),  # both reach the target
    ({"metric": "episode_return", "target": 475}, 480.0, 420.0, False),
    ({"metric": "episode_return", "direction": "minimize", "target": 10}, 8.0, 9.9, True),
    ({"metric": "success_rate", "eval_episodes": 10}, 0.9, 0.8, True),  # one episode of ten
    ({"metric": "success_rate", "eval_episodes": 10}, 0.9, 0.7, False),
    ({"metric": "episode_return"}, -200.0, -215.0, True),
    ({"metric": "episode_return"}, 500.0, None, False),
])
def test_fitness_tolerance(spec: dict, recorded: float, retrained: float | None, ok: bool) -> None:
    assert fitness_reproduced(spec, recorded, retrained)[0] is ok


def test_bad_inputs_exit_2_with_a_clear_message(run_dir: Path, tmp_path: Path) -> None:
    missing = run_cli(["export", tmp_path / "nope"])
    assert missing.exit_code == 2 and "no such run directory" in missing.output
    unknown = run_cli(["export", run_dir, "--candidate", "i7-c7", "-o", tmp_path / "x"])
    assert unknown.exit_code == 2 and "no candidate 'i7-c7'" in unknown.output and "i0-c0" in unknown.output
    rejected = run_cli(["export", run_dir, "--candidate", "i0-c2", "-o", tmp_path / "x"])
    assert rejected.exit_code == 2 and "rejected by the critic" in rejected.output
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    refused = run_cli(["export", run_dir, "-o", occupied])
    assert refused.exit_code == 2 and "not a eureka export" in refused.output
    assert (occupied / "notes.txt").read_text() == "mine"
    for result in (missing, unknown, rejected, refused):
        assert "Traceback" not in result.output


def test_a_run_without_a_best_candidate_exits_2(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    run = json.loads((copy / "run.json").read_text())
    run["best"] = None
    (copy / "run.json").write_text(json.dumps(run))
    for path in copy.glob("iter_*/cand_*/candidate.json"):
        record = json.loads(path.read_text())
        record.update(status="failed", fitness=None)
        path.write_text(json.dumps(record))
    result = run_cli(["export", copy])
    assert result.exit_code == 2
    assert "no best candidate" in result.output


def test_exporting_again_replaces_the_previous_export(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert run_cli(["export", run_dir, "--candidate", "i0-c0", "-o", out]).exit_code == 0
    assert run_cli(["export", run_dir, "--candidate", "i0-c1", "-o", out]).exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["candidate"]["id"] == "i0-c1"
    assert sorted(p.name for p in out.parent.iterdir()) == ["again"]  # no staging directories left


JAX_REWARD = """import jax.numpy as jnp

def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - jnp.abs(next_obs[:, 2]) / 0.2095
    alive = jnp.where(terminated, -1.0, 1.0)
    return alive + upright, {"alive": alive, "upright": upright}
"""

JAX_USE = r"""
import json, sys
sys.modules["eureka"] = None
import doctest
import jax, jax.numpy as jnp
import reward_jax, wrapper
doctests = doctest.testmod(reward_jax).failed + doctest.testmod(wrapper).failed
obs = jnp.zeros((3, 4)).at[:, 2].set(jnp.array([0.0, 0.1, 0.2]))
total, parts = reward_jax.compute_reward_jit(obs, jnp.zeros(3, int), obs, jnp.array([False, False, True]))
single = jax.vmap(reward_jax.transition_reward)(obs, jnp.zeros(3, int), obs, jnp.array([False, False, True]))
env = wrapper.make_env()
env.reset(seed=0)
infos = [env.step(env.action_space.sample())[4] for _ in range(3)]
print(json.dumps({"total": [float(v) for v in total], "single": [float(v) for v in single[0]],
                  "parts": sorted(parts), "infos": [sorted(i["reward_components"]) for i in infos],
                  "env_reward": [i["env_reward"] for i in infos], "doctests_failed": doctests}))
"""


def test_a_reward_changed_after_the_run_is_not_exported(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(run_dir, copy)
    best_dir = copy / json.loads((copy / "run.json").read_text())["best"]["directory"]
    with (best_dir / "reward.py").open("a") as fh:
        fh.write("# changed after the run\n")
    result = run_cli(["export", copy, "-o", tmp_path / "out"])
    assert result.exit_code == 2 and "is not the code the run accepted" in result.output
    (best_dir / "reward.py").unlink()
    (best_dir / "reward.py").symlink_to(copy / "run.json")
    result = run_cli(["export", copy, "-o", tmp_path / "out"])
    assert result.exit_code == 2 and "reward.py" in result.output


def test_jax_task_export_has_a_jax_form_and_a_gymnasium_wrapper(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("gymnax")
    copy = tmp_path / "jaxrun"
    shutil.copytree(run_dir, copy)
    run = json.loads((copy / "run.json").read_text())
    run["task"]["env"] = {"backend": "jax", "id": "CartPole-v1", "kwargs": {}, "max_episode_steps": None}
    (copy / "run.json").write_text(json.dumps(run))
    best_dir = copy / run["best"]["directory"]
    (best_dir / "reward.py").write_text(JAX_REWARD)
    record = json.loads((best_dir / "candidate.json").read_text())
    record["components"] = ["alive", "upright"]
    record["reward_sha256"] = hashlib.sha256(JAX_REWARD.encode()).hexdigest()  # as the run would have recorded
    (best_dir / "candidate.json").write_text(json.dumps(record))

    result = run_cli(["export", copy, "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert (out / "reward_jax.py").is_file()
    assert "reward_jax.py" in json.loads((out / "manifest.json").read_text())["files"]
    proc = subprocess.run([sys.executable, "-c", JAX_USE], cwd=out, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["total"] == pytest.approx([2.0, 2.0 - 0.1 / 0.2095, -1.0 + 1.0 - 0.2 / 0.2095], abs=1e-5)
    assert data["single"] == pytest.approx(data["total"], abs=1e-6)
    assert data["parts"] == ["alive", "upright"]
    assert data["infos"] == [["alive", "upright"]] * 3
    assert data["env_reward"] == [1.0, 1.0, 1.0]
    assert data["doctests_failed"] == 0


def test_header_survives_quotes_and_backslashes_in_names(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    run = json.loads((copy / "run.json").read_text())
    run["model"] = 'openai/x"""; import os \\ "'
    (copy / "run.json").write_text(json.dumps(run))
    assert run_cli(["export", copy, "-o", tmp_path / "out"]).exit_code == 0
    text = (tmp_path / "out" / "reward.py").read_text()
    namespace: dict = {}
    exec(compile(text, "reward.py", "exec"), namespace)  # parses; the header is one docstring
    assert run["model"] in namespace["__doc__"]
    assert split_reward_file(text)[1] == (run_dir / run["best"]["directory"] / "reward.py").read_text()


# -- the generated modules, from a stored run (fast: nothing trains) ------------------------------
STORED_RUN = ROOT / "tests" / "data" / "run_dirs" / "format1" / "20261202-053845-cartpole-f6c7"


def stored_run_with_env(tmp_path: Path, env: dict) -> Path:
    copy = Path(shutil.copytree(STORED_RUN, tmp_path / STORED_RUN.name))
    data = json.loads((copy / "run.json").read_text())
    data["task"]["env"] = env
    data["task"]["name"] = 'odd "name" \\ here'
    (copy / "run.json").write_text(json.dumps(data))
    return copy


@pytest.mark.parametrize("backend", ["gymnasium", "jax"])
def test_generated_modules_are_python_with_the_task_filled_in(tmp_path: Path, backend: str) -> None:
    import ast

    env = {"id": "CartPole-v1", "backend": backend, "kwargs": {"sutton_barto_reward": True},
           "max_episode_steps": 123}
    result = run_cli(["export", stored_run_with_env(tmp_path, env), "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    wrapper = (out / "wrapper.py").read_text()
    tree = ast.parse(wrapper)
    assigned = {node.targets[0].id if isinstance(node, ast.Assign) else node.target.id: node.value
                for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None}
    assert ast.literal_eval(assigned["ENV_ID"]) == "CartPole-v1"
    assert ast.literal_eval(assigned["ENV_KWARGS"]) == {"sutton_barto_reward": True}
    assert ast.literal_eval(assigned["MAX_EPISODE_STEPS"]) == 123
    assert ast.literal_eval(assigned["COMPONENTS"]) == ["alive", "margin", "calm"]  # i0-c1, the best
    assert 'Task: odd \\"name\\" \\\\ here; env: CartPole-v1' in wrapper
    functions = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert {"load_reward", "EurekaReward", "make_base_env", "make_env"} <= functions
    assert ("GymnaxEnv" in functions) == (backend == "jax")
    assert wrapper.endswith('make_base_env(render_mode)))\n') and "{{" not in wrapper and "{%" not in wrapper
    files = sorted(p.name for p in out.iterdir())
    if backend == "jax":
        assert files == ["manifest.json", "reward.py", "reward_jax.py", "wrapper.py"]
        jax_module = (out / "reward_jax.py").read_text()
        jax_tree = ast.parse(jax_module)
        obs_dim = next(n.value for n in jax_tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "OBS_DIM")
        assert isinstance(ast.literal_eval(obs_dim), int) and "def transition_reward(" in jax_module
    else:
        assert files == ["manifest.json", "reward.py", "wrapper.py"]


def test_export_templates_fail_loudly_on_a_missing_value() -> None:
    import jinja2

    from eureka.export import JAX_TEMPLATE
    from eureka.views.templating import source_environment

    with pytest.raises(jinja2.UndefinedError, match="obs_dim"):
        source_environment().get_template(JAX_TEMPLATE).render(task_name="t", env_id="e")


# -- the Isaac Gym form (fast: a stored run turned into an isaacgym task; a stand-in VecTask) --------
ISAAC_REWARD = """import torch

W_CLOSE = 2.0


def compute_reward(obs, action, next_obs, terminated):
    close = -torch.abs(next_obs[:, 0] - next_obs[:, 2])
    effort = -action[:, 0] ** 2
    return W_CLOSE * close + 0.1 * effort, {"close": close, "effort": effort}
"""

# IsaacGymEnvs stand-in: its task map and a train.py whose launch_rlg_hydra builds the mapped
# task and steps it (Isaac Gym and IsaacGymEnvs cannot be installed here).
FAKE_ISAACGYMENVS = {
    "isaacgymenvs/__init__.py": "",
    "isaacgymenvs/tasks/__init__.py": "from tests.envs.isaac_fake import Slider\n\n"
                                      "isaacgym_task_map = {'Slider': Slider}\n",
    "isaacgymenvs/train.py": r'''
import json, sys

import torch

from isaacgymenvs.tasks import isaacgym_task_map
from tests.envs.isaac_fake import Slider


def launch_rlg_hydra():
    env, plain = isaacgym_task_map["Slider"](), Slider()
    rows = []
    for step in range(12):
        actions = torch.full((env.num_envs, 1), 0.3 if step % 2 else -0.6)
        _, rew, reset, extras = env.step(actions)
        _, plain_rew, plain_reset, _ = plain.step(actions)
        close = -torch.abs(env.obs_buf[:, 0] - env.obs_buf[:, 2])
        rows.append({"rew_ok": torch.allclose(rew, 2.0 * close - 0.1 * actions[:, 0] ** 2),
                     "gt_ok": torch.equal(extras["gt_reward"], plain_rew), "reset_ok": torch.equal(reset, plain_reset),
                     "components": sorted(extras["reward_components"]),
                     "sums": sorted(extras["episode_cumulative"])})
    print(json.dumps({"class": type(env).__name__, "rows": rows,
                      "eureka_imported": any(m.split(".")[0] == "eureka" and sys.modules[m] for m in sys.modules)}))
''',
}


def isaac_export(tmp_path: Path) -> Path:
    env = {"backend": "isaacgym", "id": "tests.envs.isaac_fake:Slider", "kwargs": {}, "max_episode_steps": None}
    copy = stored_run_with_env(tmp_path, env)
    run = json.loads((copy / "run.json").read_text())
    run["task"]["name"] = "slider"  # a valid task name: --verify reads the task back
    (copy / "run.json").write_text(json.dumps(run))
    best_dir = copy / run["best"]["directory"]
    (best_dir / "reward.py").write_text(ISAAC_REWARD)
    record = json.loads((best_dir / "candidate.json").read_text())
    record["components"] = ["close", "effort"]
    record["reward_sha256"] = hashlib.sha256(ISAAC_REWARD.encode()).hexdigest()
    (best_dir / "candidate.json").write_text(json.dumps(record))
    result = run_cli(["export", copy, "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    assert "isaac_task.py" in result.output
    return tmp_path / "out"


def test_isaacgym_task_export_has_the_adapter_and_a_task_module_instead_of_the_gymnasium_wrapper(tmp_path):
    out = isaac_export(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["isaac_reward.py", "isaac_task.py", "manifest.json", "reward.py"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"reward.py", "isaac_reward.py", "isaac_task.py"}
    assert all(c.ok for c in check_files(out, manifest))
    adapter = ROOT / "eureka" / "envs" / "isaacgym_reward.py"
    assert (out / "isaac_reward.py").read_text() == adapter.read_text()  # the tested adapter, unchanged
    header, code = split_reward_file((out / "reward.py").read_text())
    assert code == ISAAC_REWARD and "isaacgym backend" in header and "isaac_task.py puts it into" in header
    task_module = (out / "isaac_task.py").read_text()
    assert "ENV_ID = 'tests.envs.isaac_fake:Slider'" in task_module
    assert "COMPONENTS = ['close', 'effort']" in task_module
    assert "{{" not in task_module and "{%" not in task_module
    ast.parse(task_module, feature_version=(3, 8))  # it runs in Isaac Gym's Python (3.6-3.8)
    verify = run_cli(["export", tmp_path / STORED_RUN.name, "-o", tmp_path / "out2", "--verify", "--sandbox", "bwrap"])
    assert verify.exit_code == 1 and "probe and re-train: not done:" in " ".join(verify.output.split())


def test_the_exported_isaac_task_trains_through_isaacgymenvs_train_entry_without_eureka(tmp_path):
    out = isaac_export(tmp_path)
    fake = tmp_path / "fake_site"
    for name, text in FAKE_ISAACGYMENVS.items():
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(text)
    script = "import sys, runpy; sys.modules['eureka'] = None; runpy.run_path('isaac_task.py', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", script], cwd=out, capture_output=True, text=True, timeout=240,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{fake}:{ROOT}", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["class"] == "EurekaSlider" and not data["eureka_imported"]
    for row in data["rows"]:
        assert row["rew_ok"] and row["gt_ok"] and row["reset_ok"], row
        assert row["components"] == ["close", "effort"]
        assert row["sums"] == ["eureka/close", "eureka/effort", "eureka/gt_reward", "eureka/total"]


@pytest.mark.parametrize("env_id", ["xminigrid/MiniGrid-DoorKey-5x5", "Breakout-MinAtar"])
def test_a_wrapper_for_an_adapted_jax_env_gives_the_observation_the_reward_was_written_for(tmp_path: Path, env_id) -> None:
    """Gridworlds and MinAtar games come through eureka's adapters (flat observations): the exported
    wrapper builds them the same way, so the reward sees the columns the task file describes."""
    pytest.importorskip("gymnax")
    from eureka.envs.gymnax_backend import space_info
    from eureka.task import EnvSpec

    env = {"id": env_id, "backend": "jax", "kwargs": {}, "max_episode_steps": None}
    result = run_cli(["export", stored_run_with_env(tmp_path, env), "-o", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    script = ("import json, numpy as np, wrapper\n"
              "env = wrapper.make_base_env()\n"
              "obs, _ = env.reset(seed=0)\n"
              "step = env.step(env.action_space.sample())\n"
              "print(json.dumps([list(np.shape(obs)), list(np.shape(step[0]))]))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "out", capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shapes = json.loads(proc.stdout.strip().splitlines()[-1])
    obs_dim = space_info(EnvSpec(backend="jax", id=env_id)).obs_dim
    assert shapes == [[obs_dim], [obs_dim]]
