"""What every backend (OpenAI, local) speaks: chat requests in, completions out.

Backends turn :class:`ChatRequest` objects into :class:`ChatResult` objects and
fine-tune students from a chat-format JSONL file. The generation store and the
pipeline runner only see these types, so the two backends are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

#: Output constraint a backend may enforce while decoding (the local backend
#: restricts tokens to digits and separators for ``"numbers"``).
Constraint = Literal["numbers"] | None


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make.

    ``custom_id`` identifies the item across retries, batches and restarts: a
    result is stored under it and a rerun skips ids already stored.
    """

    custom_id: str
    messages: tuple[dict[str, str], ...]
    model: str
    temperature: float = 1.0
    max_tokens: int = 64
    seed: int | None = None
    constraint: Constraint = None
    logprobs: bool = False
    top_logprobs: int | None = None

    @staticmethod
    def from_prompt(custom_id: str, prompt: str, *, model: str, system: str | None = None,
                    **kwargs) -> ChatRequest:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        return ChatRequest(custom_id=custom_id, messages=tuple(messages), model=model, **kwargs)


@dataclass(frozen=True)
class ChatResult:
    """The answer to one :class:`ChatRequest` (or the error that ended its retries)."""

    custom_id: str
    completion: str | None
    model: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    top_logprobs: tuple[dict[str, float], ...] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.completion is not None


@dataclass(frozen=True)
class FineTuneSpec:
    """A hosted fine-tuning job (OpenAI or a compatible server) on chat-format JSONL.

    One ``{"messages": [...]}`` per line. The fields are the job's hyperparameters,
    each checked here; LoRA students trained locally take
    :class:`subliminal_stats.training.lora.LoraSpec` instead (typed LoRA settings).
    """

    training_file: Path
    base_model: str
    seed: int = 0
    epochs: int | Literal["auto"] = 1
    batch_size: int | Literal["auto"] = "auto"
    learning_rate_multiplier: float | Literal["auto"] = "auto"
    suffix: str | None = None

    def __post_init__(self) -> None:
        from subliminal_stats.errors import InputError

        if not isinstance(self.base_model, str) or not self.base_model.strip():
            raise InputError("a fine-tuning job needs base_model, e.g. 'gpt-4.1-nano-2025-04-14'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"fine-tuning seed must be a whole number >= 0, got {self.seed!r}")
        for name, low in (("epochs", 1), ("batch_size", 1)):
            value = getattr(self, name)
            if value != "auto" and (isinstance(value, bool) or not isinstance(value, int)
                                    or value < low):
                raise InputError(f"fine-tuning {name} must be 'auto' or a whole number >= {low}, "
                                 f"got {value!r}")
        lrm = self.learning_rate_multiplier
        if lrm != "auto" and (isinstance(lrm, bool) or not isinstance(lrm, (int, float))
                              or not 0 < lrm <= 100):
            raise InputError("fine-tuning learning_rate_multiplier must be 'auto' or in (0, 100], "
                             f"got {lrm!r}")


@runtime_checkable
class ChatBackend(Protocol):
    """Something that answers chat requests."""

    def complete(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[ChatResult], None] | None = None,
        progress: bool = True,
    ) -> list[ChatResult]:
        """Answer every request; call ``on_result`` as each one finishes (any order)."""
        ...


@runtime_checkable
class FineTuneBackend(Protocol):
    """Something that fine-tunes a student and returns the new model's id or path."""

    def fine_tune(self, spec: FineTuneSpec, *, progress: bool = True) -> str:
        ...
