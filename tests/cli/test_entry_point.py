"""The console script: ``test`` ends without the interpreter's teardown, losing nothing.

``cli.entry_point`` flushes and leaves with ``os._exit`` after the commands in
``FAST_EXIT_COMMANDS``; run as a real process (``python -m subliminal_stats``), the output,
the ``--json`` file and the exit codes must be exactly those of the in-process ``main``.
"""

from __future__ import annotations

import json
import subprocess
import sys

from repo_paths import EXAMPLE_CSV

from subliminal_stats.cli import FAST_EXIT_COMMANDS

EXAMPLE = EXAMPLE_CSV


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "subliminal_stats", *args], capture_output=True,
                          text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_test_command_exits_fast_with_everything_written(tmp_path, cli):
    assert "test" in FAST_EXIT_COMMANDS
    out = tmp_path / "out.json"
    proc = _run("test", str(EXAMPLE), "--trait", "owl", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    inside = tmp_path / "inside.json"
    result = cli("test", EXAMPLE, "--trait", "owl", "--json", inside)
    assert result.code == 0
    assert rows == json.loads(inside.read_text())
    # Without --json the table goes to stdout; the last line (the notes) arrives too.
    proc = _run("test", str(EXAMPLE), "--trait", "owl")
    assert proc.returncode == 0
    assert "Treated − reference" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1] == \
        cli("test", EXAMPLE, "--trait", "owl").out.rstrip().splitlines()[-1]


def test_test_command_bad_input_still_exits_2(tmp_path):
    proc = _run("test", str(tmp_path / "missing.csv"))
    assert proc.returncode == 2
    assert "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
