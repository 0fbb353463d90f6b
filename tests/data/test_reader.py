"""The streaming reader: the same cells and the same statistics as the in-memory path."""

from __future__ import annotations

import json
import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest

from subliminal_stats.data import read_cells, read_responses
from subliminal_stats.data.labels import LabelMergeWarning
from subliminal_stats.errors import InputError
from subliminal_stats.stats import cell_counts, compare, score_cells, summarize
from subliminal_stats.stats.simulation import simulate_responses


@pytest.fixture(scope="module")
def table():
    df = simulate_responses(traits=("owl", "cat", "dog"), seeds_per_arm=4, n_questions=12,
                            answers_per_question=6, rng=3)
    rng = np.random.default_rng(5)
    # Probe-like score, and rows in a scrambled order (order of first appearance matters).
    df["prob"] = rng.random(len(df))
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def _write(df, path):
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_json(path, orient="records", lines=True)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
@pytest.mark.parametrize("batch_rows", [1 << 20, 97])
def test_cells_identical_to_in_memory_path(tmp_path, table, suffix, batch_rows):
    path = _write(table, tmp_path / f"r{suffix}")
    streamed = read_cells(path, batch_rows=batch_rows)
    reference = cell_counts(read_responses(path))
    pd.testing.assert_frame_equal(streamed, reference, check_exact=True)
    assert streamed.attrs["rows"] == len(table)
    scored = read_cells(path, metric="prob", batch_rows=batch_rows)
    ref_scored = score_cells(read_responses(path), "prob")
    pd.testing.assert_frame_equal(scored[["trait", "condition", "seed", "question", "n"]],
                                  ref_scored[["trait", "condition", "seed", "question", "n"]])
    # Sums of a float score: the same to rounding (pandas sums with Kahan compensation).
    np.testing.assert_allclose(scored["hits"], ref_scored["hits"], rtol=1e-13, atol=0)


