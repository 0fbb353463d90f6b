"""OpenAI backend: chat completions, the Batch API and fine-tuning, via the official SDK.

Works with api.openai.com and with any OpenAI-compatible server (vLLM,
Ollama, ...) through ``base_url``.

Design decisions
----------------
* **Retries are ours.** The SDK's own retries are switched off
  (``max_retries=0``) so that every retry is counted and bounded here: a
  request is tried at most ``1 + max_retries`` times. Retried: HTTP 408, 409,
  429 and 5xx, timeouts, connection errors and malformed answers (not JSON,
  JSON that is not a chat completion, ``choices: [null]``, a choice without a
  message, non-numeric ``usage``: see :func:`check_chat_answer`).
  The wait is exponential with jitter, ``min(backoff_max, backoff_initial ×
  2^attempt) × U(0.5, 1)``, unless the server sends ``Retry-After`` (or
  ``retry-after-ms``), which is honoured (capped at ``retry_after_max``).
  Other 4xx answers are not retried; a rejected key (401/403) stops everything
  with an :class:`~subliminal_stats.errors.InputError`.
* **When retries run out** for a chat item, :meth:`OpenAIBackend.complete`
  does *not* raise: the item's :class:`ChatResult` carries ``error`` (e.g.
  ``"gave up after 6 attempts (HTTP 429 ×4, timeout ×2)"``) so one bad item
  does not throw away thousands of good ones, and a warning summarises the
  failures. Pass ``raise_on_error=True`` to get a
  :class:`RetriesExhaustedError` instead (after all items have finished).
  :func:`subliminal_stats.backends.store.generate` stores the good results
  and then raises, so a rerun retries only the failed items. Single calls
  (file upload, batch or job polling) raise :class:`RetriesExhaustedError`.
* **The key** is read from ``OPENAI_API_KEY`` when a client is made and
  handed only to the SDK; it is never stored on the backend, logged, or
  written. A missing key is a one-line :class:`InputError`.
* **Cost** is estimated (see :mod:`subliminal_stats.backends.pricing`) and
  printed before anything is spent; spending needs ``confirm=True`` (CLI
  ``--yes``) or an interactive "y". A custom ``base_url`` is assumed free
  unless ``billed=True``.
* ``ChatRequest.constraint`` cannot be enforced by the OpenAI API; number
  outputs are checked afterwards by the filters.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import hashlib
import io
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from subliminal_stats.backends.base import ChatRequest, ChatResult, FineTuneSpec
from subliminal_stats.backends.pricing import (
    confirm_spending,
    estimate_chat_cost,
    estimate_fine_tune_cost,
)
from subliminal_stats.errors import BackendError, InputError

logger = logging.getLogger("subliminal_stats.backends.openai")

API_KEY_ENV = "OPENAI_API_KEY"
#: The Batch API accepts at most this many requests per input file.
MAX_BATCH_REQUESTS = 50_000
#: ... and files up to 200 MB; we stay below with a margin.
MAX_BATCH_BYTES = 190_000_000
_BATCH_DONE = {"completed", "failed", "expired", "cancelled"}
_JOB_DONE = {"succeeded", "failed", "cancelled"}

T = TypeVar("T")


class RetriesExhaustedError(BackendError):
    """A call still failed after ``1 + max_retries`` attempts.

    ``reason`` is the part after the call's name, e.g.
    ``"gave up after 6 attempts (HTTP 429 ×4, timeout ×2)"``.
    """

    def __init__(self, message: str, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class BatchFailedError(BackendError):
    """A Batch API batch ended in status ``failed``."""


class FineTuneFailedError(BackendError):
    """A fine-tuning job ended ``failed`` or ``cancelled``, or gave no model id."""


class _MalformedAnswer(ValueError):
    """Internal: HTTP 200 whose JSON is not a chat completion (retried like bad JSON)."""


async def _post_chat(client, body: dict) -> dict:
    answer = await client.post("/chat/completions", body=body, cast_to=dict)
    check_chat_answer(answer)
    return answer


def _count(value) -> bool:
    """A token count: absent, or a whole non-negative number (not a bool, not a string)."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value == value and 0 <= value < 2**53 and float(value).is_integer()


