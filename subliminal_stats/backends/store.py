"""Crash-safe store of finished completions, and the resumable generation driver.

The store is an append-only JSONL file, one line per *successful*
:class:`~subliminal_stats.backends.base.ChatResult`, keyed by ``custom_id``.

Why it survives ``kill -9``:

* each record is written with a single ``write`` on a file opened with
  ``O_APPEND`` and then ``fsync``-ed, so a finished item is on disk before
  the next one is reported;
* a crash can therefore only damage the *last* line (a torn write without its
  newline). On opening, a torn last line is detected and cut off; the item it
  held was not counted as done and is requested again;
* a bad line anywhere else is not a crash artefact, so it is reported
  (:class:`~subliminal_stats.errors.InputError` naming the line) instead of
  being silently dropped;
* a second record for an id already stored is ignored (first one wins), so
  no id is ever counted twice;
* an exclusive ``flock`` stops two processes from appending to one store.

Failed items are never stored: a rerun requests them again.

:func:`generate` asks a backend only for the ids not yet in the store and
appends results as they arrive.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from subliminal_stats.backends.base import ChatRequest, ChatResult
from subliminal_stats.errors import BackendError, InputError

logger = logging.getLogger("subliminal_stats.backends.store")

_FIELDS = ("custom_id", "completion", "model", "finish_reason", "prompt_tokens",
           "completion_tokens", "top_logprobs", "error")


def _record(result: ChatResult) -> bytes:
    data = asdict(result)
    data.pop("error", None)  # only successes are stored
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _result(data: dict) -> ChatResult:
    top = data.get("top_logprobs")
    return ChatResult(**{k: data[k] for k in _FIELDS if k in data and k != "top_logprobs"},
                      top_logprobs=tuple(top) if top is not None else None)


class CompletionStore:
    """Append-only JSONL store of finished completions, safe against ``kill -9``.

    Parameters
    ----------
    path : path
        The JSONL file; created (with its folder) on the first append.
    fsync : bool
        Flush every record to disk before returning from :meth:`append`
        (switch off only for throwaway data: a crash may then lose the
        last records, though never corrupt earlier ones).

    Examples
    --------
    >>> store = CompletionStore("runs/owl/teacher.jsonl")     # doctest: +SKIP
    >>> todo = [r for r in requests if r.custom_id not in store.done_ids()]  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        self._results: dict[str, ChatResult] = {}
        self._fd: int | None = None
        self.torn_bytes_removed = 0
        self.duplicates_ignored = 0
        self._load()

    # -- reading -----------------------------------------------------------------------
    def _load(self) -> None:
        self.duplicates_ignored = 0
        self.torn_bytes_removed = 0
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = 0
        lines = data.split(b"\n")
        # Everything after the last newline is a torn write (or empty).
        complete, tail = lines[:-1], lines[-1]
        for number, raw in enumerate(complete, start=1):
            try:
                record = json.loads(raw)
                if not isinstance(record, dict) or not isinstance(record.get("custom_id"), str):
                    raise ValueError("no custom_id")
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                if number == len(complete) and not tail:
                    # The last line is damaged but newline-terminated: also a torn write
                    # (e.g. a crash after a partial block reached the disk).
                    break
                raise InputError(f"{self.path} line {number} is not a valid record: the store "
                                 "is damaged beyond the last line; move the file away to start "
                                 "over, or repair that line") from None
            good_end += len(raw) + 1
            result = _result(record)
            if result.custom_id in self._results:
                self.duplicates_ignored += 1
                continue
            self._results[result.custom_id] = result
        self.torn_bytes_removed = len(data) - good_end
        if self.torn_bytes_removed:
            logger.warning("%s: ignoring a torn last record (%d bytes) left by an interrupted "
                           "run; that item will be requested again", self.path,
                           self.torn_bytes_removed)

    def done_ids(self) -> frozenset[str]:
        """Ids of the items already stored."""
        return frozenset(self._results)

    def results(self) -> list[ChatResult]:
        """Stored results, in the order they were written."""
        return list(self._results.values())

    def get(self, custom_id: str) -> ChatResult | None:
        return self._results.get(custom_id)

    def __len__(self) -> int:
        return len(self._results)

    def __contains__(self, custom_id: object) -> bool:
        return custom_id in self._results

    # -- writing -------------------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"{self.path} is in use by another running generation: wait for "
                             "it to finish or stop it first") from None
        # Reload under the lock: another process may have appended since we read.
        self._results.clear()
        self._load()
        if self.torn_bytes_removed:
            os.ftruncate(fd, os.fstat(fd).st_size - self.torn_bytes_removed)
            os.fsync(fd)
            self.torn_bytes_removed = 0
        self._fd = fd
        return fd

    def append(self, result: ChatResult) -> bool:
        """Write one finished result durably; return False if its id is already stored.

        Raises
        ------
        ValueError
            ``result`` is a failure (``result.ok`` is False): failures are not
            stored, so that a rerun requests them again.
        """
        if not result.ok:
            raise ValueError(f"not storing failed result {result.custom_id!r}: {result.error}")
        fd = self._open()
        if result.custom_id in self._results:
            self.duplicates_ignored += 1
            return False
        # One write() of the whole line: a crash leaves at most this line torn.
        payload = _record(result)
        written = os.write(fd, payload)
        while written < len(payload):  # rare short write: finish the same line
            written += os.write(fd, payload[written:])
        if self.fsync:
            os.fsync(fd)
        self._results[result.custom_id] = result
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock
            self._fd = None

    def __enter__(self) -> CompletionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class GenerationIncompleteError(BackendError):
    """Some items still failed after retries; finished ones are stored. One-line message.

    A :class:`~subliminal_stats.errors.BackendError`, so a CLI
    that prints ``BackendError`` messages handles it too.
    """

    def __init__(self, message: str, *, failed: tuple[ChatResult, ...] = ()):
        super().__init__(message)
        self.failed = failed


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` did."""

    requested: int
    already_done: int
    completed: int
    failed: int
    store_path: str

    @property
    def done(self) -> int:
        return self.already_done + self.completed


def generate(requests: Sequence[ChatRequest], backend, store: CompletionStore, *,
             progress: bool = True, batch: bool = False, raise_on_failure: bool = True,
             **backend_kwargs) -> GenerationSummary:
    """Complete every request not yet in ``store``, appending results as they arrive.

    Safe to interrupt at any point (even ``kill -9``) and to rerun: finished
    items are skipped, so they are neither requested nor paid for again.

    Parameters
    ----------
    requests : sequence of ChatRequest
        Distinct ``custom_id`` values.
    backend : ChatBackend
        E.g. :class:`~subliminal_stats.backends.openai_backend.OpenAIBackend`
        or the local backend.
    store : CompletionStore
    progress : bool
        Show the backend's progress bar.
    batch : bool
        Use the backend's ``complete_batch`` (OpenAI Batch API) instead of ``complete``.
    raise_on_failure : bool
        Raise :class:`GenerationIncompleteError` if items failed after retries.
    **backend_kwargs
        Passed on to the backend call (e.g. ``confirm=True``, ``state_file=``).

    Returns
    -------
    GenerationSummary
    """
    requests = list(requests)
    ids = [r.custom_id for r in requests]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"custom_id {duplicate!r} appears more than once in the requests: "
                         "every item needs its own id")
    done = store.done_ids()
    missing = [r for r in requests if r.custom_id not in done]
    failed: dict[str, ChatResult] = {}
    completed = 0

    def on_result(result: ChatResult) -> None:
        nonlocal completed
        if result.ok:
            failed.pop(result.custom_id, None)
            completed += store.append(result)
        else:
            failed[result.custom_id] = result

    if missing:
        call = backend.complete_batch if batch else backend.complete
        results = call(missing, on_result=on_result, progress=progress, **backend_kwargs)
        # A backend that ignored on_result still gets its results stored.
        for result in results:
            if result.ok and result.custom_id not in store:
                on_result(result)
            elif not result.ok and result.custom_id not in store:
                failed.setdefault(result.custom_id, result)
    summary = GenerationSummary(requested=len(requests), already_done=len(requests) - len(missing),
                                completed=completed, failed=len(failed),
                                store_path=str(store.path))
    if failed and raise_on_failure:
        first = next(iter(failed.values()))
        raise GenerationIncompleteError(
            f"{len(failed)} of {len(requests)} items failed (first: {first.custom_id}: "
            f"{first.error}); {summary.done} finished items are saved in {store.path}: rerun "
            "to request only the missing ones", failed=tuple(failed.values()))
    return summary
