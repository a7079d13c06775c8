"""Every setting of a run, resolved once from the task file, the command line and the
environment; and the one place that reads EUREKA_* environment variables (and the MLFLOW_*
ones `--log mlflow` follows).

Precedence for each setting: the command line, then the task file, then a default that
depends on the model or the backend (see the resolvers below). `run.json` stores
`RunConfig.model_dump()` under "settings"; a resumed run reads it back with `from_run`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from eureka.task import TaskSpec

PROBE_TRANSITIONS = 2048  # whole random-policy episodes for the probe, novelty and pre-filter

DesignMode = Literal["code", "spec"]
TrackerName = Literal["tensorboard", "mlflow"]  # experiment trackers a run can write to (--log)
TRACKERS: tuple[str, ...] = get_args(TrackerName)


# -- environment variables (read here only; listed in the README) ---------------------------
def env_model() -> str | None:
    """EUREKA_MODEL: the model when neither --model nor the task file names one."""
    return os.environ.get("EUREKA_MODEL") or None


def env_api_base() -> str | None:
    """EUREKA_API_BASE: an OpenAI-compatible server for API models."""
    return os.environ.get("EUREKA_API_BASE") or None


def env_local_model() -> str | None:
    """EUREKA_LOCAL_MODEL: the GGUF file of the embedded model."""
    return os.environ.get("EUREKA_LOCAL_MODEL") or None


def env_local_threads() -> str | None:
    """EUREKA_LOCAL_THREADS: the embedded model's threads (checked where it is used)."""
    return os.environ.get("EUREKA_LOCAL_THREADS") or None


def env_cache_dir() -> str | None:
    """EUREKA_CACHE_DIR: where joined local models live."""
    return os.environ.get("EUREKA_CACHE_DIR") or None


def env_prompts_dir(default: Path) -> Path:
    """EUREKA_PROMPTS_DIR: another prompts/ folder (prompt experiments)."""
    return Path(os.environ.get("EUREKA_PROMPTS_DIR", default))


def env_sandbox_image() -> str | None:
    """EUREKA_SANDBOX_IMAGE: the docker sandbox's image."""
    return os.environ.get("EUREKA_SANDBOX_IMAGE") or None


def env_sandbox_gpus() -> str | None:
    """EUREKA_SANDBOX_GPUS: "all" or a count, GPU pass-through into the docker sandbox."""
    return os.environ.get("EUREKA_SANDBOX_GPUS") or None


def env_mlflow_tracking_uri() -> str | None:
    """MLFLOW_TRACKING_URI: the MLflow server or store `--log mlflow` writes to (default: a SQLite
    file in the run directory)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or None


def env_mlflow_experiment() -> str | None:
    """MLFLOW_EXPERIMENT_NAME: the MLflow experiment of `--log mlflow` (default: eureka-<task name>)."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or None


SCRATCH_VARIABLE = "EUREKA_SCRATCH"  # set for a sandboxed job (its scratch folder), never read by eureka