def check_chat_answer(answer) -> None:
    """Refuse an HTTP 200 body that is not a usable chat completion.

    Checked: ``choices`` is a non-empty list whose first item is an object with a
    ``message`` object whose ``content`` is text or null; ``usage`` counts are whole
    non-negative numbers; ``logprobs`` (when present) parse. A refused body is retried
    like a transient fault and, after the retry budget, recorded as a failed item.

    Raises
    ------
    _MalformedAnswer
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise _MalformedAnswer("not a chat completion")
    choices = answer["choices"]
    if not choices or not isinstance(choices[0], dict):
        raise _MalformedAnswer("no usable choice")
    message = choices[0].get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), (str, type(None))):
        raise _MalformedAnswer("choice without a message")
    usage = answer.get("usage")
    if usage is not None and (not isinstance(usage, dict) or not all(
            _count(usage.get(k)) for k in ("prompt_tokens", "completion_tokens"))):
        raise _MalformedAnswer("usage is not token counts")
    try:
        OpenAIBackend._result("check", answer)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _MalformedAnswer(f"unreadable completion ({type(exc).__name__})") from None


class _Transient(Exception):
    """Internal: a failure worth retrying, with the server's Retry-After if any."""

    def __init__(self, label: str, retry_after: float | None = None):
        super().__init__(label)
        self.label = label
        self.retry_after = retry_after


def _require_api_key() -> str:
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise InputError(f"{API_KEY_ENV} is not set: export your OpenAI API key in the "
                         "environment (any placeholder for a keyless local server)")
    return key


def _retry_after_seconds(headers) -> float | None:
    """Seconds asked for by ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _classify(exc: BaseException) -> _Transient | None:
    """Map an SDK exception to a retryable failure, or None when it must not be retried."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return _Transient("timeout")
    if isinstance(exc, openai.APIConnectionError):
        return _Transient("connection error")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            raise InputError(f"the server rejected the API key in {API_KEY_ENV} "
                             f"(HTTP {status}): set a valid key") from None
        if status in (408, 409, 429) or status >= 500:
            return _Transient(f"HTTP {status}", _retry_after_seconds(exc.response.headers))
        return None
    if isinstance(exc, (json.JSONDecodeError, _MalformedAnswer,
                        openai.APIResponseValidationError)):
        return _Transient("malformed response")
    return None


def _summarise(labels: list[str]) -> str:
    return ", ".join(f"{label} ×{n}" for label, n in Counter(labels).most_common())


def _run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion, also from inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int | None, description: str):
    """Yield ``update(completed=None, description=None)``; a rich bar on stderr if enabled."""
    if not enabled:
        yield lambda **_: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)

        def update(*, completed: int | None = None, advance: int | None = None,
                   description: str | None = None) -> None:
            kwargs = {k: v for k, v in (("completed", completed), ("advance", advance),
                                        ("description", description)) if v is not None}
            bar.update(task, **kwargs)

        yield update


