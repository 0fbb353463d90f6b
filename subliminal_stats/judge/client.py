"""The judge client: ask a judge model, retry unusable replies, keep every reply in a cache.

The paper judges misalignment with an LLM: every free-form answer gets an
*alignment* score and a *coherence* score (0–100 each); the same kind of judge
screens code and reasoning data for subtle references to the trait
(:mod:`subliminal_stats.filtering.judge_screens`). :class:`LLMJudge` sends the
rendered prompts (:mod:`~subliminal_stats.judge.templates`), reads the replies
(:mod:`~subliminal_stats.judge.parsing`), asks again up to ``max_attempts`` times
while a reply is unusable, and counts what never parsed in a :class:`JudgeReport`.
Replies are cached by :mod:`~subliminal_stats.judge.cache`: a rerun pays nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.backends.store import CompletionStore, generate
from subliminal_stats.errors import InputError
from subliminal_stats.judge.cache import cache_key, reply_id
from subliminal_stats.judge.parsing import (
    OK,
    REQUEST_FAILED,
    RETRIED_STATUSES,
    STATUSES,
    ParsedAnswer,
    parse_score,
)
from subliminal_stats.judge.templates import JudgePrompt, load_judge_prompt

__all__ = ["JudgeReport", "LLMJudge", "Verdict"]

@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one item.

    Attributes
    ----------
    key : str
        SHA-256 of (judge model, prompt name, prompt version, prompt as sent).
    value : float, bool or None
        The score (or yes/no); ``None`` unless ``status == "ok"``.
    status : str
        One of :data:`STATUSES`: the status of the last reply read.
    attempts : int
        Judge replies read (stored or new).
    answers : tuple of str
        The raw replies, in order.
    """

    key: str
    value: Any
    status: str
    attempts: int
    answers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class JudgeReport:
    """What one judging call did.

    Attributes
    ----------
    prompt : str
        ``name@version`` of the judge prompt.
    items : int
        Items judged (duplicates included).
    unique : int
        Distinct prompts (identical items are judged once).
    status_counts : tuple of (status, count)
        Per :data:`STATUSES`, over the unique items; everything but ``ok`` has no value.
    new_requests : int
        Judge requests sent in this call (0 on a cached rerun).
    cached_answers : int
        Stored replies reused.
    """

    prompt: str
    items: int
    unique: int
    status_counts: tuple[tuple[str, int], ...]
    new_requests: int
    cached_answers: int

    @property
    def statuses(self) -> dict[str, int]:
        return dict(self.status_counts)

    @property
    def scored(self) -> int:
        return self.statuses[OK]

    @property
    def unscored(self) -> int:
        """Unique items with no usable verdict (refused, garbage, failed...)."""
        return self.unique - self.scored

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "items": self.items, "unique": self.unique,
                "statuses": self.statuses, "new_requests": self.new_requests,
                "cached_answers": self.cached_answers}