def test_statistics_identical_to_the_last_digit(tmp_path, table):
    # Two files, split by trait (different runs, but no seed label shared between them).
    a = _write(table[table["trait"] != "dog"], tmp_path / "a.parquet")
    b = _write(table[table["trait"] == "dog"], tmp_path / "b.jsonl")
    streamed = read_cells([a, b], batch_rows=50)
    in_memory = read_responses([a, b])
    methods = ["pooled-t", "welch", "permutation", "bootstrap-bca", "bootstrap-percentile"]
    options = dict(base="base", method=methods, n_resamples=500, rng=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [r.to_row() for r in compare(streamed, **options)]
        want = [r.to_row() for r in compare(in_memory, **options)]
    assert len(got) == len(want) == 3 * 8  # 5 methods vs control, 3 vs the one-seed base
    assert json.dumps(got, default=str) == json.dumps(want, default=str)
    pd.testing.assert_frame_equal(summarize(streamed), summarize(in_memory), check_exact=True)


def test_error_rows_count_across_batches(tmp_path, table):
    bad = table.copy()
    bad.loc[40, "hit"] = 2
    path = _write(bad, tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"bad.parquet: column 'hit' must be 0 or 1; row 41 has 2"):
        read_cells(path, batch_rows=16)
    bad = table.copy()
    bad["seed"] = bad["seed"].astype(object)
    bad.loc[30, "seed"] = None
    path = _write(bad, tmp_path / "bad.csv")
    with pytest.raises(InputError, match=r"column 'seed' has an empty value \(NaN\) at row 31"):
        read_cells(path, batch_rows=16)
    with pytest.raises(InputError, match=r"missing column 'condition'"):
        read_cells(_write(table.drop(columns="condition"), tmp_path / "m.parquet"))
    bad = table.copy()
    bad.loc[5, "prob"] = 1.5
    with pytest.raises(InputError, match=r"column 'prob' must lie in \[0, 1\]; row 6 has 1.5"):
        read_cells(_write(bad, tmp_path / "p.parquet"))
    bad = table.copy()
    bad["sample"] = bad["sample"].astype(float)
    bad.loc[7, "sample"] = 0.5
    with pytest.raises(InputError, match=r"column 'sample' must hold whole numbers; row 8 has 0.5"):
        read_cells(_write(bad, tmp_path / "s.parquet"))
    with pytest.raises(InputError, match=r"--metric 'score': no such column"):
        read_cells(_write(table, tmp_path / "ok.parquet"), metric="score")


def test_duplicate_answers_found_with_their_row(tmp_path, table):
    doubled = pd.concat([table, table.iloc[[10]]], ignore_index=True)
    path = _write(doubled, tmp_path / "d.parquet")
    r = table.iloc[10]
    for batch_rows in (1 << 20, 64):  # within one batch, and across batches
        with pytest.raises(InputError, match=rf"d.parquet: duplicate answer at row {len(doubled)}: "
                                             rf"condition='{r['condition']}' seed='{r['seed']}'"):
            read_cells(path, batch_rows=batch_rows)
    # Samples beyond 63 go the per-answer way; the message is the same.
    big = table.assign(sample=table["sample"] + 1000)
    big = pd.concat([big, big.iloc[[3]]], ignore_index=True)
    with pytest.raises(InputError, match=rf"duplicate answer at row {len(big)}"):
        read_cells(_write(big, tmp_path / "big.parquet"))


def test_identical_rows_without_sample_refused(tmp_path):
    rows = pd.DataFrame({"trait": "owl", "condition": ["control", "control", "treated"],
                         "seed": ["1", "1", "2"], "question": "q", "response": ["Owl", "Owl", "x"],
                         "hit": [1, 1, 0]})
    path = _write(rows, tmp_path / "r.csv")
    with pytest.raises(InputError, match=r"r.csv: rows 1 and 2 are identical in every column.*"
                                         r"number them in a 'sample' column"):
        read_cells(path)
    with pytest.raises(InputError, match=r"duplicate rows: rows 1 and 2 are identical"):
        read_responses(path)
    hits_only = _write(rows.drop(columns="response"), tmp_path / "h.csv")
    with pytest.raises(InputError, match=r"duplicate rows"):
        read_cells(hits_only)
    # Numbered, the same answers are fine.
    numbered = _write(rows.assign(sample=[0, 1, 0]), tmp_path / "n.csv")
    assert read_cells(numbered)["n"].tolist() == [2, 1]


def test_pooled_runs_refused_unless_same_seeds(tmp_path, table):
    a = _write(table, tmp_path / "run_a.parquet")
    b = _write(table, tmp_path / "run_b.parquet")
    with pytest.raises(InputError, match=r"comes from 2 runs .*run_a.parquet.*run_b.parquet.*"
                                         r"--same-seeds"):
        read_cells([a, b])
    pooled = read_cells([a, b], same_seeds=True)
    assert pooled["n"].sum() == 2 * len(table)
    assert pooled.attrs["pooled_runs"]
    # The same file twice is refused outright.
    with pytest.raises(InputError, match=r"is given twice"):
        read_cells([a, a], same_seeds=True)
    # A run column names the runs: labels shared by two runs in one file are refused too.
    two = pd.concat([table.assign(run="r1"), table.assign(run="r2")], ignore_index=True)
    with pytest.raises(InputError, match=r"comes from 2 runs \('r1', 'r2'"):
        read_cells(_write(two, tmp_path / "two.parquet"))


def test_seed_spellings_merge_with_a_warning(tmp_path):
    lines = [{"trait": "owl", "condition": "treated", "seed": s, "question": q, "sample": 0,
              "hit": h} for s, q, h in [(0, "q1", 1), (0.0, "q2", 0), ("0", "q3", 1),
                                        (1, "q1", 0), (1, "q2", 0), (1, "q3", 1)]]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.warns(LabelMergeWarning, match=r"column 'seed'.*'0'.*→ '0'"):
        cells = read_cells(path)
    assert sorted(set(cells["seed"])) == ["0", "1"]
    with pytest.warns(LabelMergeWarning):
        assert sorted(set(read_responses(path)["seed"])) == ["0", "1"]


def test_unicode_spellings_are_one_label(tmp_path):
    nfd = unicodedata.normalize("NFD", "café")
    rows = pd.DataFrame({"trait": "owl", "condition": ["café", nfd, "control", "control"],
                         "seed": ["1", "1", "2", "3"], "question": ["a", "b", "a", "a"],
                         "sample": 0, "hit": [1, 0, 0, 0]})
    path = _write(rows, tmp_path / "u.parquet")
    with pytest.warns(LabelMergeWarning, match="condition"):
        cells = read_cells(path)
    assert set(cells["condition"]) == {"café", "control"}
    assert cells.loc[cells["condition"] == "café", "n"].sum() == 2


def test_selection_and_file_errors(tmp_path, table):
    path = _write(table, tmp_path / "t.parquet")
    only = read_cells(path, traits=["cat"], experiment="simulated")
    assert set(only["trait"]) == {"cat"}
    with pytest.raises(InputError, match="unknown trait label 'emu'"):
        read_cells(path, traits="emu")
    with pytest.raises(InputError, match="unknown experiment label 'x'"):
        read_cells(path, experiment="x")
    with pytest.raises(InputError, match="file not found"):
        read_cells(tmp_path / "nope.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read .*junk.parquet as parquet"):
        read_cells(tmp_path / "junk.parquet")
    (tmp_path / "arr.json").write_text(json.dumps(table.head(20).to_dict("records")))
    assert read_cells(tmp_path / "arr.json")["n"].sum() == 20


def test_many_files_join_in_order(tmp_path, table):
    # Five files read two at a time and joined: the same table as the in-memory reader, in
    # the order of first appearance across the files as given (not as they finish).
    parts = np.array_split(np.arange(len(table)), 5)
    paths = [_write(table.iloc[idx].assign(run="one"), tmp_path / f"p{i}.parquet")
             for i, idx in enumerate(parts)]
    streamed = read_cells(paths[::-1], batch_rows=333)
    pd.testing.assert_frame_equal(streamed, cell_counts(read_responses(paths[::-1])),
                                  check_exact=True)
    assert streamed.attrs["sources"] == [str(p) for p in paths[::-1]]
    # The first bad file in the order given is the one named, whichever finishes first.
    bad = table.copy()
    bad.loc[3, "hit"] = 7
    late = _write(bad, tmp_path / "late_bad.parquet")
    early = _write(bad.assign(hit=bad["hit"].where(bad.index != 3, 9)),
                   tmp_path / "early_bad.parquet")
    with pytest.raises(InputError, match=r"early_bad.parquet: column 'hit' must be 0 or 1; row 4"):
        read_cells([paths[0], early, late])


def test_duplicates_and_spellings_across_files(tmp_path, table):
    # A run named in both files makes one run: an answer in both is counted twice, refused.
    first = table.iloc[:200].assign(run="r")
    second = table.iloc[199:260].assign(run="r")
    a, b = _write(first, tmp_path / "a.parquet"), _write(second, tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"duplicate answer at row 1: .*appears twice"):
        read_cells([a, b])
    # Without a sample column, identical rows in two files of one run are refused too.
    plain = pd.DataFrame({"trait": "owl", "condition": ["control", "treated"], "seed": ["1", "2"],
                          "question": "q", "run": "r", "hit": [1, 0]})
    x = _write(plain, tmp_path / "x.csv")
    y = _write(plain.iloc[[1]], tmp_path / "y.csv")
    with pytest.raises(InputError, match=r"duplicate rows: .*x.csv row 2 and .*y.csv row 1"):
        read_cells([x, y])
    # Spellings merged across files are named, as within one file.
    c = _write(plain.assign(seed=[0, 1], run="s"), tmp_path / "c.jsonl")
    d = tmp_path / "d.jsonl"
    d.write_text(json.dumps({"trait": "owl", "condition": "control", "seed": "0.0",
                             "question": "q2", "run": "s", "hit": 1}) + "\n")
    with pytest.warns(LabelMergeWarning, match=r"column 'seed'"):
        cells = read_cells([c, d])
    assert cells["seed"].tolist() == ["0", "0", "1"]


def test_progress_counts_the_files_read(tmp_path, table):
    paths = [_write(table[table["trait"] == t], tmp_path / f"{t}.parquet")
             for t in ("owl", "cat", "dog")]
    calls = []
    read_cells(paths, progress=lambda k, total: calls.append((k, total)))
    assert sorted(calls) == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    read_cells(paths[0], progress=lambda k, total: calls.append((k, total)))
    assert calls == [(1, 1)]


def test_one_parquet_file_read_in_two_halves(tmp_path, table, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from subliminal_stats.data import reader

    monkeypatch.setattr(reader, "HALVES_MIN_ROWS", 0)  # large files only, by default

    # Several row groups: the two halves are read at once and joined, the same cells.
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, row_group_size=150)
    assert pq.ParquetFile(path).metadata.num_row_groups > 2
    calls = []
    pd.testing.assert_frame_equal(read_cells(path, batch_rows=64,
                                             progress=lambda k, n: calls.append((k, n))),
                                  cell_counts(read_responses(path)), check_exact=True)
    assert calls == [(1, 1)]  # one file, once both halves are read
    # A bad row in the second half is named by its row in the file.
    bad = table.copy()
    bad.loc[len(bad) - 5, "hit"] = 3
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path, row_group_size=150)
    with pytest.raises(InputError, match=rf"column 'hit' must be 0 or 1; row {len(bad) - 4} has 3"):
        read_cells(path)
    # An answer repeated across the halves is found, with its row.
    doubled = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(doubled, preserve_index=False), path, row_group_size=150)
    with pytest.raises(InputError, match=rf"duplicate answer at row {len(doubled)}"):
        read_cells(path)