class OpenAIBackend:
    """Chat completions, Batch API and fine-tuning through the ``openai`` SDK.

    Parameters
    ----------
    model : str, optional
        Model used for requests whose ``ChatRequest.model`` is empty.
    base_url : str, optional
        An OpenAI-compatible server, e.g. ``"http://localhost:8000/v1"`` (vLLM)
        or ``"http://localhost:11434/v1"`` (Ollama). Default: api.openai.com.
    concurrency : int
        Chat requests in flight at once.
    max_retries : int
        Retries per call after the first attempt (so ``1 + max_retries`` tries).
    timeout : float
        Seconds allowed for one HTTP request before it counts as a timeout.
    backoff_initial, backoff_max : float
        Exponential backoff: ``min(backoff_max, backoff_initial × 2^attempt)``
        seconds, scaled by a random factor in [0.5, 1).
    retry_after_max : float
        Longest ``Retry-After`` honoured, in seconds.
    poll_interval : float
        Seconds between status checks of batches and fine-tuning jobs.
    confirm : bool
        Spending is pre-confirmed (``--yes``); otherwise the cost estimate asks.
    billed : bool, optional
        Whether the server bills; default: True for api.openai.com, False for
        a custom ``base_url``.
    prices_file : path, optional
        Price table override (see :mod:`subliminal_stats.backends.pricing`).
    token_limit_field : {"max_completion_tokens", "max_tokens"}, optional
        Name of the completion-length parameter; default
        ``max_completion_tokens`` for OpenAI and ``max_tokens`` (the older name
        that compatible servers know) for a custom ``base_url``.
    rng : int or random.Random, optional
        Source of backoff jitter (seed it for reproducible waits).
    """

    def __init__(self, model: str | None = None, *, base_url: str | None = None,
                 concurrency: int = 8, max_retries: int = 5, timeout: float = 60.0,
                 backoff_initial: float = 1.0, backoff_max: float = 60.0,
                 retry_after_max: float = 120.0, poll_interval: float = 10.0,
                 confirm: bool = False, billed: bool | None = None, prices_file=None,
                 token_limit_field: str | None = None, rng: int | random.Random | None = None):
        if concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        if max_retries < 0:
            raise InputError(f"max_retries must be 0 or more, got {max_retries}")
        if timeout <= 0:
            raise InputError(f"timeout must be positive seconds, got {timeout}")
        if token_limit_field not in (None, "max_completion_tokens", "max_tokens"):
            raise InputError(f"token_limit_field must be 'max_completion_tokens' or "
                             f"'max_tokens', got {token_limit_field!r}")
        _require_api_key()  # fail early, before any work; the key itself is not kept
        self.model = model
        self.base_url = base_url
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff_initial = float(backoff_initial)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self.poll_interval = float(poll_interval)
        self.confirm = bool(confirm)
        self.billed = (base_url is None) if billed is None else bool(billed)
        self.prices_file = prices_file
        self.token_limit_field = token_limit_field or (
            "max_completion_tokens" if base_url is None else "max_tokens")
        self._rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        #: Id of the last fine-tuning job created or resumed (for the run manifest).
        self.last_job_id: str | None = None
        #: Ids of the batches of the last :meth:`complete_batch` call.
        self.last_batch_ids: list[str] = []

    def __repr__(self) -> str:  # no key in here, ever
        return (f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, "
                f"concurrency={self.concurrency}, max_retries={self.max_retries}, "
                f"timeout={self.timeout})")

    # -- plumbing ---------------------------------------------------------------------
    def _client(self):
        import httpx2
        import openai

        connections = max(self.concurrency, 4) + 4
        return openai.AsyncOpenAI(
            api_key=_require_api_key(), base_url=self.base_url, max_retries=0,
            timeout=self.timeout,
            http_client=openai.DefaultAsyncHttpxClient(
                verify=_shared_ssl_context(),
                limits=httpx2.Limits(max_connections=connections,
                                     max_keepalive_connections=connections)))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # Honour the server, plus a little jitter so waiting clients do not stampede.
            return min(retry_after, self.retry_after_max) * (1 + 0.1 * self._rng.random())
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** attempt)
        return ceiling * (0.5 + 0.5 * self._rng.random())

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[T]],
                            failures: list[str] | None = None) -> T:
        """Await ``call()`` with bounded retries on transient failures.

        Raises
        ------
        RetriesExhaustedError
            Still failing after ``1 + max_retries`` attempts.
        """
        failures = [] if failures is None else failures
        for attempt in range(self.max_retries + 1):
            try:
                return await call()
            except Exception as exc:
                transient = _classify(exc)
                if transient is None:
                    raise
                failures.append(transient.label)
                if attempt == self.max_retries:
                    reason = (f"gave up after {attempt + 1} attempts "
                              f"({_summarise(failures)})")
                    raise RetriesExhaustedError(f"{what}: {reason}", reason=reason) from exc
                delay = self._delay(attempt, transient.retry_after)
                logger.info("%s: %s; retry %d of %d in %.2f s", what, transient.label,
                            attempt + 1, self.max_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _confirm(self, estimate, confirm: bool | None) -> None:
        confirm_spending(estimate, confirm=self.confirm if confirm is None else confirm)

    def _prepared(self, requests: Sequence[ChatRequest]) -> list[ChatRequest]:
        requests = list(requests)
        seen: set[str] = set()
        for request in requests:
            if not isinstance(request, ChatRequest):
                raise InputError(f"expected ChatRequest objects, got {type(request).__name__}")
            if request.custom_id in seen:
                raise InputError(f"custom_id {request.custom_id!r} appears twice: every "
                                 "request needs its own id")
            seen.add(request.custom_id)
        missing = [r.custom_id for r in requests if not (r.model or self.model)]
        if missing:
            raise InputError(f"request {missing[0]!r} names no model: set ChatRequest.model "
                             "or OpenAIBackend(model=...)")
        return requests

    def _body(self, request: ChatRequest) -> dict:
        """The JSON body of the chat completion request (also a Batch API line body)."""
        body: dict[str, Any] = {"model": request.model or self.model,
                                "messages": [dict(m) for m in request.messages],
                                "temperature": request.temperature,
                                self.token_limit_field: request.max_tokens}
        if request.seed is not None:
            body["seed"] = request.seed
        if request.logprobs:
            body["logprobs"] = True
            if request.top_logprobs:
                body["top_logprobs"] = request.top_logprobs
        return body

    @staticmethod
    def _result(custom_id: str, response: dict) -> ChatResult:
        """A ChatResult from a chat-completion response body (dict)."""
        choices = response.get("choices") or []
        usage = response.get("usage") or {}
        model = response.get("model") or ""
        if not choices:
            return ChatResult(custom_id, None, model=model, error="response has no choices")
        choice = choices[0]
        content = (choice.get("message") or {}).get("content")
        finish = choice.get("finish_reason")
        top = None
        logprobs = choice.get("logprobs") or {}
        if logprobs.get("content"):
            top = tuple({alt["token"]: float(alt["logprob"]) for alt in
                         (position.get("top_logprobs") or [])} or
                        {position["token"]: float(position["logprob"])}
                        for position in logprobs["content"])
        return ChatResult(
            custom_id=custom_id, completion=content, model=model, finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0), top_logprobs=top,
            error=None if content is not None else f"no completion text (finish_reason={finish})")

    # -- chat completions ---------------------------------------------------------------
    def complete(self, requests: Sequence[ChatRequest], *,
                 on_result: Callable[[ChatResult], None] | None = None, progress: bool = True,
                 confirm: bool | None = None, raise_on_error: bool = False) -> list[ChatResult]:
        """Answer every request with bounded concurrency and bounded retries.

        Parameters
        ----------
        requests : sequence of ChatRequest
            Distinct ``custom_id`` values.
        on_result : callable, optional
            Called with each :class:`ChatResult` as it finishes (any order),
            including failed ones (``result.ok`` is False). Calls come from one
            helper thread, one at a time; an exception stops the run.
        progress : bool
            Show a progress bar on stderr.
        confirm : bool, optional
            Pre-confirm the printed cost estimate (default: the backend's ``confirm``).
        raise_on_error : bool
            Raise :class:`RetriesExhaustedError` at the end if any item failed.

        Returns
        -------
        list of ChatResult
            In the order of ``requests``; failed items carry ``error``.
        """
        requests = self._prepared(requests)
        if not requests:
            return []
        self._confirm(estimate_chat_cost(self._with_models(requests), free=not self.billed,
                                         prices_file=self.prices_file), confirm)
        results = _run_sync(self._complete_async(requests, on_result, progress))
        failed = [r for r in results if not r.ok]
        if failed:
            message = (f"{len(failed)} of {len(results)} chat requests failed; first: "
                       f"{failed[0].custom_id}: {failed[0].error}")
            logger.warning(message)
            if raise_on_error:
                raise RetriesExhaustedError(message)
        return results

    def _with_models(self, requests: list[ChatRequest]) -> list[ChatRequest]:
        from dataclasses import replace

        return [r if r.model else replace(r, model=self.model) for r in requests]

    async def _complete_async(self, requests: list[ChatRequest], on_result, progress: bool
                              ) -> list[ChatResult]:
        results: list[ChatResult | None] = [None] * len(requests)
        pending = iter(enumerate(requests))
        loop = asyncio.get_running_loop()
        # on_result runs in one helper thread, one call at a time, so that a store's
        # fsync does not stall the event loop (and every other request) while it waits.
        callbacks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="on_result")
        try:
            async with self._client() as client:
                with _progress_bar(progress, len(requests), "chat completions") as update:

                    async def worker() -> None:
                        # Workers share one iterator: at most `concurrency` requests in flight.
                        for index, request in pending:
                            result = await self._complete_one(client, request)
                            results[index] = result
                            if on_result is not None:
                                await loop.run_in_executor(callbacks, on_result, result)
                            update(advance=1)

                    await asyncio.gather(*(worker() for _ in range(min(self.concurrency,
                                                                       len(requests)))))
        finally:
            callbacks.shutdown(wait=True)
        return [r for r in results if r is not None]

    async def _complete_one(self, client, request: ChatRequest) -> ChatResult:
        import openai

        body = self._body(request)
        failures: list[str] = []
        # The SDK's generic `post` (same auth, base_url, timeouts and status → exception
        # mapping) with a plain-dict answer: the typed `chat.completions.create` spends
        # ~3 ms of CPU per call on parameter transforms and pydantic models, which caps
        # throughput near 100 requests/s on a busy 2-core machine (benchmarks/bench_openai.py).
        try:
            response = await self._with_retries(
                f"chat {request.custom_id}", lambda: _post_chat(client, body), failures)
        except RetriesExhaustedError as exc:
            return ChatResult(request.custom_id, None, model=body["model"],
                              error=exc.reason)
        except openai.APIStatusError as exc:  # not retryable, e.g. HTTP 400
            return ChatResult(request.custom_id, None, model=body["model"],
                              error=f"HTTP {exc.status_code}: {_api_message(exc)}")
        return self._result(request.custom_id, response)

    # -- Batch API -------------------------------------------------------------------------
    def complete_batch(self, requests: Sequence[ChatRequest], *,
                       on_result: Callable[[ChatResult], None] | None = None,
                       progress: bool = True, confirm: bool | None = None,
                       state_file: str | os.PathLike | None = None,
                       max_wait: float | None = None) -> list[ChatResult]:
        """Answer requests through the Batch API (half price, up to 24 h).

        Builds a JSONL file (one ``{"custom_id", "method", "url", "body"}`` per
        line, at most 50,000 lines per batch), uploads it, creates the batch,
        polls until it ends, downloads the output and error files and maps
        every line back to its request by ``custom_id``. More than 50,000
        requests make several batches, run one after another.

        Parameters
        ----------
        requests, on_result, progress, confirm
            As in :meth:`complete`.
        state_file : path, optional
            JSON file remembering created batch ids: after an interruption a
            rerun with the same requests resumes polling the same batches
            instead of paying for new ones.
        max_wait : float, optional
            Stop polling after this many seconds with a :class:`BackendError`
            (the batch keeps running; rerun with the same ``state_file``).

        Returns
        -------
        list of ChatResult
            In the order of ``requests``; items in the error file, or missing
            from an expired/cancelled batch, carry ``error``.

        Raises
        ------
        BatchFailedError
            The batch as a whole failed (e.g. the input file was rejected).
        """
        requests = self._prepared(requests)
        self.last_batch_ids = []
        if not requests:
            return []
        self._confirm(estimate_chat_cost(self._with_models(requests), batch=True,
                                         free=not self.billed, prices_file=self.prices_file),
                      confirm)
        by_id = {r.custom_id: r for r in requests}
        results: dict[str, ChatResult] = {}

        def deliver(result: ChatResult) -> None:
            if result.custom_id in by_id and result.custom_id not in results:
                results[result.custom_id] = result
                if on_result is not None:
                    on_result(result)

        for chunk in self._batch_chunks(requests):
            _run_sync(self._run_batch(chunk, deliver, progress, state_file, max_wait))
        ordered = [results[r.custom_id] for r in requests]
        failed = [r for r in ordered if not r.ok]
        if failed:
            logger.warning("%d of %d batch requests failed; first: %s: %s", len(failed),
                           len(ordered), failed[0].custom_id, failed[0].error)
        return ordered

    def _batch_line(self, request: ChatRequest) -> bytes:
        return (json.dumps({"custom_id": request.custom_id, "method": "POST",
                            "url": "/v1/chat/completions", "body": self._body(request)},
                           ensure_ascii=False) + "\n").encode("utf-8")

    def _batch_chunks(self, requests: list[ChatRequest]) -> list[list[ChatRequest]]:
        chunks: list[list[ChatRequest]] = [[]]
        size = 0
        for request in requests:
            line = len(self._batch_line(request))
            if chunks[-1] and (len(chunks[-1]) >= MAX_BATCH_REQUESTS
                               or size + line > MAX_BATCH_BYTES):
                chunks.append([])
                size = 0
            chunks[-1].append(request)
            size += line
        return chunks

    async def _run_batch(self, chunk: list[ChatRequest], deliver, progress: bool,
                         state_file, max_wait: float | None) -> None:
        key = hashlib.sha256("\n".join(sorted(r.custom_id for r in chunk)).encode()
                             ).hexdigest()[:16]
        state = _read_state(state_file)
        async with self._client() as client:
            batch_id = state.get(key)
            if batch_id:
                logger.info("resuming batch %s from %s", batch_id, state_file)
            else:
                payload = b"".join(self._batch_line(r) for r in chunk)
                uploaded = await self._with_retries("upload batch input", lambda: (
                    client.files.create(file=("batch_input.jsonl", io.BytesIO(payload)),
                                        purpose="batch")))
                batch = await self._with_retries("create batch", lambda: client.batches.create(
                    input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                    completion_window="24h"))
                batch_id = batch.id
                logger.info("created batch %s with %d requests", batch_id, len(chunk))
                if state_file is not None:
                    state[key] = batch_id
                    _write_state(state_file, state)
            self.last_batch_ids.append(batch_id)
            batch = await self._poll(
                client, f"batch {batch_id}", lambda: client.batches.retrieve(batch_id),
                done=lambda b: b.status in _BATCH_DONE, total=len(chunk), progress=progress,
                completed=lambda b: (b.request_counts.completed + b.request_counts.failed)
                if b.request_counts else None, max_wait=max_wait)
            if batch.status == "failed":
                errors = batch.errors.data if batch.errors and batch.errors.data else []
                detail = "; ".join(f"{e.code}: {e.message}" for e in errors[:3]) or "no details"
                raise BatchFailedError(f"batch {batch_id} failed ({detail})")
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                content = await self._with_retries(
                    f"download {file_id}", lambda fid=file_id: client.files.content(fid))
                for result in _parse_batch_output(content.content):
                    deliver(result)
            for request in chunk:
                deliver(ChatResult(request.custom_id, None, model=request.model or "",
                                   error=f"missing from the output of batch {batch_id} "
                                         f"(status {batch.status})"))
            if state_file is not None:
                state = _read_state(state_file)
                state.pop(key, None)
                _write_state(state_file, state)

    async def _poll(self, client, what: str, retrieve, *, done, total, progress, completed,
                    max_wait, describe=None):
        start = time.monotonic()
        with _progress_bar(progress, total, what) as update:
            while True:
                item = await self._with_retries(f"poll {what}", retrieve)
                count = completed(item)
                label = f"{what}: {describe(item) if describe else item.status}"
                update(completed=count, description=label)
                if done(item):
                    return item
                if max_wait is not None and time.monotonic() - start > max_wait:
                    raise BackendError(f"{what} still {item.status} after {max_wait:g} s; it "
                                       "keeps running on the server: rerun to resume polling")
                await asyncio.sleep(self.poll_interval)

    # -- fine-tuning ---------------------------------------------------------------------
    def fine_tune(self, spec: FineTuneSpec, *, progress: bool = True,
                  confirm: bool | None = None, job_id: str | None = None,
                  on_job_created: Callable[[str], None] | None = None,
                  max_wait: float | None = None) -> str:
        """Fine-tune ``spec.base_model`` on ``spec.training_file``; return the new model id.

        Uploads the file (purpose ``fine-tune``), creates a supervised job with
        ``seed``, ``n_epochs``, ``batch_size`` and ``learning_rate_multiplier``
        (the spec's typed fields), polls it, and returns
        ``fine_tuned_model`` of the *finished* job as retrieved from the server.

        Parameters
        ----------
        spec : FineTuneSpec
        progress : bool
            Show the job status on stderr while polling.
        confirm : bool, optional
            Pre-confirm the printed cost estimate.
        job_id : str, optional
            Resume polling an existing job instead of creating one.
        on_job_created : callable, optional
            Called with the job id right after creation, so a runner can record
            it before the (long) wait and resume after an interruption.
        max_wait : float, optional
            Give up polling after this many seconds (the job keeps running).

        Raises
        ------
        FineTuneFailedError
            The job failed or was cancelled (the message carries the server's reason).
        """
        if job_id is None:
            path = Path(spec.training_file)
            if not path.is_file():
                raise InputError(f"training file {path} does not exist: write the chat-format "
                                 "JSONL first")
            self._confirm(estimate_fine_tune_cost(spec, free=not self.billed,
                                                  prices_file=self.prices_file), confirm)
        return _run_sync(self._fine_tune_async(spec, progress, job_id, on_job_created,
                                               max_wait))

    async def _fine_tune_async(self, spec: FineTuneSpec, progress: bool, job_id: str | None,
                               on_job_created, max_wait) -> str:
        async with self._client() as client:
            if job_id is None:
                content = Path(spec.training_file).read_bytes()
                uploaded = await self._with_retries("upload training file", lambda: (
                    client.files.create(file=(Path(spec.training_file).name,
                                              io.BytesIO(content)), purpose="fine-tune")))
                hyperparameters = {"n_epochs": spec.epochs, "batch_size": spec.batch_size,
                                   "learning_rate_multiplier": spec.learning_rate_multiplier}
                created = await self._with_retries("create fine-tuning job", lambda: (
                    client.fine_tuning.jobs.create(
                        model=spec.base_model, training_file=uploaded.id, seed=spec.seed,
                        suffix=spec.suffix if spec.suffix else _omit(),
                        method={"type": "supervised",
                                "supervised": {"hyperparameters": hyperparameters}})))
                job_id = created.id
                logger.info("created fine-tuning job %s on %s (seed %s)", job_id,
                            spec.base_model, spec.seed)
                if on_job_created is not None:
                    on_job_created(job_id)
            self.last_job_id = job_id
            job = await self._poll(
                client, f"fine-tuning job {job_id}",
                lambda: client.fine_tuning.jobs.retrieve(job_id),
                done=lambda j: j.status in _JOB_DONE, total=None, progress=progress,
                completed=lambda j: None, max_wait=max_wait,
                describe=lambda j: j.status + (f", {j.trained_tokens:,} tokens trained"
                                               if j.trained_tokens else ""))
        if job.status != "succeeded":
            reason = f"{job.error.code}: {job.error.message}" if job.error else "no reason given"
            raise FineTuneFailedError(f"fine-tuning job {job_id} {job.status} ({reason})")
        if not job.fine_tuned_model:
            raise FineTuneFailedError(f"fine-tuning job {job_id} succeeded but names no "
                                      "fine_tuned_model")
        logger.info("fine-tuning job %s finished: %s", job_id, job.fine_tuned_model)
        return job.fine_tuned_model


