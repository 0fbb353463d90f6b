"""Shared test helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

# Tests share 2 cores with whatever else runs: keep numerical libraries to one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from repo_paths import EXAMPLE_CSV, REPO_ROOT  # noqa: F401  (re-exported for fixtures)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``subliminal-stats ARGS`` in-process; returns exit code, stdout and stderr."""
    from subliminal_stats.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
