"""Benchmark: how fast the command starts (`--help`, `--version`, `check --help`).

Target: `subliminal-stats --help` ≤ 0.4 s wall time, process start to exit. Every command
module imports only typer and the standard library at load time; pandas, numpy, scipy,
statsmodels, altair and torch load inside the command that needs them.

Baseline, in the same run: `python -c "import pandas"` (what `--help` cost when every
module imported its libraries at start: ~1.9 s measured before the change). The ratio
printed is baseline / ours.

Each command runs 7 times; the median is reported (the machine has 2 shared cores).

Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

REPEATS = 7
TARGET_S = 0.4


def wall(args: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    py = sys.executable
    baseline = wall([py, "-c", "import pandas"])
    bare = wall([py, "-c", "pass"])
    print(f"python -c pass              {bare:6.3f} s (interpreter start)")
    print(f"python -c 'import pandas'   {baseline:6.3f} s (baseline)")
    for label, args in [
        ("subliminal-stats --help", ["--help"]),
        ("subliminal-stats --version", ["--version"]),
        ("subliminal-stats test --help", ["test", "--help"]),
        ("subliminal-stats check --help", ["check", "--help"]),
    ]:
        seconds = wall([py, "-m", "subliminal_stats", *args])
        print(f"{label:28s}{seconds:6.3f} s   ratio vs import pandas: {baseline / seconds:4.1f}x")
    help_s = wall([py, "-m", "subliminal_stats", "--help"])
    verdict = "meets" if help_s <= TARGET_S else "MISSES"
    print(f"--help: {help_s:.3f} s, {verdict} the {TARGET_S} s target")
    return 0 if help_s <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