class LLMJudge:
    """Ask a judge model to rate texts, with retries of unusable replies and a cache.

    Parameters
    ----------
    backend : ChatBackend
        E.g. :class:`~subliminal_stats.backends.openai_backend.OpenAIBackend`.
    store : CompletionStore or path
        Where judge replies are kept (the cache). One store can serve many
        prompts and models: the key includes both.
    model : str
        The judge model, e.g. ``"gpt-4.1-2025-04-14"``.
    max_attempts : int, default 3
        Replies asked for per item while the reply is unusable (refused,
        ambiguous, out of range, garbage).
    temperature : float, default 0.0
        Temperature of the first request; later attempts use
        ``retry_temperature`` so that they can differ.
    retry_temperature : float, default 1.0
    max_tokens : int, default 64
    seed : int, default 0
        Request seed of attempt ``k`` is ``seed + k``.
    progress : bool, default False
    batch : bool, default False
        Send through the backend's Batch API (OpenAI: half price, slower).
    backend_kwargs : mapping, optional
        Passed to the backend call through :func:`~subliminal_stats.backends.store.generate`
        (e.g. ``{"confirm": True}`` for the OpenAI backend).
    """

    def __init__(self, backend, store: CompletionStore | str | Path, *, model: str,
                 max_attempts: int = 3, temperature: float = 0.0, retry_temperature: float = 1.0,
                 max_tokens: int = 64, seed: int = 0, progress: bool = False,
                 batch: bool = False, backend_kwargs: Mapping[str, Any] | None = None):
        if not isinstance(model, str) or not model.strip():
            raise InputError("the judge needs a model name, e.g. model='gpt-4.1'")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InputError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self.backend = backend
        self.store = store if isinstance(store, CompletionStore) else CompletionStore(store)
        self.model = model
        self.max_attempts = max_attempts
        self.temperature = float(temperature)
        self.retry_temperature = float(retry_temperature)
        self.max_tokens = int(max_tokens)
        self.seed = int(seed)
        self.progress = progress
        self.batch = bool(batch)
        self.backend_kwargs = dict(backend_kwargs or {})

    def close(self) -> None:
        """Release the store (another process may then append to it)."""
        self.store.close()

    def __enter__(self) -> LLMJudge:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cache_key(self, prompt: JudgePrompt, rendered: str) -> str:
        """The cache key of one rendered prompt for this judge model (see :func:`cache_key`)."""
        return cache_key(self.model, prompt, rendered)

    def first_requests(self, prompt: JudgePrompt, items: Sequence[Mapping[str, str]]
                       ) -> list[ChatRequest]:
        """The first-attempt requests a :meth:`judge` call would send now (none are sent).

        For a dry run: pass them to
        :func:`~subliminal_stats.backends.pricing.estimate_chat_cost`. Cached
        and duplicate items are left out; retries of unusable replies can add
        up to ``max_attempts - 1`` requests per item on top.
        """
        seen: dict[str, ChatRequest] = {}
        for values in items:
            text = prompt.render(**values)
            key = self.cache_key(prompt, text)
            custom_id = reply_id(prompt, key, 0)
            if key not in seen and custom_id not in self.store:
                seen[key] = ChatRequest.from_prompt(custom_id, text, model=self.model,
                                                    temperature=self.temperature,
                                                    max_tokens=self.max_tokens, seed=self.seed)
        return list(seen.values())

    def judge(self, prompt: JudgePrompt, items: Sequence[Mapping[str, str]], *,
              parse: Callable[[str], ParsedAnswer]) -> tuple[list[Verdict], JudgeReport]:
        """Judge every item (a mapping of placeholder values) with one prompt.

        Parameters
        ----------
        prompt : JudgePrompt
        items : sequence of mapping
            Values for the prompt's placeholders, e.g. ``{"question": q, "answer": a}``.
        parse : callable
            Reads one reply (e.g. ``functools.partial(parse_score, name="alignment")``).

        Returns
        -------
        verdicts : list of Verdict
            One per item, in order.
        report : JudgeReport
        """
        keys = []
        rendered: dict[str, str] = {}
        for values in items:
            text = prompt.render(**values)
            key = self.cache_key(prompt, text)
            keys.append(key)
            rendered.setdefault(key, text)
        answers: dict[str, list[str]] = {key: [] for key in rendered}
        last: dict[str, ParsedAnswer] = {}
        failed: set[str] = set()
        pending = list(rendered)
        new_requests = cached = 0
        for attempt in range(self.max_attempts):
            if not pending:
                break
            requests = [
                ChatRequest.from_prompt(
                    reply_id(prompt, key, attempt), rendered[key], model=self.model,
                    temperature=self.temperature if attempt == 0 else self.retry_temperature,
                    max_tokens=self.max_tokens, seed=self.seed + attempt)
                for key in pending]
            todo = [r for r in requests if r.custom_id not in self.store]
            cached += len(requests) - len(todo)
            if todo:
                new_requests += len(todo)
                generate(todo, self.backend, self.store, progress=self.progress,
                         batch=self.batch, raise_on_failure=False, **self.backend_kwargs)
            still = []
            for key, request in zip(pending, requests, strict=True):
                result = self.store.get(request.custom_id)
                if result is None:
                    failed.add(key)  # not stored: a rerun asks again
                    continue
                answers[key].append(result.completion)
                last[key] = parse(result.completion)
                if last[key].status in RETRIED_STATUSES:
                    still.append(key)
            pending = still
        verdicts_by_key = {}
        for key in rendered:
            # A failed request (first or retry) is not stored: a rerun asks again.
            parsed = ParsedAnswer(None, REQUEST_FAILED) if key in failed else last[key]
            verdicts_by_key[key] = Verdict(key=key, value=parsed.value, status=parsed.status,
                                           attempts=len(answers[key]),
                                           answers=tuple(answers[key]))
        counts = Counter(v.status for v in verdicts_by_key.values())
        report = JudgeReport(prompt=f"{prompt.name}@{prompt.version}", items=len(keys),
                             unique=len(rendered),
                             status_counts=tuple((s, counts.get(s, 0)) for s in STATUSES),
                             new_requests=new_requests, cached_answers=cached)
        return [verdicts_by_key[key] for key in keys], report

    # -- convenience ------------------------------------------------------------------
    def scores(self, questions: Sequence[str], answers: Sequence[str], *,
               prompt: JudgePrompt | str = "alignment", name: str | None = None,
               ) -> tuple[list[Verdict], JudgeReport]:
        """0–100 scores of answers to questions with a score prompt."""
        prompt = prompt if isinstance(prompt, JudgePrompt) else load_judge_prompt(prompt)
        if len(questions) != len(answers):
            raise InputError(f"{len(questions)} questions but {len(answers)} answers: give one "
                             "question per answer")
        label = name or prompt.name
        return self.judge(prompt, [{"question": q, "answer": a}
                                   for q, a in zip(questions, answers, strict=True)],
                          parse=lambda reply: parse_score(reply, name=label))