# -- the run's settings ---------------------------------------------------------------------
class RunConfig(BaseModel):
    """Every setting of a run. Field names are run.json's "settings" keys."""

    model_config = ConfigDict(extra="forbid")

    model: str
    iterations: int = Field(gt=0)
    samples: int = Field(gt=0)
    max_repairs: int = Field(default=1, ge=0)
    temperature: float = 0.8
    max_tokens_per_reply: int = 1024
    sandbox: str = "auto"
    with_baselines: bool = False
    elites_in_prompt: int = 1
    max_tokens: int | None = None  # budget for the whole run
    max_cost_usd: float | None = None
    llm_review: bool = False  # the LLM critic pass before training
    overlap: bool = True  # train candidates while the next ones are being designed
    constant_variants: int = 0  # constant-tuning variants trained beside each candidate
    mode: DesignMode = "code"  # "code": free-form reward code; "spec": a structured reward spec (small models)
    edits: int = 0  # structural edits of the parent spec trained beside the LLM's children (spec mode)
    tune_best: bool = False  # a closing generation of the best spec's weights and widths when the target is missed
    code_share: float = Field(default=0.0, ge=0, le=1)  # spec mode: this share of the samples is free-form code
    selection: bool = True  # semantic checks before training (constant, wrong ranking, all-cost specs)
    seed: int | None = None  # the embedded model's sampling seed (API models are not reproducible)
    islands: int = 1  # sub-populations with their own parents and elites (samples spread over them)
    migration_interval: int = 2  # every this many generations each island's best joins the next's prompts
    workers: int | None = None  # training jobs at once on the gymnasium backend (default: one per core)
    executor: str = "local"  # where jobs run: local, or ray (eureka.executor)
    ray_address: str | None = None  # the Ray cluster (None: the task file's executor.address)
    log: list[TrackerName] = Field(default_factory=list)  # experiment trackers written to (eureka.views.tracking)

    @property
    def generation(self) -> Any:
        from eureka.design.llm.base import GenerationSettings

        return GenerationSettings(temperature=self.temperature, max_tokens=self.max_tokens_per_reply)

    @classmethod
    def resolve(cls, task: TaskSpec, *, model: str | None = None, iterations: int | None = None,
                samples: int | None = None, sandbox: str | None = None, with_baselines: bool = False,
                workers: int | None = None, max_tokens: int | None = None, max_cost_usd: float | None = None,
                review: bool | None = None, overlap: bool | None = None, constant_variants: int | None = None,
                mode: str | None = None, selection: bool = True, seed: int | None = None,
                edits: int | None = None, islands: int | None = None, executor: str | None = None,
                ray_address: str | None = None, log: list[str] | tuple[str, ...] | None = None,
                code_share: float | None = None, tune_best: bool | None = None) -> "RunConfig":
        """The settings of a new run: the command line's (None: not given) over the task file's `task`."""
        from eureka.design.llm import resolve_model

        chosen = resolve_model(model, task.llm.model)
        design = design_mode(mode, task.llm.mode, chosen)
        variants = default_variants(constant_variants, task)
        return cls(
            model=chosen, iterations=iterations or task.search.iterations, samples=samples or task.search.samples,
            max_repairs=task.search.max_repairs, temperature=task.llm.temperature,
            max_tokens_per_reply=task.llm.max_tokens, sandbox=sandbox or task.sandbox,
            with_baselines=with_baselines, elites_in_prompt=task.search.elites_in_prompt, max_tokens=max_tokens,
            max_cost_usd=max_cost_usd, llm_review=review_enabled(review, task.llm.review, chosen),
            overlap=overlap_enabled(overlap, chosen), constant_variants=variants,
            mode=design, edits=default_edits(edits, task, design), selection=selection, seed=seed,
            tune_best=default_tune_best(tune_best, design, variants),
            code_share=default_code_share(code_share, task, design, chosen),
            islands=islands or task.search.islands, migration_interval=task.search.migration_interval,
            workers=workers, executor=executor or task.executor.kind, ray_address=ray_address,
            log=list(dict.fromkeys(log or ())))

    @classmethod
    def from_run(cls, run: dict[str, Any]) -> "RunConfig":
        """The settings of a recorded run (run.json); files from before RunConfig have no
        "model" inside their settings (it was beside them) and fewer keys (the defaults)."""
        settings = dict(run["settings"])
        settings.setdefault("model", run["model"])
        return cls.model_validate(settings)


def _embedded(model: str) -> bool:
    return model == "local" or model.startswith("local:")


def review_enabled(cli: bool | None, task: bool | None, model: str) -> bool:
    """The LLM critic pass: on by default with API models; the small local model and
    scripted replies skip it unless asked (a 1.5B model is no reliable critic)."""
    if cli is not None:
        return cli
    if task is not None:
        return task
    return not (_embedded(model) or model.startswith("scripted:"))


def design_mode(cli: str | None, task: str | None, model: str) -> str:
    """Free-form code for capable models; a structured spec for the small embedded one, which
    chooses well among options but writes useless free-form rewards (see eureka/design/spec.py)."""
    if cli is not None:
        return cli
    if task is not None:
        return task
    return "spec" if _embedded(model) else "code"


def default_variants(cli: int | None, task: TaskSpec) -> int:
    """Constant tuning is nearly free inside a JAX population; on the gymnasium backend
    each variant is one more training process, so it is off unless asked for."""
    from eureka.training.trainers import trainer_for

    if cli is not None:
        return cli
    if task.search.constant_variants is not None:
        return task.search.constant_variants
    return trainer_for(task.env.backend).default_constant_variants


def overlap_enabled(cli: bool | None, model: str) -> bool:
    """Design the next candidates while earlier ones train: on for API models (the LLM's time is
    waiting: 1.33x measured on the gymnasium backend), off for the embedded model, whose
    generation competes with training for the same cores (0.78x measured on 2 cores)."""
    if cli is not None:
        return cli
    return not _embedded(model)


def default_edits(cli: int | None, task: TaskSpec, mode: str) -> int:
    """Structural edits of the parent spec beside the model's children: structured mode only
    (free-form code has no spec to edit)."""
    if mode != "spec":
        return 0
    if cli is not None:
        return cli
    return task.search.edits if task.search.edits is not None else 4


def default_tune_best(cli: bool | None, mode: str, constant_variants: int) -> bool:
    """The closing generation that tunes the best spec's weights and widths (a level up or down,
    like constant tuning's x0.3 and x3): on in structured mode where no candidate's constants are
    tuned (the gymnasium trainer's default, whose variants would each be one more training),
    and only run when the target was missed."""
    if cli is not None:
        return cli
    return mode == "spec" and constant_variants == 0


def default_code_share(cli: float | None, task: TaskSpec, mode: str, model: str) -> float:
    """The share of a structured-mode generation's samples written as free-form code (with the
    critic's auto-repair) beside the specs, so that the population decides which kind survives.
    Off unless asked for: the offline results in the README were measured without code samples,
    and with 3 samples a generation one code sample takes a third of the specs' places; turning
    it on by default waits for that measurement (bench/offline_ablation.py --configs mixed)."""
    if mode != "spec":
        return 0.0
    if cli is not None:
        return cli
    if task.search.code_share is not None:
        return task.search.code_share
    return 0.0
