"""`scripted:DIR`: replies served from files, for tests and demos without a model.

Each file of DIR (name order, dotfiles ignored) is one whole reply, written as an LLM
would write it. When the files are used up the client fails with a clear message.
"""

from __future__ import annotations

import threading
from pathlib import Path

from eureka.design.llm.base import Completion, GenerationSettings, LLMError, Message


class ScriptedClient:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise LLMError(f"scripted model: {directory} is not a directory")
        self.directory = directory
        self.model = f"scripted:{directory}"
        self.replies = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
        if not self.replies:
            raise LLMError(f"scripted model: {directory} holds no reply files")
        self.position = 0
        self._lock = threading.Lock()

    def skip(self, count: int) -> None:
        """Advance past replies already consumed (used when a run is resumed)."""
        with self._lock:
            self.position = min(self.position + count, len(self.replies))

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        with self._lock:
            if self.position >= len(self.replies):
                raise LLMError(f"scripted model: all {len(self.replies)} replies in {self.directory} "
                               "are used up; add reply files or lower --iterations/--samples")
            path = self.replies[self.position]
            self.position += 1
        text = path.read_text()
        prompt_words = sum(len(m.content.split()) for m in messages)
        return Completion(text=text, model=self.model, prompt_tokens=prompt_words,
                          completion_tokens=len(text.split()))
