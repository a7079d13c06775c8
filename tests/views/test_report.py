"""`eureka report`: a static HTML file with the best code (escaped), SVG charts and reflections."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.helpers import GYM_CARTPOLE, small_task
from click.testing import CliRunner
from markupsafe import escape

from eureka.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"
HOSTILE = '    # keep |angle| < 0.2 & "calm" </code></pre><script>alert(1)</script>\n'


def run_cli(args: list):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, sandbox_name: str) -> Path:
    """A real two-generation scripted run whose generation-1 replies carry markup in a comment."""
    tmp = tmp_path_factory.mktemp("report-run")
    replies = tmp / "replies"
    shutil.copytree(SCRIPTED, replies)
    for reply in sorted(replies.glob("0[789]_*.md")):  # the three replies of generation 1
        reply.write_text(reply.read_text().replace("    total = ", HOSTILE + "    total = ", 1))
    hyperparams = {**yaml.safe_load(GYM_CARTPOLE.read_text())["training"]["hyperparams"], "n_epochs": 5}
    task = small_task(tmp, timesteps=2048, hyperparams=hyperparams)
    result = run_cli(["run", task, "--model", f"scripted:{replies}", "--iterations", 2, "--samples", 3,
                      "--sandbox", sandbox_name, "--runs-dir", tmp / "runs"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def html(run_dir: Path) -> str:
    result = run_cli(["report", run_dir])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run_dir.resolve() / "report.html")
    return (run_dir / "report.html").read_text()


def test_the_best_code_is_shown_escaped(run_dir: Path, html: str) -> None:
    best = json.loads((run_dir / "run.json").read_text())["best"]
    code = (run_dir / best["directory"] / "reward.py").read_text()
    assert str(escape(code)) in html
    assert f"Best reward: {best['candidate']}" in html


def test_markup_in_generated_code_stays_text(html: str) -> None:
    assert "<script" not in html  # the page has no scripts, and the model's markup is never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/code&gt;&lt;/pre&gt;" in html
    assert "|angle| &lt; 0.2 &amp; &#34;calm&#34;" in html


def test_charts_are_inline_svg_with_every_trained_candidate(run_dir: Path, html: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    fitness_chart = next(s for s in svgs if 'aria-label="fitness per iteration"' in s)
    trained = [json.loads(p.read_text()) for p in sorted(run_dir.glob("iter_*/cand_*/candidate.json"))]
    trained = [c for c in trained if c["fitness"] is not None]
    assert len(trained) == 5
    for candidate in trained:
        assert f"<title>{candidate['id']}: {candidate['fitness']:.4g}</title>" in fitness_chart
    assert fitness_chart.count("<polyline") == 1  # best so far, over both iterations
    for name in json.loads((run_dir / "iter_1/cand_0/candidate.json").read_text())["components"]:
        assert f'aria-label="component: {name}"' in html
    assert 'aria-label="episode_return (seed 0)"' in html


def test_candidates_show_status_fitness_and_critic_problems(html: str) -> None:
    assert "SyntaxError: &#39;(&#39; was never closed" in html  # i0-c0's first attempt
    assert "NaN or infinite" in html
    assert "import of &#39;os&#39; is not allowed" in html
    assert '<td class="status-rejected">rejected</td>' in html
    assert html.count('<td class="status-trained">trained</td>') == 5


def test_reflections_are_included(run_dir: Path, html: str) -> None:
    for metrics in sorted(run_dir.glob("iter_*/cand_*/metrics.json")):
        reflection = json.loads(metrics.read_text())["reflection"]
        assert str(escape(reflection)) in html
    parent = json.loads((run_dir / "iter_1/cand_0/candidate.json").read_text())["parent_id"]
    assert re.search(rf"<h3>{parent} \(iteration 0, fitness [^)]*\): parent of 3 candidate\(s\)</h3>", html)


def test_the_page_is_offline(html: str) -> None:
    addresses = set(re.findall(r"(?:https?:)?//[\w.-]+", html))
    assert addresses <= {"http://www.w3.org"}  # only the SVG namespace name, never fetched
    assert "<link" not in html and "<img" not in html and "@import" not in html


def test_report_to_a_chosen_file_and_bad_input(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "r.html"
    result = run_cli(["report", run_dir, "-o", out])
    assert result.exit_code == 0 and out.is_file()
    missing = run_cli(["report", tmp_path / "nope"])
    assert missing.exit_code == 2 and "no such run directory" in missing.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{")
    corrupted = run_cli(["report", broken])
    assert corrupted.exit_code == 2 and "corrupted JSON" in corrupted.output
    assert "Traceback" not in missing.output + corrupted.output


def test_a_run_without_training_still_reports(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    data = json.loads((copy / "run.json").read_text())
    data.update(best=None, iterations=[])
    (copy / "run.json").write_text(json.dumps(data))
    for path in copy.glob("iter_*/cand_*/candidate.json"):
        record = json.loads(path.read_text())
        record.update(status="rejected", fitness=None)
        path.write_text(json.dumps(record))
    for path in copy.glob("iter_*/cand_*/metrics.json"):
        path.unlink()
    assert run_cli(["report", copy]).exit_code == 0
    page = (copy / "report.html").read_text()
    assert "No candidate was trained successfully." in page and "no data" in page
