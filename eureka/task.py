"""Task specification: a YAML file loaded into typed, validated models.

Unknown keys and wrong types are rejected; `load_task` raises `TaskError` whose message
names the file, the field and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from eureka.executor.records import ExecutorSpec
from eureka.training.base import FitnessSpec

SandboxName = Literal["auto", "docker", "bwrap", "none"]


class TaskError(ValueError):
    """A task file is missing, unreadable or invalid. The message is for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvSpec(_Strict):
    backend: Literal["gymnasium", "jax"] = "gymnasium"
    id: str = Field(description="a registered env id, or 'module:Class'; on the jax backend also "
                    "'brax/<name>' (e.g. brax/ant) or 'craftax/<name>' (the `envs` extra)")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    max_episode_steps: int | None = Field(default=None, gt=0)


class ContextSpec(_Strict):
    """What the LLM is shown about the environment."""

    source: list[str] = Field(
        default_factory=list,
        description="import paths 'module:Qualname' whose source code is shown",
    )
    observation: str | None = Field(default=None, description="the observation layout, in words")
    action: str | None = Field(default=None, description="the action space, in words")

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class BaselinesSpec(_Strict):
    """Human-written rewards with the generated rewards' interface (paths relative to the task file)."""

    human: Path | None = None
    sparse: Path | None = None


class TrainingSpec(_Strict):
    algorithm: Literal["ppo"] = "ppo"
    timesteps: int = Field(default=100_000, gt=0)
    num_envs: int = Field(default=8, gt=0)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    checkpoints: int = Field(default=10, gt=0)
    timeout_s: float = Field(default=900.0, gt=0, description="per training job")
    hyperparams: dict[str, Any] = Field(default_factory=dict)


class SearchSpec(_Strict):
    iterations: int = Field(default=2, gt=0)
    samples: int = Field(default=4, gt=0)
    max_repairs: int = Field(default=1, ge=0, description="repair prompts per failed sample")
    elites_in_prompt: int = Field(default=1, ge=1, description="top-k rewards shown in reflection prompts")
    islands: int = Field(default=1, ge=1, description="sub-populations, each with its own parent and elites; "
                         "a generation's samples are spread over them")
    migration_interval: int = Field(default=2, ge=1, description="every this many generations, each island's "
                                    "best is shown in the next island's prompts (a ring)")
    constant_variants: int | None = Field(default=None, ge=0, description="constant-tuning variants per "
                                          "candidate (default: 4 on the jax backend, 0 on gymnasium)")
    edits: int | None = Field(default=None, ge=0, description="structural edits of the parent spec trained per "
                              "generation in structured mode (default: 4)")


class LLMSpec(_Strict):
    model: str | None = None
    temperature: float = Field(default=0.8, ge=0)
    max_tokens: int = Field(default=1024, gt=0)
    mode: Literal["code", "spec"] | None = Field(default=None, description="what the model writes: free-form "
                                                 "code, or a structured reward spec (default: spec for the "
                                                 "embedded model, code for others)")
    review: bool | None = Field(default=None, description="LLM critic pass before training "
                                "(default: on for API models, off for local and scripted ones)")


class TaskSpec(_Strict):
    name: str
    description: str
    env: EnvSpec
    context: ContextSpec = Field(default_factory=ContextSpec)
    fitness: FitnessSpec = Field(default_factory=FitnessSpec)
    baselines: BaselinesSpec = Field(default_factory=BaselinesSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    search: SearchSpec = Field(default_factory=SearchSpec)
    llm: LLMSpec = Field(default_factory=LLMSpec)
    sandbox: SandboxName = "auto"
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    def resolve(self, relative: Path) -> Path:
        """A path from the task file, relative to the file's folder."""
        base = self._path.parent if self._path else Path.cwd()
        return relative if relative.is_absolute() else (base / relative)


def load_task(path: str | Path) -> TaskSpec:
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"{path}: task file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must be a mapping of fields, got {type(data).__name__}")
    try:
        task = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError(f"{path}: invalid task\n{_describe(exc)}") from None
    task._path = path.resolve()
    _check_files(task, path)
    return task


def task_from_dict(data: dict[str, Any], path: Path | None = None) -> TaskSpec:
    """Rebuild a task stored in a run directory (already validated once)."""
    task = TaskSpec.model_validate(data)
    task._path = path
    return task


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "missing":
            reason = "required field is missing"
        elif kind == "extra_forbidden":
            reason = "unknown field"
        else:
            reason = f"{err['msg']} (got {err.get('input')!r})"
        lines.append(f"  {field}: {reason}")
    return "\n".join(lines)


def _check_files(task: TaskSpec, path: Path) -> None:
    for name in ("human", "sparse"):
        rel = getattr(task.baselines, name)
        if rel is not None and not task.resolve(rel).is_file():
            raise TaskError(f"{path}: baselines.{name}: file not found: {task.resolve(rel)}")
    if task.fitness.metric == "success_rate" and not task.fitness.success:
        raise TaskError(f"{path}: fitness.success: required when fitness.metric is success_rate")
