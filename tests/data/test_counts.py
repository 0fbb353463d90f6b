"""Counts tables (one row per cell, hits of n) read wherever a responses table is (issue 17).

The reference is the answers themselves: a counts table written from answers must give the
same cells, in the same order, and the same statistics, to the last digit.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from subliminal_stats.data import read_cells, read_responses
from subliminal_stats.data.counts import counts_to_cells, is_counts_table, rates_to_cells
from subliminal_stats.errors import InputError
from subliminal_stats.stats import cell_counts, compare, score_cells, summarize
from subliminal_stats.stats.simulation import simulate_responses


@pytest.fixture(scope="module")
def answers():
    df = simulate_responses(traits=("owl", "cat"), seeds_per_arm=4, n_questions=9,
                            answers_per_question=7, rng=11)
    df["prob"] = np.random.default_rng(2).random(len(df))
    return df


def _write(df, path):
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:  # json.dumps writes floats exactly (to_json keeps 10 digits)
        path.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict("records")))
    return path


def _counts(answers):
    """The counts table of the answers, with a score sum, as a user would write it."""
    cells = cell_counts(answers)
    prob = score_cells(answers, "prob")
    return cells.assign(experiment="simulated", prob_sum=prob["hits"].to_numpy())


def expand(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per answer from a counts table (hits ones, then n − hits zeros, per cell)."""
    rows = counts.loc[counts.index.repeat(counts["n"])].reset_index(drop=True)
    within = rows.groupby(["trait", "condition", "seed", "question"], sort=False).cumcount()
    rows["hit"] = (within < rows["hits"]).astype(int)
    rows["sample"] = within
    return rows.drop(columns=["hits", "n"])


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
@pytest.mark.parametrize("batch_rows", [1 << 20, 13])
def test_counts_read_as_the_cells_of_the_answers(tmp_path, answers, suffix, batch_rows):
    path = _write(_counts(answers), tmp_path / f"c{suffix}")
    got = read_cells(path, batch_rows=batch_rows)
    pd.testing.assert_frame_equal(got, cell_counts(answers), check_exact=True)
    assert got.attrs["rows"] == len(answers) and got.attrs["formats"] == ["counts"]
    assert got.attrs["table_rows"] == len(cell_counts(answers))
    # A score: the counts table carries its sum over the cell's answers as prob_sum.
    scored = read_cells(path, metric="prob", batch_rows=batch_rows)
    want = score_cells(answers, "prob")
    pd.testing.assert_frame_equal(scored, want, check_exact=True)


