"""Speed of `make demo`: the paper report rendered offline, against its 30 s target.

Run:  .venv/bin/python benchmarks/bench_report.py [--repeats 2]

Measured in one run:

1. ``subliminal-stats demo --out DIR`` in a fresh process (what ``make demo`` runs
   after setup): wall-clock seconds and CPU seconds of the child, against the
   30 s target.
2. The report's calibration section, the only heavy computation in it (it reads the
   statistics core's stored table when one ships; otherwise it simulates): the light
   simulation the report runs (1,000 simulations per design for the seed-level
   methods, 200 × 199 resamples for the bootstrap, 3 designs) against the naive
   choice of running ``subliminal-stats calibrate`` with its defaults for each design
   (2,000 simulations, 500 × 999 bootstrap, no mixed models), and the ratio.

The machine is shared, so CPU seconds are printed beside wall-clock seconds.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 30.0


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_demo() -> tuple[float, float, int]:
    cli = Path(sys.executable).with_name("subliminal-stats")
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as out:
        cpu0, t0 = _child_cpu(), time.perf_counter()
        # From an empty folder, as a user of the installed wheel runs it (the cells run in a
        # temporary copy; nothing is written next to the shipped report).
        done = subprocess.run([str(cli), "demo", "--renderer", "fallback", "--out", out], capture_output=True,
                              text=True, cwd=out)
        wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
        if done.returncode != 0:
            raise SystemExit(f"demo failed: {done.stderr.strip().splitlines()[-1:]}")
        size = Path(done.stdout.strip()).stat().st_size
    return wall, cpu, size


def time_calibration() -> tuple[float, float, float, float]:
    """(light wall, light CPU, naive wall, naive CPU) in seconds."""
    from subliminal_stats.report.sections import report_calibration
    from subliminal_stats.stats import calibrate
    from subliminal_stats.stats.calibration import STANDARD_SCENARIO

    cpu0, t0 = time.process_time(), time.perf_counter()
    report_calibration(seeds=(3, 5, 10), prefer_stored=False)
    light = (time.perf_counter() - t0, time.process_time() - cpu0)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for g in (3, 5, 10):
        calibrate(seeds_per_arm=g, n_sims=2000, n_sims_bootstrap=500, n_resamples=999, n_sims_slow=0,
                  include_base=False, rng=g, **STANDARD_SCENARIO)
    naive = (time.perf_counter() - t0, time.process_time() - cpu0)
    return (*light, *naive)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    runs = [time_demo() for _ in range(args.repeats)]
    best = min(runs)
    print(f"demo (fresh process): best of {args.repeats}: {best[0]:.1f} s wall, {best[1]:.1f} s CPU; "
          f"report {best[2] / 1e6:.2f} MB; target {TARGET_SECONDS:.0f} s → "
          f"{'OK' if best[0] <= TARGET_SECONDS else 'OVER'}")
    light_wall, light_cpu, naive_wall, naive_cpu = time_calibration()
    print(f"calibration section simulated live: report's light simulation {light_wall:.1f} s wall / {light_cpu:.1f} s CPU; "
          f"calibrate defaults {naive_wall:.1f} s wall / {naive_cpu:.1f} s CPU; "
          f"ratio {naive_cpu / max(light_cpu, 1e-9):.1f}× less CPU")


if __name__ == "__main__":
    main()
