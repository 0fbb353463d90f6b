"""The bundled runs' verdicts survive the layout change, to the last digit.

tests/fixtures/bundled_runs/*.json were written by `subliminal-stats test --method pooled-t
--json` before the package was reshaped (see the README there). The same commands now must
give the same estimates, intervals, p-values and verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "bundled_runs"
OWL = ROOT / "data" / "runs" / "owl_numbers_local" / "responses.parquet"
MLP = ROOT / "data" / "runs" / "mlp_digits" / "responses.parquet"

CASES = {
    "owl_hit": [OWL, "--trait", "owl"],
    "owl_prob": [OWL, "--trait", "owl", "--metric", "prob"],
    "mlp": [MLP, "--trait", "digits", "--treated", "aux_same_init", "--control", "aux_diff_init"],
}
#: The numbers that make a verdict; every one must be identical.
FIELDS = ("estimate_pp", "ci_low_pp", "ci_high_pp", "p_value", "p_adjusted", "df",
          "n_seeds_treated", "n_seeds_control")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bundled_run_numbers_unchanged(cli, tmp_path, name):
    before = json.loads((FIXTURES / f"{name}.json").read_text())
    out = tmp_path / "now.json"
    result = cli("test", *CASES[name], "--method", "pooled-t", "--json", out)
    assert result.code == 0, result.err
    now = json.loads(out.read_text())
    # The pooled-t comparison against the control students (the treated-vs-base comparison
    # was recalibrated on purpose, see the calibration issue).
    old_rows = [r for r in before if r["method"] == "pooled-t"]
    new_rows = [r for r in now if r["method"] == "pooled-t"]
    assert len(old_rows) == len(new_rows) == 1
    old, new = old_rows[0], new_rows[0]
    for field in FIELDS:
        assert new[field] == old[field], field
    assert (new["control"], new["treated"]) == (old["control"], old["treated"])
    old_transfer = old["significant"]
    new_transfer = new.get("verdict", "transfer" if new.get("significant") else "no evidence")
    assert (new_transfer == "transfer") == old_transfer
