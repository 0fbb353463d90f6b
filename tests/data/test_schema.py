"""The responses table: validation, normalisation and round trips."""

from __future__ import annotations

import pandas as pd
import pytest
from repo_paths import EXAMPLE_CSV

from subliminal_stats.data import read_responses, select, validate_responses, write_responses
from subliminal_stats.errors import InputError


def _table(**overrides):
    base = {
        "trait": ["owl", "owl", "owl", "owl"],
        "condition": ["control", "control", "treated", "treated"],
        "seed": [1, 1, 2, 2],
        "question": ["q1", "q2", "q1", "q2"],
        "sample": [0, 0, 0, 0],
        "response": ["Eagle", "Owl", "Owl", "owls"],
        "hit": [0, 1, 1, 1],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_normalisation():
    t = validate_responses(_table(hit=[False, True, True, True]))
    assert list(t.columns[:8]) == ["experiment", "trait", "condition", "seed", "question",
                                   "sample", "response", "hit"]
    assert t["seed"].tolist() == ["1", "1", "2", "2"]
    assert t["hit"].tolist() == [0, 1, 1, 1]
    assert t["experiment"].tolist() == [""] * 4


def test_float_seeds_from_csv_print_as_integers():
    t = validate_responses(_table(seed=[1.0, 1.0, 2.0, 2.0]))
    assert t["seed"].tolist() == ["1", "1", "2", "2"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_round_trip(tmp_path, suffix):
    t = validate_responses(_table(prob=[0.1, 0.2, 0.3, 0.4]))
    path = write_responses(t, tmp_path / f"r{suffix}")
    back = read_responses(path)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), t, check_dtype=False)
    assert not list(tmp_path.glob("*.tmp"))


def test_concatenate_several_files(tmp_path):
    a = write_responses(_table(), tmp_path / "a.csv")
    b = write_responses(_table(condition=["base"] * 4, seed=[0, 0, 0, 0],
                               question=["q1", "q2", "q3", "q4"]), tmp_path / "b.parquet")
    both = read_responses([a, b])
    assert len(both) == 8
    assert set(both["condition"]) == {"control", "treated", "base"}


def test_duplicate_answers_refused():
    with pytest.raises(InputError, match=r"duplicate answer at row 2.*seed='1'"):
        validate_responses(_table(question=["q1", "q1", "q1", "q2"]))


def test_errors_name_column_row_and_fix():
    with pytest.raises(InputError, match=r"column 'hit' must be 0 or 1; row 3 has 2"):
        validate_responses(_table(hit=[0, 1, 2, 1]))
    with pytest.raises(InputError, match=r"column 'seed' has an empty value \(NaN\) at row 2"):
        validate_responses(_table(seed=[1, None, 2, 2]))
    with pytest.raises(InputError, match=r"missing column 'condition'"):
        validate_responses(_table().drop(columns="condition"))
    with pytest.raises(InputError, match=r"column 'prob' must lie in \[0, 1\]; row 4"):
        validate_responses(_table(prob=[0.1, 0.2, 0.3, 1.5]))
    with pytest.raises(InputError, match=r"column 'sample' must hold whole numbers; row 1"):
        validate_responses(_table(sample=[0.5, 0, 0, 0]))


def test_select_unknown_labels_and_empty():
    t = validate_responses(_table())
    with pytest.raises(InputError, match=r"unknown condition label 'treatd'.*control, treated"):
        select(t, conditions=["treatd"])
    with pytest.raises(InputError, match="unknown trait label 'cat'"):
        select(t, traits=["cat"])
    assert len(select(t, traits=["owl"], conditions=["treated"])) == 2


def test_bundled_example_is_valid():
    t = read_responses(EXAMPLE_CSV)
    counts = t.groupby("condition")["seed"].nunique().to_dict()
    assert counts == {"base": 1, "control": 3, "treated": 3}
    # 20 questions × 10 answers per seed
    assert t.groupby(["condition", "seed"]).size().eq(200).all()