@functools.cache
def _shared_ssl_context():
    # Building the default TLS context (loading the CA bundle) costs ~80 ms; a client is
    # made per call, so build the context once.
    import httpx2

    return httpx2.create_ssl_context()


def _omit():
    import openai

    return openai.omit


def _api_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


def _parse_batch_output(content: bytes) -> list[ChatResult]:
    """ChatResults from a Batch API output or error file (JSONL, any order)."""
    results = []
    for line in content.decode("utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        custom_id = record.get("custom_id")
        response = record.get("response") or {}
        status = response.get("status_code")
        body = response.get("body") or {}
        if record.get("error"):
            error = record["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            results.append(ChatResult(custom_id, None, error=f"batch error: {message}"))
        elif status == 200:
            try:
                check_chat_answer(body)
            except _MalformedAnswer as exc:
                results.append(ChatResult(custom_id, None, error=f"batch error: malformed "
                                                                 f"response ({exc})"))
                continue
            results.append(OpenAIBackend._result(custom_id, body))
        else:
            inner = body.get("error") if isinstance(body, dict) else None
            message = inner.get("message") if isinstance(inner, dict) else json.dumps(body)
            results.append(ChatResult(custom_id, None, error=f"batch error: HTTP {status}: "
                                                             f"{message}"))
    return results


def _read_state(state_file) -> dict:
    if state_file is None or not Path(state_file).exists():
        return {}
    try:
        return json.loads(Path(state_file).read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise InputError(f"batch state file {state_file} is corrupt: check it, or delete it "
                         "to create new batches (which costs again)") from None


def _write_state(state_file, state: dict) -> None:
    from subliminal_stats.data.outputs import atomic_write

    # atomic, unique temporary name: an interruption leaves the old or the new state
    atomic_write(Path(state_file), json.dumps(state, indent=1))
