"""Pipeline runs in a real subprocess (``subliminal-stats run CONFIG --out OUT``), whole or
SIGKILLed as soon as a condition on the run folder holds: the crash-and-resume tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from repo_paths import REPO_ROOT

CLI = [sys.executable, "-c", "from subliminal_stats.cli import entry_point; entry_point()"]


def run_env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_pipeline(config: Path, out: Path, log: Path) -> subprocess.CompletedProcess:
    """Run the pipeline to the end; its output is appended to ``log``."""
    with log.open("a") as fh:
        return subprocess.run([*CLI, "run", str(config), "--out", str(out)], stdout=fh,
                              stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=run_env(),
                              timeout=900, check=False)


def run_until(config: Path, out: Path, log: Path, condition, *, timeout: float = 900,
              poll: float = 0.05) -> bool:
    """Start a run and SIGKILL it as soon as ``condition(out)`` holds; False if it finished first."""
    with log.open("a") as fh:
        proc = subprocess.Popen([*CLI, "run", str(config), "--out", str(out)], stdout=fh,
                                stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=run_env(),
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                if condition(out):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return True
                time.sleep(poll)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return False


def count_lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0
