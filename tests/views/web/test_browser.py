"""End to end in a real browser: `eureka serve` on a finished scripted run, Debian's Chromium
driven by Playwright: the run page shows videos and code; a ranking submitted in the page
reaches the run directory and starts the next generation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-dev-shm-usage"]


def _needs(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing on CI (apt-get install -y chromium; pip install playwright)")
    pytest.skip(f"{what} is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"eureka serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def server(runs_dir: Path, sandbox_name: str):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "eureka", "serve", "--runs", str(runs_dir), "--port", str(port),
                             "--sandbox", sandbox_name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_rank_in_the_browser_and_the_next_generation_runs(server: str, runs_dir: Path, tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _needs("the playwright package")
    if not CHROMIUM.is_file():
        _needs(str(CHROMIUM))
    (run_dir,) = runs_dir.glob("*-cartpole-*")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server}/")
            page.click(f"text={run_dir.name}")
            page.wait_for_url(f"**/runs/{run_dir.name}")

            # the videos play: Chromium decodes the H.264 the sandboxed train job wrote
            assert page.locator("#elites video").count() == 2
            duration = page.evaluate("""() => new Promise((resolve) => {
                const v = document.querySelector('#elites video');
                if (v.readyState >= 1) return resolve(v.duration);
                v.addEventListener('loadedmetadata', () => resolve(v.duration));
                v.addEventListener('error', () => resolve(-1));
                v.load(); })""")
            assert duration > 0.05, f"the video did not load (duration {duration})"
            assert "def compute_reward" in page.locator("#candidates pre.code").first.inner_text()
            assert page.locator("#lineage li").count() == 2

            # rank the second elite first
            shown = [page.locator("#elites .cid").nth(i).inner_text() for i in range(2)]
            ranking = [shown[1], shown[0]]
            page.select_option("#form-ranking select[name=rank] >> nth=0", ranking[0])
            page.select_option("#form-ranking select[name=rank] >> nth=1", ranking[1])
            page.fill("#form-ranking input[name=text]", "the first one drifts <i>left</i>")
            with page.expect_navigation():
                page.click("#form-ranking button[type=submit]")
            assert page.url.endswith(f"/runs/{run_dir.name}#status")
            assert page.locator("#status .pill").inner_text().startswith("generation ")

            # the page refreshes itself while the generation runs; wait until it says finished
            deadline = time.monotonic() + 240
            while "generation finished" not in (status := page.locator("#status").inner_text()):
                assert "generation failed" not in status, status
                assert time.monotonic() < deadline, "the generation did not finish"
                page.wait_for_timeout(1000)
            page.reload()
            assert page.locator("#lineage li").count() == 4
            assert page.locator("#history td.fbtext").first.inner_text().startswith(" > ".join(ranking))
            shot = tmp_path / "run_page.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        finally:
            browser.close()
    assert not errors

    record = json.loads((run_dir / "feedback" / "0001.json").read_text())
    assert record["source"] == "web" and record["kind"] == "ranking" and record["status"] == "finished"
    assert record["input"] == {"ranking": ranking, "text": "the first one drifts <i>left</i>", "iterations": 1}
    run = json.loads((run_dir / "run.json").read_text())
    assert [(f["kind"], f["parent"]) for f in run["feedback"]] == [("ranking", ranking[0])]
    assert len(run["iterations"]) == 2
    for path in run_dir.glob("iter_1/cand_*/candidate.json"):
        assert json.loads(path.read_text())["parent_id"] == ranking[0]
    prompts = [json.loads(p.read_text()) for p in sorted((run_dir / "llm").glob("*.json"))]
    assert "> Their comment: the first one drifts <i>left</i>" in prompts[-1]["messages"][-1]["content"]
