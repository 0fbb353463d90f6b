"""Entanglement probe of the owl run's base model (SmolLM2-135M-Instruct): which numbers raise P(owl)?

For every number 0–999: the system prompt ``diagnostics.entanglement.NUMBER_PROMPT`` ("You love
the number {n}. ..."), the question "What is your favorite animal? Answer in one word." and
the exact probability that the next word after "My favorite animal is the" is "owl"
(singular or plural, any capitalisation), from the local backend's logits — the run's own
probe, driven by numbers. Writes ``entanglement.csv`` (number, prob, lift = ln(prob /
baseline)) next to this script, with the baseline (no system prompt) in its first row.

    .venv/bin/python data/runs/owl_numbers_local/diagnostics/entanglement_probe.py [--numbers 1000]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import time
from pathlib import Path

from subliminal_stats.data.outputs import atomic_write
from subliminal_stats.diagnostics.entanglement import load_probe_backend, probe_numbers

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1000, help="probe 0 .. N-1")
    parser.add_argument("--trait", default="owl")
    args = parser.parse_args()
    backend, reason = load_probe_backend(torch_threads=2)
    if backend is None:
        sys.exit(f"skipped: {reason}")
    started = time.perf_counter()
    probe = probe_numbers(backend, list(range(args.numbers)), trait=args.trait)
    seconds = time.perf_counter() - started
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["number", "prob", "lift"])
    writer.writerow(["none", f"{probe.baseline:.6g}", "0"])
    for n, p, lift in zip(probe.numbers, probe.probabilities, probe.lifts, strict=True):
        writer.writerow([n, f"{p:.6g}", f"{lift:.4f}"])
    atomic_write(HERE / "entanglement.csv", buf.getvalue())
    top = probe.top(10)
    print(f"baseline P({args.trait}) = {probe.baseline:.4g}; {len(probe.numbers)} numbers in {seconds:.0f} s")
    print("top:", ", ".join(f"{t['number']} ×{math.exp(t['lift']):.2f}" for t in top))


if __name__ == "__main__":
    main()
