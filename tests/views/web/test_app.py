"""The web app in-process (no browser): pages, escaping, file serving confined to the runs dir,
and the feedback form's checks. Nothing here starts a generation."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eureka.views.web import create_app
from eureka.views.web.jobs import Job

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def app_and_run(runs_dir: Path):
    (run_dir,) = runs_dir.glob("*-cartpole-*")
    app = create_app(runs_dir, sandbox="none")
    return app, TestClient(app), run_dir


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_pages_show_runs_code_videos_and_curves(app_and_run) -> None:
    _, client, run_dir = app_and_run
    index = client.get("/")
    assert index.status_code == 200 and run_dir.name in index.text and "cartpole" in index.text
    page = client.get(f"/runs/{run_dir.name}")
    assert page.status_code == 200
    assert page.text.count("<video") >= 4  # two elites, two candidate panels
    assert f'src="/runs/{run_dir.name}/files/iter_0/cand_0/rollout_seed0.mp4"' in page.text
    assert "def compute_reward(obs, action, next_obs, terminated):" in page.text
    assert page.text.count("<polyline") >= 4  # component and task-score curves
    assert 'name="rank"' in page.text and "i0-c1" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    video = client.get(f"/runs/{run_dir.name}/files/iter_0/cand_0/rollout_seed0.mp4", headers={"Range": "bytes=0-99"})
    assert video.status_code == 206 and video.headers["content-type"] == "video/mp4" and len(video.content) == 100
    code = client.get(f"/runs/{run_dir.name}/files/iter_0/cand_0/reward.py")
    assert code.headers["content-type"].startswith("text/plain") and "compute_reward" in code.text


def test_run_data_is_escaped(app_and_run) -> None:
    _, client, run_dir = app_and_run
    reward = run_dir / "iter_0" / "cand_0" / "reward.py"
    reward.write_text(reward.read_text() + f"# {HOSTILE}</pre>\n")
    record_file = run_dir / "iter_0" / "cand_0" / "candidate.json"  # as if the run had accepted this code
    record = json.loads(record_file.read_text())
    record["reward_sha256"] = hashlib.sha256(reward.read_bytes()).hexdigest()
    record_file.write_text(json.dumps(record))
    (run_dir / "feedback").mkdir()
    (run_dir / "feedback" / "0001.json").write_text(json.dumps({
        "round": 1, "time": "t", "source": "web", "kind": "text", "input": {"text": HOSTILE},
        "before_iteration": 1, "parent": "i0-c0", "status": "finished"}))
    page = client.get(f"/runs/{run_dir.name}").text
    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;/pre&gt;" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td>" in page


@pytest.mark.parametrize("path", [
    "/runs/{run}/files/%2e%2e/%2e%2e/secret.txt",
    "/runs/{run}/files/..%2f..%2fsecret.txt",
    "/runs/{run}/files/%2fetc%2fpasswd",
    "/runs/{run}/files/link.txt",
    "/runs/{run}/files/iter_0/cand_0/policy_seed0.zip",
    "/runs/{run}/files/iter_0",
    "/runs/%2e%2e/files/secret.txt",
    "/runs/..%2f{run}/files/run.json",
    "/runs/nope/files/run.json",
])
def test_no_file_outside_the_run_directory_is_served(app_and_run, path: str) -> None:
    _, client, run_dir = app_and_run
    secret = run_dir.parent.parent / "secret.txt"
    secret.write_text("secret")
    (run_dir / "link.txt").symlink_to(secret)
    response = client.get(path.format(run=run_dir.name))
    assert response.status_code == 404
    assert "secret" not in response.text


def test_feedback_form_checks(app_and_run) -> None:
    app, client, run_dir = app_and_run
    url = f"/runs/{run_dir.name}/feedback"
    token = token_of(client.get(f"/runs/{run_dir.name}").text)

    assert client.post(url, data={"kind": "text", "text": "hi"}).status_code == 403  # no token: another site
    assert client.post(url, data={"kind": "text", "text": "hi", "token": "forged"}).status_code == 403
    unknown = client.post(url, data={"kind": "ranking", "rank": ["i0-c0", "i7-c7"], "token": token})
    assert unknown.status_code == 400 and "i7-c7" in unknown.text
    twice = client.post(url, data={"kind": "ranking", "rank": ["i0-c0", "i0-c0"], "token": token})
    assert twice.status_code == 400 and "appears twice" in twice.text
    empty = client.post(url, data={"kind": "text", "text": "   ", "token": token})
    assert empty.status_code == 400
    assert client.post(url, data={"kind": "shell", "token": token}).status_code == 400
    assert not (run_dir / "feedback").exists() or not list((run_dir / "feedback").glob("0*.json"))

    app.state.jobs._jobs[run_dir.name] = Job(run_dir.name, "text", message="generation 1 started")
    busy = client.post(url, data={"kind": "text", "text": "again", "token": token})
    assert busy.status_code == 409 and "already running" in busy.text
    assert client.get(f"/runs/{run_dir.name}/status").json()["job"]["status"] == "running"
