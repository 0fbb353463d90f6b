"""ingest table: a generic mapping, JSON arrays, nested fields, and lm-eval --log_samples files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from subliminal_stats.data import read_cells, read_responses
from subliminal_stats.data.tables import ingest_table
from subliminal_stats.errors import InputError


def test_generic_mapping_whole_study(tmp_path, cli):
    for condition in ("control", "treated"):
        for seed in range(2):
            rows = [{"prompt_id": f"p{q}", "correct": bool((q + seed) % (2 if condition == "treated" else 3) == 0),
                     "attempt": a} for q in range(5) for a in range(2)]
            pd.DataFrame(rows).to_csv(tmp_path / f"{condition}_seed{seed}.csv", index=False)
    out = tmp_path / "r.parquet"
    r = cli("ingest", "table", *sorted(tmp_path.glob("*.csv")), "--name", "{condition}_seed{seed}.csv",
            "--map", "question=prompt_id,hit=correct,sample=attempt", "--set", "trait=owl", "-o", out)
    assert r.code == 0, r.err
    assert "40 answers from 4 file(s)" in r.out
    table = read_responses(out)
    assert sorted(set(zip(table["condition"], table["seed"], strict=True))) == [
        ("control", "0"), ("control", "1"), ("treated", "0"), ("treated", "1")]
    assert set(table["run"]) == {f"{tmp_path.name}/{c}_seed{s}" for c in ("control", "treated")
                                 for s in (0, 1)}
    # treated seed 0 hits on q0, q2, q4 (twice each)
    sub = table[(table["condition"] == "treated") & (table["seed"] == "0")]
    assert sub["hit"].sum() == 6
    assert read_cells(out)["n"].sum() == 40


def test_json_array_nested_fields_and_errors(tmp_path):
    records = [{"meta": {"run": "r7", "q": f"q{q}"}, "score": {"correct": q % 2}, "who": "s1"}
               for q in range(4)]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(records))
    out = tmp_path / "r.csv"
    s = ingest_table([path], out, map={"question": "meta.q", "hit": "score.correct",
                                       "seed": "who", "run": "meta.run"},
                     set=["trait=owl", "condition=treated", "sample=0"])
    assert (s.added, s.hits) == (4, 2)
    assert set(read_responses(out)["run"]) == {"r7"}
    with pytest.raises(InputError, match=r"no trait for the responses table: .*--map trait=COLUMN"):
        ingest_table([path], tmp_path / "x.parquet", map={"question": "meta.q",
                                                           "hit": "score.correct", "seed": "who"},
                     set=["condition=treated"])
    with pytest.raises(InputError, match=r"no column 'nope' to map from"):
        ingest_table([path], tmp_path / "x.parquet", map={"question": "nope"})
    bad = [dict(r, score={"correct": 3}) for r in records]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"bad.json: .*column 'hit' must be 0 or 1; row 1 has 3"):
        ingest_table([tmp_path / "bad.json"], tmp_path / "x.parquet",
                     map={"question": "meta.q", "hit": "score.correct", "seed": "who"},
                     set=["trait=owl", "condition=treated", "sample=0"])
    with pytest.raises(InputError, match=r"--map 'seed': write NAME=VALUE"):
        ingest_table([path], tmp_path / "x.parquet", map=["seed"])


def _lm_eval_record(doc_id: int, filt: str, acc: float) -> dict:
    # One line of lm-evaluation-harness `--log_samples` output (samples_<task>_<date>.jsonl).
    return {"doc_id": doc_id, "doc": {"question": f"Q{doc_id}?", "answer": "owl"},
            "target": "owl", "arguments": {"gen_args_0": {"arg_0": f"Q{doc_id}?", "arg_1": {}}},
            "resps": [["Owl." if acc else "Dog."]], "filtered_resps": ["Owl." if acc else "Dog."],
            "filter": filt, "metrics": ["acc"], "doc_hash": "x", "prompt_hash": "y",
            "target_hash": "z", "acc": acc}


def test_lm_eval_samples_preset(tmp_path):
    for seed in (0, 1):
        lines = [_lm_eval_record(d, f, float((d + seed) % 3 == 0))
                 for d in range(6) for f in ("strict-match", "flexible-extract")]
        (tmp_path / f"samples_owl_seed{seed}_2025-01-01T00-00-00.jsonl").write_text(
            "\n".join(json.dumps(x) for x in lines) + "\n")
    files = sorted(tmp_path.glob("samples_*.jsonl"))
    out = tmp_path / "r.parquet"
    # Two filters per document: without --where every document would count twice.
    with pytest.raises(InputError, match=r"duplicate answer at row 2: .*question='0' sample=0"):
        ingest_table(files, tmp_path / "dup.parquet", preset="lm-eval",
                     name="samples_{trait}_seed{seed}_{}.jsonl",
                     set=["condition=treated", "sample=0"])
    assert not (tmp_path / "dup.parquet").exists()
    s = ingest_table(files, out, preset="lm-eval", name="samples_{trait}_seed{seed}_{}.jsonl",
                     set=["condition=treated", "sample=0"], where=["filter=strict-match"])
    assert s.added == 12
    table = read_responses(out)
    assert table["response"].iloc[0] in ("Owl.", "Dog.")
    assert table.groupby("seed")["hit"].sum().to_dict() == {"0": 2, "1": 2}
    assert list(table["question"].iloc[:3]) == ["0", "1", "2"]