@pytest.mark.parametrize("shuffle", [False, True])
def test_statistics_identical_to_the_expanded_answers(tmp_path, answers, shuffle):
    counts = cell_counts(answers)
    if shuffle:  # cells in any order: the answers expanded in that order give the same digits
        counts = counts.sample(frac=1.0, random_state=4).reset_index(drop=True)
    rows = expand(counts)
    a = read_cells(_write(rows, tmp_path / "rows.parquet"))
    b = read_cells(_write(counts, tmp_path / "counts.csv"))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    options = dict(base="base", method="welch,pooled-t,permutation,bootstrap-bca", rng=3,
                   n_resamples=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = json.dumps([r.to_row() for r in compare(a, **options)], default=str)
        got = json.dumps([r.to_row() for r in compare(b, **options)], default=str)
    assert got == want
    pd.testing.assert_frame_equal(summarize(a), summarize(b), check_exact=True)


def test_answers_and_counts_files_together(tmp_path, answers):
    # Cells are cells: owl as answers, cat as counts gives the table of all answers.
    owl = _write(answers[answers["trait"] == "owl"], tmp_path / "owl.parquet")
    cat = _write(_counts(answers[answers["trait"] == "cat"]), tmp_path / "cat.csv")
    got = read_cells([owl, cat])
    pd.testing.assert_frame_equal(got, cell_counts(answers), check_exact=True)
    assert got.attrs["formats"] == ["answers", "counts"]
    # read_responses: the cells of both (the answer rows reduced), not answer rows.
    cells = read_responses([owl, cat])
    assert list(cells.columns) == ["trait", "condition", "seed", "question", "hits", "n"]
    pd.testing.assert_frame_equal(cells, got)
    # The same seeds as answers in one file and counts in another: two runs, refused.
    both = _write(_counts(answers[answers["trait"] == "owl"]), tmp_path / "owl_counts.csv")
    with pytest.raises(InputError, match="comes from 2 runs"):
        read_cells([owl, both])
    # ... and within one run (same run label), counted twice: refused naming the row.
    run_rows = _write(answers[answers["trait"] == "owl"].assign(run="r1"), tmp_path / "r.parquet")
    run_counts = _write(_counts(answers[answers["trait"] == "owl"]).assign(run="r1"),
                        tmp_path / "rc.csv")
    with pytest.raises(InputError, match=r"rc.csv: row 1: the cell .* is given as counts and as "
                                         r"answer rows"):
        read_cells([run_rows, run_counts])


def test_duplicate_cells_refused_in_a_run_pooled_across_runs_only_with_same_seeds(tmp_path,
                                                                                 answers):
    counts = _counts(answers)
    twice = _write(pd.concat([counts, counts.iloc[[4]]]), tmp_path / "twice.csv")
    with pytest.raises(InputError, match=rf"duplicate cell: {tmp_path}/twice.csv: rows 5 and "
                                         rf"{len(counts) + 1} both give"):
        read_cells(twice, batch_rows=7)
    a = _write(counts, tmp_path / "a.csv")
    b = _write(counts, tmp_path / "b.parquet")
    with pytest.raises(InputError, match="comes from 2 runs"):
        read_cells([a, b])
    pooled = read_cells([a, b], same_seeds=True)
    assert (pooled["n"] == 2 * cell_counts(answers)["n"]).all()


@pytest.mark.parametrize("column, value, fragment", [
    ("hits", 2.5, "column 'hits' must be a whole number of answers; row 6 has 2.5"),
    ("hits", -1, "row 6 has hits -1 of n 7: need 0 ≤ hits ≤ n"),
    ("hits", 8, "row 6 has hits 8 of n 7: need 0 ≤ hits ≤ n"),
    ("hits", None, "column 'hits' must be a whole number of answers; row 6 has an empty value"),
    ("hits", "many", "column 'hits' must be a whole number of answers; row 6 has 'many'"),
    ("n", 0, "column 'n' must be a whole number of answers ≥ 1; row 6 has 0"),
    ("n", 7.5, "column 'n' must be a whole number of answers ≥ 1; row 6 has 7.5"),
    ("n", None, "column 'n' must be a whole number of answers ≥ 1; row 6 has an empty value"),
    ("seed", None, "column 'seed' has an empty value (NaN) at row 6"),
])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_counts_one_line_naming_file_column_row(tmp_path, answers, column, value, fragment,
                                                    suffix):
    counts = _counts(answers).astype({column: object})
    counts.loc[5, column] = value
    if isinstance(value, str):  # a text column (Parquet holds one type per column)
        counts[column] = counts[column].map(lambda v: v if v is None else str(v))
    path = _write(counts, tmp_path / f"bad{suffix}")
    with pytest.raises(InputError) as info:
        read_cells(path, batch_rows=4)  # the bad row in the second batch: numbered in the file
    message = str(info.value)
    assert message.startswith(f"{path}: ") and fragment in message and "\n" not in message


def test_formats_are_not_mixed_within_one_file(tmp_path, answers):
    counts = _counts(answers)
    both = _write(counts.assign(hit=1), tmp_path / "both.csv")
    with pytest.raises(InputError, match="has both 'hit' .* and 'hits'"):
        read_cells(both)
    # A JSONL whose first lines are counts and later lines answers.
    lines = [json.dumps(r) for r in counts.drop(columns="prob_sum").head(3).to_dict("records")]
    lines += [json.dumps(r) for r in answers.drop(columns="prob").head(3).to_dict("records")]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="mixed.jsonl: rows from 4 are answers but the rows "
                                         "before are counts"):
        read_cells(mixed, batch_rows=3)
    with pytest.raises(InputError, match="no 'sample' column"):
        read_cells(_write(counts.assign(sample=0), tmp_path / "s.csv"))
    with pytest.raises(InputError, match="counts table without a 'alignment_sum' column"):
        read_cells(_write(counts, tmp_path / "c.csv"), metric="alignment")


def test_detection_by_columns():
    assert is_counts_table(["trait", "condition", "seed", "question", "hits", "n"])
    assert is_counts_table(["trait", "condition", "seed", "question", "prob_sum", "n"])
    # An answers table with a column called n stays an answers table.
    assert not is_counts_table(["trait", "condition", "seed", "question", "hit", "n"])
    assert not is_counts_table(["trait", "condition", "seed", "question", "hits"])


def test_dataframe_api_sums_or_refuses_repeats():
    t = pd.DataFrame({"trait": "nyc", "condition": "base", "seed": "base", "question": ["q1", "q1"],
                      "hits": [3, 4], "n": [100, 100]})
    assert counts_to_cells(t)[["hits", "n"]].to_dict("list") == {"hits": [7], "n": [200]}
    with pytest.raises(InputError, match="row 2: cell .* is also row 1"):
        counts_to_cells(t, repeats="refuse")
    # rate × n within 1e-6 of a whole number (absolute): 0.43 × 100 is 43.000000000000007.
    r = pd.DataFrame({"trait": "t", "condition": "c", "seed": "0", "question": ["a", "b"],
                      "rate": [0.43, 1 / 3]})
    assert rates_to_cells(r, n=300)["hits"].tolist() == [129, 100]
    with pytest.raises(InputError, match=r"row 2: rate 0\.333333 × n 300 = 99\.9999 is not a "
                                         "whole number"):
        rates_to_cells(r.assign(rate=[0.43, 0.333333]), n=300)


def test_selecting_by_a_column_the_cells_lack_is_an_input_error(tmp_path, answers):
    from subliminal_stats.data.schema import select

    cells = read_responses(_write(_counts(answers), tmp_path / "c.parquet"))
    assert len(select(cells, traits=["owl"])) == len(cell_counts(answers)) // 2
    with pytest.raises(InputError, match="no 'experiment' column"):
        select(cells, experiment="simulated")
