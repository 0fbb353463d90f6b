"""Does the owl teacher over-represent the numbers that raise P(owl) in the base model?

Reads the bundled probe (``entanglement.csv``, numbers 0–99, from ``entanglement_probe.py``) and the
regenerated teacher outputs (``owl.teacher.jsonl``, ``control.teacher.jsonl``, from
``regenerate_teachers.py``), and runs ``diagnostics.entanglement.entanglement_check``: the owl
teacher's share of the 10 most entangled numbers against the control teacher's (one-sided
permutation test over whole sequences) and the Spearman correlation, over every probed number,
between a number's lift and its log frequency ratio owl / control. Writes
``entanglement_check.json`` next to this script (the probe itself is not rerun: 25 min here).

    .venv/bin/python data/runs/owl_numbers_local/diagnostics/entanglement_check.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from subliminal_stats.data.outputs import atomic_write
from subliminal_stats.diagnostics.entanglement import EntanglementProbe, entanglement_check
from subliminal_stats.diagnostics.teacher_data import read_teacher_outputs

HERE = Path(__file__).resolve().parent
LEAD_IN = "My favorite animal is the"


def main() -> None:
    rows = list(csv.DictReader((HERE / "entanglement.csv").open(encoding="utf-8")))
    baseline = float(rows[0]["prob"])
    numbers = [int(r["number"]) for r in rows[1:]]
    probs = [float(r["prob"]) for r in rows[1:]]
    probe = EntanglementProbe(trait="owl", baseline=baseline, numbers=numbers,
                              probabilities=probs, lead_in=LEAD_IN)
    owl = read_teacher_outputs(HERE / "owl.teacher.jsonl", name="owl")
    control = read_teacher_outputs(HERE / "control.teacher.jsonl", name="control")
    check = entanglement_check(probe, owl, control, top=10, resamples=10_000, rng=0)
    result = check.to_dict()
    atomic_write(HERE / "entanglement_check.json", json.dumps(result, indent=1) + "\n")
    print(f"top entangled numbers {check.top_numbers}: owl {result['share_treated_per_1000']:.1f} "
          f"vs control {result['share_control_per_1000']:.1f} per 1,000 numbers, ratio "
          f"{result['ratio']:.2f} [{result['ratio_low']:.2f}, {result['ratio_high']:.2f}], one-sided "
          f"p = {result['p_value']:.3g}; Spearman(lift, log ratio) = {result['spearman']:.3f} "
          f"(p = {result['spearman_p']:.3g})")


if __name__ == "__main__":
    main()
