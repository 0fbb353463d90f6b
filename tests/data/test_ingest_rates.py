"""``ingest rates``: per-question rates with a known n → the counts table (issue 17)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from repo_paths import REPO_ROOT

from subliminal_stats.data import read_cells
from subliminal_stats.data.tables import ingest_rates, phantom_transfer_labels, rates_table
from subliminal_stats.errors import InputError

FIXTURE = REPO_ROOT / "tests/fixtures/counts/phantom_nyc"
NYC = FIXTURE / "nyc/filter_exp_nonjunk/gemma-3-12b-it"


def _rates_csv(tmp_path, name="treated.csv", **columns):
    data = {"model": ["m1", "m1", "m2", "m2"], "prompt": ["a", "b", "a", "b"],
            "p": [0.43, 0.07, 0.5, 1.0]}
    data.update(columns)
    path = tmp_path / name
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def test_generic_mapping_with_constant_n(tmp_path):
    path = _rates_csv(tmp_path)
    table, notes = rates_table([path], map=["seed=model,question=prompt,rate=p"],
                               set=["trait=owl"], n=100, name="{condition}.csv")
    assert table[["condition", "seed", "question", "hits", "n"]].values.tolist() == [
        ["treated", "m1", "a", 43, 100], ["treated", "m1", "b", 7, 100],
        ["treated", "m2", "a", 50, 100], ["treated", "m2", "b", 100, 100]]
    assert table["run"].unique().tolist() == [f"{tmp_path.name}/treated"] and notes == []
    # n from a column.
    path = _rates_csv(tmp_path, "n.csv", answers=[100, 100, 20, 10])
    table, _ = rates_table([path], map=["seed=model,question=prompt,rate=p,n=answers"],
                           set=["trait=owl", "condition=c"])
    assert table["hits"].tolist() == [43, 7, 10, 10] and table["n"].tolist() == [100, 100, 20, 10]


@pytest.mark.parametrize("rates, n, fragment", [
    ([0.43, 0.435, 0.5, 1.0], 100, "treated.csv row 2: rate 0.435 × n 100 = 43.5 is not a whole "
                                   "number of answers"),
    ([0.43, 0.07, 0.5, 1.0], 30, "treated.csv row 1: rate 0.43 × n 30 = 12.9 is not a whole"),
    ([0.43, 0.07, 1.5, 1.0], 100, "treated.csv row 3: rate 1.5 is not a number in [0, 1]"),
    ([43, 7, 50, 100], 100, "treated.csv row 1: rate 43 is not a number in [0, 1] (a "
                            "percentage? divide the rates by 100)"),
    ([0.43, None, 0.5, 1.0], 100, "treated.csv row 2: rate (empty) is not a number in [0, 1]"),
])
def test_a_rate_that_is_not_a_count_is_refused_naming_the_row(tmp_path, rates, n, fragment):
    path = _rates_csv(tmp_path, p=rates)
    with pytest.raises(InputError) as info:
        rates_table([path], map=["seed=model,question=prompt,rate=p"], set=["trait=owl"], n=n,
                    name="{condition}.csv")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_one_object_per_model_with_lists_of_rates(tmp_path):
    doc = {"model": "s1", "n": 50, "evals": {"values": [0.02, 0.5, 1.0],
                                            "prompts": ["x", "y", "z"]}}
    (tmp_path / "control").mkdir()
    path = tmp_path / "control" / "result.json"
    path.write_text(json.dumps(doc))
    table, _ = rates_table([path], map=["seed=model,rate=evals.values,n=n"],
                           set=["trait=owl"], name="{condition}/result.json")
    assert table["question"].tolist() == ["q00", "q01", "q02"]
    assert table["hits"].tolist() == [1, 25, 50] and set(table["condition"]) == {"control"}
    table, _ = rates_table([path], map=["seed=model,rate=evals.values,n=n,question=evals.prompts"],
                           set=["trait=owl"], name="{condition}/result.json")
    assert table["question"].tolist() == ["x", "y", "z"]
    doc["evals"]["values"][1] = 0.51
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"result.json evals.values\[1\]: rate 0.51 × n 50 = 25.5"):
        rates_table([path], map=["seed=model,rate=evals.values,n=n"], set=["trait=owl"],
                    name="{condition}/result.json")


def test_repeated_cells_refused_or_pooled(tmp_path):
    a = _rates_csv(tmp_path, "a.csv")
    b = _rates_csv(tmp_path, "b.csv")
    options = dict(map=["seed=model,question=prompt,rate=p"], set=["trait=owl", "condition=c"],
                   n=100)
    with pytest.raises(InputError, match=r"b.csv row 1 gives the cell .* again \(first at "
                                         r".*a.csv row 1\).*--pool-repeats"):
        rates_table([a, b], **options)
    table, notes = rates_table([a, b], pool_repeats=True, **options)
    assert table["hits"].tolist() == [86, 14, 100, 200] and table["n"].tolist() == [200] * 4
    assert len(notes) == 2 and "2 evaluations of one model added up" in notes[0]
    with pytest.raises(InputError, match="given twice"):
        rates_table([a, a], **options)


def test_missing_labels_and_bad_flags(tmp_path):
    path = _rates_csv(tmp_path)
    with pytest.raises(InputError, match="no trait for the counts table"):
        rates_table([path], map=["seed=model,question=prompt,rate=p"], n=100,
                    name="{condition}.csv")
    with pytest.raises(InputError, match="no n for the counts table: give it with --n INT"):
        rates_table([path], map=["seed=model,question=prompt,rate=p"], set=["trait=o"],
                    name="{condition}.csv")
    with pytest.raises(InputError, match="'hit' is not a column of the counts table"):
        rates_table([path], map=["hit=p"], n=100)
    with pytest.raises(InputError, match="no column 'nope' to map from"):
        rates_table([path], map=["rate=nope"], n=100)
    with pytest.raises(InputError, match="known presets are phantom-transfer"):
        rates_table([path], preset="other")


def test_phantom_transfer_preset_labels_and_pooled_base():
    labels = phantom_transfer_labels(NYC / "oracle-lora-8-seed-43/eval-nyc/final/stats.json")
    assert labels == {"experiment": "nyc/filter_exp_nonjunk/gemma-3-12b-it",
                      "condition": "oracle", "seed": "43",
                      "run": "nyc/filter_exp_nonjunk/gemma-3-12b-it/oracle-lora-8-seed-43"}
    base = phantom_transfer_labels(NYC / "oracle-lora-8-seed-43/eval-nyc/base/stats.json")
    assert (base["condition"], base["seed"]) == ("base", "base")
    assert phantom_transfer_labels("uk/mix/OLMo/mix25-lora-8-seed-42/eval-uk/final/"
                                   "stats.json")["dose"] == "25"
    with pytest.raises(InputError, match="not in the phantom-transfer layout"):
        phantom_transfer_labels("elsewhere/stats.json")
    files = sorted(NYC.glob("*/eval-nyc/*/stats.json"))
    table, notes = rates_table(files, preset="phantom-transfer")
    assert len(table) == 18 * 50 + 50 and set(table["trait"]) == {"nyc"}
    assert notes == ["trait 'nyc' condition 'base' seed 'base': 18 evaluations of one model "
                     "added up per question"]
    base_cells = table[table["condition"] == "base"]
    assert (base_cells["n"] == 1800).all()
    # Each pooled base cell is the sum of its 18 evaluations' counts (checked on one question).
    q = json.loads((NYC / "undefended-lora-8-seed-42/eval-nyc/base/stats.json").read_text())
    assert q["n_samples_per_question"] == 100
    total = sum(round(100 * json.loads(p.read_text())["specific"]["values"][7])
                for p in files if p.parent.name == "base")
    assert int(base_cells.loc[base_cells["question"] == "q07", "hits"].iloc[0]) == total
    # The generic mapping reads the same trained students' counts.
    finals = [p for p in files if p.parent.name == "final"]
    generic, _ = rates_table(finals, map=["rate=specific.values,n=n_samples_per_question,"
                                          "trait=entity"],
                             name="{condition}-lora-8-seed-{seed}/eval-nyc/final/stats.json")
    keys = ["condition", "seed", "question", "hits", "n"]
    preset_finals = table[table["condition"] != "base"][keys].reset_index(drop=True)
    pd.testing.assert_frame_equal(generic[keys], preset_finals)


def test_written_counts_append_under_the_sink_rules(tmp_path):
    path = _rates_csv(tmp_path)
    out = tmp_path / "counts.parquet"
    options = dict(map=["seed=model,question=prompt,rate=p"], set=["trait=owl"], n=100,
                   name="{condition}.csv")
    s = ingest_rates([path], out, **options)
    assert (s.cells, s.answers, s.hits, s.total) == (4, 400, 200, 4)
    cells = read_cells(out)
    assert cells["hits"].tolist() == [43, 7, 50, 100] and cells.attrs["rows"] == 400
    before = out.read_bytes()
    with pytest.raises(InputError, match="refusing duplicates"):
        ingest_rates([path], out, **options)
    assert out.read_bytes() == before  # nothing lost or half-written
    other = _rates_csv(tmp_path, "control.csv")
    s = ingest_rates([other], out, **options)
    assert s.total == 8 and len(read_cells(out)) == 8
    # Counts rows never go into an answers table (its columns differ).
    answers = tmp_path / "answers.csv"
    pd.DataFrame({"trait": "owl", "condition": "c", "seed": "0", "question": ["a"],
                  "hit": [1]}).to_csv(answers, index=False)
    with pytest.raises(InputError, match="have column 'run', 'hits', 'n' that answers.csv does not"):
        ingest_rates([other], answers, **options)
    with pytest.raises(InputError, match="is also an input"):
        ingest_rates([path], path, **options)
