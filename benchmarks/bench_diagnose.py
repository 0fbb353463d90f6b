"""Benchmark: ``diagnose`` on 10,000 × 10,000 teacher sequences (issue 20; target ≤ 60 s).

Times :func:`subliminal_stats.diagnostics.compare` end to end — reading both JSONL files,
parsing, the number and digit-position permutation tests, the content detector and the
format baseline, each with ``--resamples`` permutations — on two real Qwen2.5-7B teachers
(``../shared/data/owls_teacher_numbers/``, lion vs dolphin; or any two files given), plus
the import time of the modules, in a fresh process. Beside it, in the same run, a baseline:
reading and parsing alone (the floor any diagnosis pays), and the ratio. The machine's load
average before and after is printed: the figures are only comparable at similar load.

Run: .venv/bin/python benchmarks/bench_diagnose.py [A.jsonl B.jsonl] [--resamples 1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "owls_teacher_numbers"
DEFAULT = [SHARED / "qwen2.5-7b-instruct_lion.jsonl", SHARED / "qwen2.5-7b-instruct_dolphin.jsonl"]

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from subliminal_stats.diagnostics import compare, read_teacher_outputs
t1 = time.perf_counter()
a = read_teacher_outputs(sys.argv[1]); b = read_teacher_outputs(sys.argv[2])
t2 = time.perf_counter()
if sys.argv[3] == "read":
    print(json.dumps({"import": t1 - t0, "read": t2 - t1, "total": t2 - t0, "n": [len(a), len(b)]})); sys.exit()
r = compare(a, b, resamples=int(sys.argv[4]))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "compare": t3 - t2, "total": t3 - t0,
                  "n": [len(a), len(b)], "verdict": r.verdict_line()}))
"""


def run(mode: str, a: Path, b: Path, resamples: int) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(a), str(b), mode, str(resamples)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if len(args.files) != 2:
        sys.exit("give two teacher files (or none for the shared lion and dolphin)")
    for f in args.files:
        if not f.exists():
            sys.exit(f"{f} not found (the shared Qwen teacher outputs are not on this machine)")
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()}")
    base = run("read", *args.files, args.resamples)
    print(f"baseline (import + read + parse only): {base['total']:.1f} s "
          f"(import {base['import']:.1f} s, read {base['read']:.1f} s; {base['n'][0]:,} × {base['n'][1]:,})")
    times = []
    for i in range(args.repeat):
        r = run("full", *args.files, args.resamples)
        times.append(r["total"])
        print(f"diagnose run {i + 1}: {r['total']:.1f} s in all (import {r['import']:.1f}, read "
              f"{r['read']:.1f}, tests + detectors {r['compare']:.1f}; process {r['process']:.1f} s) — "
              f"{r['verdict']}")
    best = min(times)
    print(f"load average after: {os.getloadavg()}")
    print(f"diagnose {best:.1f} s vs baseline {base['total']:.1f} s: ratio {best / base['total']:.1f}×; "
          f"target ≤ 60 s: {'met' if best <= 60 else 'NOT met'} ({args.resamples} permutations per test)")


if __name__ == "__main__":
    main()
