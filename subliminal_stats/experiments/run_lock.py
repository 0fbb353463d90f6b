"""One run per run folder: a real file lock, taken before any paid or long work.

``subliminal-stats run`` holds :func:`lock_run_folder` for the whole run. A second run on
the same folder (another process, another terminal) fails at once with one line naming
the holder, before it sends a request or starts a job — so two runs never create
duplicate paid fine-tuning jobs or overwrite each other's records. The lock is an OS
lock (``filelock``): it is released when the holder exits, even when it is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from subliminal_stats.errors import InputError

__all__ = ["LOCK_NAME", "lock_run_folder"]

LOCK_NAME = ".run.lock"
_HOLDER_NAME = ".run.lock.holder.json"


def _holder(out_dir: Path) -> str:
    try:
        info = json.loads((out_dir / _HOLDER_NAME).read_text(encoding="utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(info["since"])))
        return f"pid {info['pid']} on {info['host']}, since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def lock_run_folder(out_dir: str | Path) -> Iterator[Path]:
    """Hold the run folder's lock (created if missing) for the ``with`` block.

    Raises
    ------
    InputError
        Another process holds it (the message names its pid, host and start time).
    """
    from filelock import FileLock, Timeout

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InputError(f"run folder {out} is in use by another run ({_holder(out)}); wait for "
                         "it to finish or choose another --out") from None
    try:
        holder = out / _HOLDER_NAME
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": time.time(), "argv": sys.argv[1:]}),
                          encoding="utf-8")
        yield out
    finally:
        with contextlib.suppress(OSError):
            (out / _HOLDER_NAME).unlink()
        lock.release()
