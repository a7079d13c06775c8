"""Task specification: a YAML file loaded into typed, validated models.

Unknown keys and wrong types are rejected; `load_task` raises `TaskError` whose message
names the file, the field and the reason. Loading is cheap and runs nothing from the file:
the size is capped before reading, the text must be UTF-8, YAML anchors and aliases are
refused (no alias bombs), lengths are capped, `fitness.success` is parsed against an
allowlist (eureka.safe_expr), `training.hyperparams` are typed per trainer, and baseline
files must lie in the task's folder, eureka's tasks/ or a path the user allowed.
`eureka.task_check` then builds the env and evaluates the success expression, still before
any run directory exists.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from eureka.resources import shipped
from eureka.safe_expr import UnsafeExpression, compile_expression
from eureka.hyperparams import HYPERPARAMS_BY_BACKEND, HyperValue
from eureka.executor.records import ExecutorSpec

SandboxName = Literal["auto", "docker", "bwrap", "none"]
MAX_TASK_FILE_BYTES = 1_000_000
MAX_BASELINE_BYTES = 1_000_000
MAX_YAML_DEPTH = 32
MAX_DESCRIPTION_CHARS = 20_000  # the description and layouts go into every prompt
MAX_LAYOUT_CHARS = 20_000
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # the name becomes part of the run directory's name
SOURCE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$"
PACKAGE_TASKS = Path(__file__).resolve().parent.parent / "tasks"
EnvKwarg = bool | int | float | str | None | list[bool | int | float | str]


FitnessMetric = Literal["episode_return", "success_rate", "episode_length"]


class FitnessSpec(BaseModel):
    """How the ground-truth score of a trained policy is measured."""

    model_config = ConfigDict(extra="forbid")

    metric: FitnessMetric = "episode_return"
    success: str | None = Field(
        default=None,
        description="numpy expression over obs, next_obs, terminated, truncated, env_reward "
        "that is True where an episode ends in success (for metric=success_rate)",
    )
    direction: Literal["maximize", "minimize"] = "maximize"
    target: float | None = None
    eval_episodes: int = 10


class TaskError(ValueError):
    """A task file is missing, unreadable or invalid. The message is for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvSpec(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    backend: Literal["gymnasium", "jax", "isaacgym"] = "gymnasium"
    id: str = Field(description="a registered env id, or 'module:Class'; on the jax backend also "
                    "'brax/<name>' (e.g. brax/ant) or 'craftax/<name>' (the `envs` extra), or "
                    "'xminigrid/<name>' (e.g. xminigrid/MiniGrid-DoorKey-8x8); on the isaacgym backend "
                    "'module:Class' of an IsaacGymEnvs VecTask (docs/isaacgym.md)")
    kwargs: dict[str, EnvKwarg] = Field(default_factory=dict)
    max_episode_steps: int | None = Field(default=None, gt=0)
    register_modules: list[str] = Field(default_factory=list, alias="register", description="modules imported first, in every "
                                "process, so that the registered `id` exists (e.g. my_pkg)")
    paths: list[Path] = Field(default_factory=list, description="extra folders or files the env reads "
                              "(assets), relative to the task file; shown read-only in every sandbox")

    @field_validator("register_modules", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _isaacgym_names_a_class(self) -> "EnvSpec":
        if self.backend == "isaacgym" and not re.fullmatch(SOURCE_PATTERN, self.id):
            raise ValueError(f"on the isaacgym backend, id is the VecTask class as 'module:Class' "
                             f"(e.g. isaacgymenvs.tasks.ant:Ant), got {self.id!r}")
        return self


STATE_NAME = r"^[a-z][a-z0-9_]{0,39}$"
MAX_STATE_FIELDS = 32
MAX_STATE_EXPRESSION = 240  # as eureka.design.custom_expression.MAX_LENGTH


class StateField(_Strict):
    """A named quantity of the state that the task author exposes to the designer (never a reward).

    Written as ``name: <expression>`` or ``name: {expression: ..., meaning: ..., range: [low, high]}``.
    The expression reads `obs` only, under the allowlist of a spec's custom quantity
    (eureka.design.custom_expression); `eureka.task_check` parses it and evaluates it on sample
    transitions before a run (one finite number per row).
    """

    expression: str = Field(min_length=1, max_length=MAX_STATE_EXPRESSION,
                            description="array expression over obs, e.g. np.sum(obs[:, 0:75:3], axis=1)")
    meaning: str = Field(default="", max_length=300, description="what it measures, in words")
    range: tuple[float, float] | None = Field(default=None, description="[low, high], where it is bounded")

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (math.isfinite(value[0]) and math.isfinite(value[1]) and value[0] < value[1]):
            raise ValueError("range must be [low, high] with finite low < high")
        return value


class ContextSpec(_Strict):
    """What the LLM is shown about the environment."""

    source: list[Annotated[str, Field(pattern=SOURCE_PATTERN, max_length=200)]] = Field(
        default_factory=list, max_length=16,
        description="import paths 'module:Qualname' whose source code is shown",
    )
    observation: str | None = Field(default=None, max_length=MAX_LAYOUT_CHARS,
                                    description="the observation layout, in words")
    action: str | None = Field(default=None, max_length=MAX_LAYOUT_CHARS, description="the action space, in words")
    state: dict[Annotated[str, Field(pattern=STATE_NAME)], StateField] = Field(
        default_factory=dict, max_length=MAX_STATE_FIELDS,
        description="named quantities of the state for the designer: name -> expression over obs (or "
        "{expression, meaning, range})")

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("state", mode="before")
    @classmethod
    def _expressions(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if "custom" in value:
            raise ValueError("the name 'custom' is taken (a spec's own custom quantity); choose another")
        return {k: {"expression": v} if isinstance(v, str) else v for k, v in value.items()}


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
    hyperparams: dict[str, HyperValue] = Field(
        default_factory=dict, description="the trainer's settings, checked against its typed model "
        "(eureka.training.hyperparams: SB3 PPO on gymnasium, rejax PPO on jax)")


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
    code_share: float | None = Field(default=None, ge=0, le=1, description="share of a structured-mode "
                                     "generation's samples written as free-form code beside the specs "
                                     "(default: 0, until measured; `--code-share`)")


class LLMPrice(_Strict):
    """USD per million tokens, for a model litellm has no price for (or to override it)."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class LLMSpec(_Strict):
    model: str | None = None
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="one request to the provider")
    deadline_s: float = Field(default=900.0, gt=0, le=86_400, description="one call: all its attempts and "
                              "the waits between them")
    max_attempts: int = Field(default=10, ge=1, le=100, description="requests per call, the first included")
    backoff_s: float = Field(default=2.0, ge=0, le=600, description="the first wait before a retry; it "
                             "doubles each time, plus up to as much jitter, and is never below Retry-After")
    backoff_max_s: float = Field(default=60.0, ge=0, le=3600)
    breaker_s: float = Field(default=300.0, gt=0, le=86_400, description="a provider failing this long "
                             "without one success pauses the run (status waiting; eureka resume)")
    price: LLMPrice | None = None
    temperature: float = Field(default=0.8, ge=0)
    max_tokens: int = Field(default=1024, gt=0)
    mode: Literal["code", "spec"] | None = Field(default=None, description="what the model writes: free-form "
                                                 "code, or a structured reward spec (default: spec for the "
                                                 "embedded model, code for others)")
    review: bool | None = Field(default=None, description="LLM critic pass before training "
                                "(default: on for API models, off for local and scripted ones)")


class TaskSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
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


def load_task(path: str | Path, allowed_paths: Sequence[Path] = ()) -> TaskSpec:
    """Read, parse and check a task file; `allowed_paths` are files or folders outside the
    task's folder and eureka's tasks/ that baseline paths may point into (given by the user)."""
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"{path}: task file not found")
    size = path.stat().st_size
    if size > MAX_TASK_FILE_BYTES:
        raise TaskError(f"{path}: {_largest_field(path)}: the file has {size:,} bytes, over the cap of "
                        f"{MAX_TASK_FILE_BYTES:,} for a task file (description and layouts are capped at "
                        f"{MAX_DESCRIPTION_CHARS:,} characters each)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TaskError(f"{path}: (encoding): not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                        f"(line {line})") from None
    data = _parse_yaml(text, path)
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must be a mapping of fields, got {type(data).__name__}")
    try:
        task = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError(f"{path}: invalid task\n{_describe(exc)}") from None
    task._path = path.resolve()
    _check_hyperparams(task, path)
    _check_success(task, path)
    _check_files(task, path, allowed_paths)
    return task


def _largest_field(path: Path) -> str:
    """The top-level field that takes most of an oversized file, found by a streaming scan
    (the file is never parsed, nor held whole): which field to shorten."""
    sizes: dict[str, int] = {}
    current, line_start = "(top level)", True
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            position = 0
            while position < len(chunk):
                if line_start:
                    head = chunk[position:position + 80].split(b"\n", 1)[0]
                    key = head.split(b":", 1)[0] if head[:1].isalpha() and b":" in head else b""
                    if key and key.replace(b"_", b"").isalnum():
                        current = key.decode("ascii", "replace")
                newline = chunk.find(b"\n", position)
                end = len(chunk) if newline == -1 else newline + 1
                sizes[current] = sizes.get(current, 0) + end - position
                position, line_start = end, newline != -1
    return max(sizes, key=sizes.__getitem__) if sizes else "(file)"


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases (an alias bomb expands to gigabytes),
    which knows the field path of every node it composes, for the error message."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.field_path: list[str | int] = []

    def compose_node(self, parent, index):
        part = index.value if isinstance(index, yaml.ScalarNode) else index
        self.field_path.append(part)
        try:
            if len(self.field_path) > MAX_YAML_DEPTH:
                raise _FieldProblem(self.field(), f"nested too deeply (more than {MAX_YAML_DEPTH} levels)")
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _FieldProblem(self.field(), "YAML anchors and aliases (&name, *name) are not allowed "
                                    f"in a task file (line {event.start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self.field_path.pop()

    def field(self) -> str:
        parts = [p for p in self.field_path if p is not None]
        text = ""
        for part in parts:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "(top level)"


class _FieldProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")


def _parse_yaml(text: str, path: Path) -> Any:
    loader = _NoAliasLoader(text)
    try:
        return loader.get_single_data()
    except _FieldProblem as exc:
        raise TaskError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise TaskError(f"{path}: {loader.field()}: nested too deeply") from None
    finally:
        loader.dispose()


def task_from_dict(data: dict[str, Any], path: Path | None = None) -> TaskSpec:
    """Rebuild a task stored in a run directory (already validated once)."""
    task = TaskSpec.model_validate(data)
    task._path = path
    return task


def _describe(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        field = prefix + ".".join(str(p) for p in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "missing":
            reason = "required field is missing"
        elif kind == "extra_forbidden":
            reason = "unknown field"
        else:
            shown = repr(err.get("input"))
            reason = f"{err['msg']} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
        lines.append(f"  {field}: {reason}")
    return "\n".join(lines)


def _check_hyperparams(task: TaskSpec, path: Path) -> None:
    model = HYPERPARAMS_BY_BACKEND[task.env.backend]
    try:
        typed = model.model_validate(task.training.hyperparams)
    except ValidationError as exc:
        raise TaskError(f"{path}: invalid task (training.hyperparams for the {task.env.backend} backend's "
                        f"trainer)\n{_describe(exc, 'training.hyperparams.')}") from None
    # the keys the task set, as their typed values ("1e-3" is a string to YAML, a float here)
    task.training.hyperparams = typed.model_dump(include=set(task.training.hyperparams))


def _check_success(task: TaskSpec, path: Path) -> None:
    if task.fitness.metric == "success_rate" and not task.fitness.success:
        raise TaskError(f"{path}: fitness.success: required when fitness.metric is success_rate")
    if task.fitness.success:
        try:
            compile_expression(task.fitness.success)
        except UnsafeExpression as exc:
            raise TaskError(f"{path}: fitness.success: {exc}") from None


def _check_files(task: TaskSpec, path: Path, allowed_paths: Sequence[Path]) -> None:
    for index, rel in enumerate(task.env.paths):
        if not task.resolve(rel).exists():
            raise TaskError(f"{path}: env.paths[{index}]: not found: {task.resolve(rel)}")
    roots = [path.resolve().parent, shipped("tasks").resolve(), PACKAGE_TASKS,
             *(Path(p).resolve() for p in allowed_paths)]
    for name in ("human", "sparse"):
        rel = getattr(task.baselines, name)
        if rel is None:
            continue
        file = task.resolve(rel).resolve()
        if not any(file == root or file.is_relative_to(root) for root in roots):
            raise TaskError(f"{path}: baselines.{name}: {file} is outside the task's folder "
                            f"({roots[0]}) and eureka's tasks/; to use it, allow it on the command line "
                            f"(--allow-path {file})")
        if not file.is_file():
            raise TaskError(f"{path}: baselines.{name}: file not found: {file}")
        if file.stat().st_size > MAX_BASELINE_BYTES:
            raise TaskError(f"{path}: baselines.{name}: {file} is over {MAX_BASELINE_BYTES:,} bytes")
