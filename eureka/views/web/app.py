"""The FastAPI app: pages rendered on the server with jinja2 (autoescape on), files of the runs
directory (and nothing outside it), and feedback forms that start a generation in a thread.

Browser input is data: feedback text is quoted in prompts and escaped on pages; an edited
reward goes through the critic and the sandbox like any candidate. POSTs carry a per-server
token (a page of another site cannot start generations), and pages forbid inline scripts.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from eureka.views.refine import FeedbackError, FeedbackRound, RefineBusy
from eureka.rundir.store import RunStoreError
from eureka.views.templating import html_environment
from eureka.views.web.jobs import JobBoard
from eureka.views.web.views import list_runs, run_page

HERE = Path(__file__).resolve().parent
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".png": "image/png", ".gif": "image/gif",
    ".py": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
    ".json": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def web_environment() -> jinja2.Environment:
    """The pages' environment: `html_environment` with the `fmt` filter for numbers."""
    env = html_environment()
    env.filters["fmt"] = lambda v: "-" if v is None else (f"{v:.4g}" if isinstance(v, (int, float)) else str(v))
    return env


def create_app(runs_dir: Path, sandbox: str | None = "auto", allowed_hosts: list[str] | None = None) -> FastAPI:
    """The dashboard of `runs_dir`; generations it starts use `sandbox` (None: each run's own)."""
    root = Path(runs_dir).resolve()
    templates = web_environment()
    jobs = JobBoard(sandbox)
    token = secrets.token_urlsafe(24)
    app = FastAPI(title="eureka", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.jobs = jobs
    app.state.runs_dir = root
    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(name).render(token=token, **values)
        return HTMLResponse(html, status_code=status_code)

    def run_dir_of(run_id: str) -> Path:
        """The run directory called run_id, directly under the runs dir; 404 for anything else."""
        if not run_id or run_id in (".", "..") or "/" in run_id or "\\" in run_id or "\0" in run_id:
            raise HTTPException(404, "no such run")
        path = root / run_id
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise HTTPException(404, "no such run") from None
        if resolved.parent != root or not (resolved / "run.json").is_file():
            raise HTTPException(404, "no such run")
        return resolved

    def render_run(run_id: str, status_code: int = 200, error: str | None = None) -> HTMLResponse:
        run_dir = run_dir_of(run_id)
        try:
            view = run_page(run_dir)
        except RunStoreError as exc:
            raise HTTPException(500, f"unreadable run: {exc}") from None
        return page("web/run.html", status_code, page=view, job=jobs.get(run_id), error=error)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", response_class=HTMLResponse)
    def runs_list() -> HTMLResponse:
        runs = list_runs(root)
        return page("web/runs.html", runs=runs, runs_dir=str(runs_dir), jobs={r.run_id: jobs.get(r.run_id) for r in runs})

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_view(run_id: str) -> HTMLResponse:
        return render_run(run_id)

    @app.get("/runs/{run_id}/status")
    def run_status(run_id: str) -> JSONResponse:
        run_dir_of(run_id)
        job = jobs.get(run_id)
        if job is None:
            return JSONResponse({"job": None})
        return JSONResponse({"job": {"kind": job.kind, "status": job.status, "message": job.message,
                                     "round": job.round, "new_candidates": job.new_candidates,
                                     "elapsed_s": job.elapsed_s}})

    @app.post("/runs/{run_id}/feedback")
    async def feedback(run_id: str, request: Request) -> Response:
        run_dir = run_dir_of(run_id)
        form = await request.form()
        if not hmac.compare_digest(str(form.get("token", "")), token):
            raise HTTPException(403, "stale or missing form token: reload the page")
        kind = str(form.get("kind", ""))
        text = str(form.get("text") or "").strip() or None
        try:
            if kind == "text":
                round_ = FeedbackRound(text=text)
            elif kind == "ranking":
                round_ = FeedbackRound(ranking=[str(v) for v in form.getlist("rank") if str(v)], text=text)
            elif kind == "reward":
                round_ = FeedbackRound(reward_code=str(form.get("reward_code") or ""), text=text)
            else:
                raise FeedbackError(f"unknown kind of feedback {kind!r}")
            jobs.start(run_id, run_dir, round_)
        except ValidationError as exc:
            return render_run(run_id, 400, "; ".join(e["msg"] for e in exc.errors()))
        except FeedbackError as exc:
            return render_run(run_id, 400, str(exc))
        except RefineBusy as exc:
            return render_run(run_id, 409, str(exc))
        return RedirectResponse(f"/runs/{run_id}#status", status_code=303)

    @app.get("/runs/{run_id}/files/{relative:path}")
    def run_file(run_id: str, relative: str) -> FileResponse:
        run_dir = run_dir_of(run_id)
        try:
            path = (run_dir / relative).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            raise HTTPException(404, "no such file") from None
        if not path.is_relative_to(run_dir) or not path.is_file() or path.suffix not in MEDIA_TYPES:
            raise HTTPException(404, "no such file")
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix])

    return app


def serve(runs_dir: Path, host: str = "127.0.0.1", port: int = 8000, sandbox: str | None = "auto") -> None:
    """Run the dashboard with uvicorn until interrupted."""
    import uvicorn

    loopback = {"127.0.0.1", "localhost", "::1"}
    allowed = None if host in ("0.0.0.0", "::") else sorted(loopback | {host})
    uvicorn.run(create_app(runs_dir, sandbox, allowed), host=host, port=port, log_level="warning")
