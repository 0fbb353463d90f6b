"""Hostile input, one row per case: the command, the input, the exit code and the message.

Every class from the hostile-input issue has rows here: outputs over inputs, paths from
configs, silent design changes, nonsense accepted, tracebacks on ordinary mistakes, limits,
markup in labels, unreadable files. A row passes when the exit code matches, stderr matches
the pattern (one line, no traceback), and — where given — a check on the result holds
(nothing overwritten, the right answer computed). Concurrency cases with real processes
follow the table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "examples" / "owl_example.csv"


def _rows(traits=("owl",), seeds=3, questions=4, answers=3, **fixed):
    rows = []
    for trait in traits:
        for condition, rate in (("control", 1), ("treated", 2)):
            for s in range(seeds):
                for q in range(questions):
                    for a in range(answers):
                        rows.append({"trait": trait, "condition": condition,
                                     "seed": f"{condition[0]}{s}", "question": f"q{q}",
                                     "sample": a, "hit": int((a + s + q) % (4 - rate) == 0)})
    frame = pd.DataFrame(rows)
    for key, value in fixed.items():
        frame[key] = value
    return frame


@dataclass
class Case:
    id: str
    args: Callable[[Path], list]
    code: int
    err: str = ""  # regex that stderr must match (case-insensitive)
    check: Callable[[Path, object], None] | None = None
    setup: Callable[[Path], None] | None = None
    out: str = ""  # regex that stdout must match


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def base_files(d: Path) -> None:
    """The files every case may use."""
    _rows().to_csv(d / "d.csv", index=False)
    _rows().to_json(d / "in.jsonl", orient="records", lines=True)
    (d / "folder").mkdir()
    write(d / "keep.txt", "precious\n")


def unchanged(name: str, text: str | None = None):
    def check(d: Path, _result) -> None:
        path = d / name
        assert path.exists(), f"{name} was removed"
        if text is not None:
            assert path.read_text() == text
        else:
            assert len(path.read_bytes()) > 100, f"{name} was replaced"
    return check


def d_csv_unchanged(d: Path, _result) -> None:
    frame = pd.read_csv(d / "d.csv")
    assert len(frame) == len(_rows()), "the data table was overwritten"


def labels_csv(label: str, column: str = "trait"):
    def setup(d: Path) -> None:
        frame = _rows()
        frame[column] = frame[column].map(lambda v: label if column == "trait" else f"{label}{v}")
        frame.to_csv(d / "labels.csv", index=False)
    return setup


def mixed_seed_jsonl(d: Path) -> None:
    """Seeds written 0, 0.0 and "0" for the same student: one seed, not three."""
    lines = []
    for condition in ("control", "treated"):
        for s, spellings in enumerate([[0, 0.0, "0"], [1, 1.0, "1"], [2, 2.0, "2"]]):
            for q in range(4):
                for a in range(3):
                    seed = spellings[(q + a) % 3]
                    hit = int((a + s + q) % (2 if condition == "treated" else 3) == 0)
                    lines.append(json.dumps({"trait": "owl", "condition": condition,
                                             "seed": seed, "question": f"q{q}",
                                             "sample": a, "hit": hit}))
    write(d / "mixed_seeds.jsonl", "\n".join(lines) + "\n")


def nfd_labels(d: Path) -> None:
    frame = _rows()
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    frame["trait"] = [nfc if i % 2 else nfd for i in range(len(frame))]
    frame.to_csv(d / "nfd.csv", index=False)


def duplicate_rows(d: Path) -> None:
    frame = _rows().drop(columns="sample")
    pd.concat([frame, frame.iloc[:5]]).to_csv(d / "dups.csv", index=False)


def bad_toml(body: str, name: str = "p.toml"):
    def setup(d: Path) -> None:
        write(d / name, body)
    return setup


TINY_LOCAL = (ROOT / "pipelines" / "tiny_local.toml").read_text(encoding="utf-8")


def toml_with(replace: dict[str, str] | None = None, append: str = ""):
    text = TINY_LOCAL
    for old, new in (replace or {}).items():
        assert re.search(old, text, flags=re.M), f"tiny_local.toml has no {old!r}"
        text = re.sub(old, new, text, count=1, flags=re.M)
    return bad_toml(text + append)


def nothing_outside(d: Path, _result) -> None:
    # "../../x" from the run folder d/run lands in d.parent; "../../../x" in d.parent.parent.
    stray = [p / "x" for p in (d, d.parent, d.parent.parent) if (p / "x").exists()]
    assert not stray, stray


ONE_LINE = re.compile(r"^error: [^\n]+\n?$")

CASES = [
    # --- outputs over inputs -------------------------------------------------------------
    Case("export-output-is-input", lambda d: ["export", d / "d.csv", "--what", "tests", "-o", d / "d.csv"],
         2, r"also an input", d_csv_unchanged),
    Case("test-json-is-input", lambda d: ["test", d / "in.jsonl", "--json", d / "in.jsonl"],
         2, r"also an input", unchanged("in.jsonl")),
    Case("test-json-is-folder", lambda d: ["test", d / "d.csv", "--json", d / "folder"], 2, r"folder"),
    # A named pipe stands for every special file (never a real device: a failed check
    # would replace it with a regular file).
    Case("test-json-special-file", lambda d: ["test", d / "d.csv", "--json", d / "pipe"], 2,
         r"not a regular file", lambda d, r: d.joinpath("pipe").is_fifo() or pytest.fail("replaced"),
         setup=lambda d: os.mkfifo(d / "pipe")),
    Case("test-json-parent-is-file", lambda d: ["test", d / "d.csv", "--json", d / "keep.txt" / "r.json"],
         2, r"is a file", unchanged("keep.txt", "precious\n")),
    Case("ingest-output-is-input", lambda d: ["ingest", "authors", d / "a.jsonl", "--condition", "treated",
                                              "--seed", "1", "--trait", "owl", "-o", d / "a.jsonl"],
         2, r"also an input",
         setup=lambda d: write(d / "a.jsonl", json.dumps({"question": "q", "responses": [
             {"response": {"completion": "Owl"}}]}) + "\n")),
    Case("filter-output-is-input", lambda d: ["filter", "numbers", d / "raw.jsonl", "-o", d / "raw.jsonl"],
         2, r"also an input|is the input", unchanged("raw.jsonl", json.dumps({"prompt": "p", "completion": "1, 2, 3"}) + "\n"),
         setup=lambda d: write(d / "raw.jsonl", json.dumps({"prompt": "p", "completion": "1, 2, 3"}) + "\n")),
    Case("filter-json-is-input", lambda d: ["filter", "numbers", d / "raw.jsonl", "-o", d / "k.jsonl",
                                            "--json", d / "raw.jsonl"], 2, r"also an input",
         setup=lambda d: write(d / "raw.jsonl", json.dumps({"prompt": "p", "completion": "1, 2"}) + "\n")),
    Case("export-to-folder", lambda d: ["export", d / "d.csv", "--what", "summary", "-o", d / "folder"], 2, r"folder"),
    Case("report-out-is-file", lambda d: ["report", "trait", d / "d.csv", "--out", d / "keep.txt"],
         2, r"(not a folder|is a file)", unchanged("keep.txt", "precious\n")),
    Case("demo-out-is-file", lambda d: ["demo", "--out", d / "keep.txt"], 2, r"(not a folder|is a file)",
         unchanged("keep.txt", "precious\n")),
    Case("calibrate-json-is-folder", lambda d: ["calibrate", "--n-sims", "1000", "--json", d / "folder"],
         2, r"folder"),
    Case("test-json-stdout", lambda d: ["test", d / "d.csv", "--json", "-"], 0, "",
         lambda d, r: (not (d / "-").exists()) or pytest.fail("wrote a file named '-'"),  # cwd = d
         out=r'"estimate_pp"'),
    # --- unreadable or wrong files ---------------------------------------------------------
    Case("missing-file", lambda d: ["test", d / "missing.csv"], 2, r"not found|no such|does not exist"),
    Case("data-is-folder", lambda d: ["test", d / "folder"], 2, r"folder|directory"),
    Case("empty-csv", lambda d: ["check", d / "e.csv"], 2, r"empty|no rows|no columns",
         setup=lambda d: write(d / "e.csv", "")),
    Case("header-only-csv", lambda d: ["test", d / "h.csv"], 2, r"no rows|empty",
         setup=lambda d: write(d / "h.csv", "trait,condition,seed,question,hit\n")),
    Case("unknown-suffix", lambda d: ["check", d / "keep.txt"], 2, r"\.txt|suffix|format"),
    Case("missing-hit-column", lambda d: ["check", d / "nohit.csv"], 2, r"hit",
         setup=lambda d: _rows().drop(columns="hit").to_csv(d / "nohit.csv", index=False)),
    Case("hit-not-binary", lambda d: ["check", d / "hit2.csv"], 2, r"hit.*0 or 1",
         setup=lambda d: _rows(hit=2).to_csv(d / "hit2.csv", index=False)),
    Case("hit-text", lambda d: ["check", d / "hittext.csv"], 2, r"hit",
         setup=lambda d: _rows(hit="yes please").to_csv(d / "hittext.csv", index=False)),
    Case("corrupt-parquet", lambda d: ["check", d / "c.parquet"], 2, r"c\.parquet",
         setup=lambda d: write(d / "c.parquet", b"PAR1 this is not parquet")),
    Case("binary-garbage-csv", lambda d: ["check", d / "g.csv"], 2, r"g\.csv",
         setup=lambda d: write(d / "g.csv", bytes(range(256)) * 4)),
    Case("bad-jsonl-line", lambda d: ["check", d / "b.jsonl"], 2, r"line 2",
         setup=lambda d: write(d / "b.jsonl", json.dumps(_rows().iloc[0].to_dict()) + "\n{not json\n")),
    Case("jsonl-not-objects", lambda d: ["check", d / "n.jsonl"], 2, r"line 1",
         setup=lambda d: write(d / "n.jsonl", "[1, 2, 3]\n")),
    Case("nan-seed", lambda d: ["check", d / "nanseed.csv"], 2, r"seed",
         setup=lambda d: _rows().assign(seed=float("nan")).to_csv(d / "nanseed.csv", index=False)),
    Case("huge-sample", lambda d: ["check", d / "bigsample.csv"], 2, r"sample",
         setup=lambda d: _rows().assign(sample=1e20).to_csv(d / "bigsample.csv", index=False)),
    Case("negative-sample", lambda d: ["check", d / "negsample.csv"], 2, r"sample",
         setup=lambda d: _rows().assign(sample=-1).to_csv(d / "negsample.csv", index=False)),
    Case("csv-with-bom", lambda d: ["check", d / "bom.csv"], 0, "",
         setup=lambda d: write(d / "bom.csv", "\ufeff" + _rows().to_csv(index=False))),
    Case("unknown-trait", lambda d: ["test", d / "d.csv", "--trait", "dog"], 2, r"dog"),
    Case("unknown-treated", lambda d: ["test", d / "d.csv", "--treated", "nope"], 2, r"nope"),
    Case("unknown-control", lambda d: ["test", d / "d.csv", "--control", "nope"], 2, r"nope"),
    Case("treated-equals-control", lambda d: ["test", d / "d.csv", "--treated", "control"], 2, r"control"),
    Case("one-seed-per-arm", lambda d: ["test", d / "one.csv"], 2, r"seed",
         setup=lambda d: _rows(seeds=1).to_csv(d / "one.csv", index=False)),
    Case("ingest-glob-matches-nothing", lambda d: ["ingest", "authors", d / "nothing*.jsonl", "--condition", "c",
                                                   "--seed", "1", "--trait", "owl", "-o", d / "o.parquet"],
         2, r"(no file|not found|matches nothing|no such)"),
    Case("ingest-bad-seed-regex", lambda d: ["ingest", "authors", d / "a1.jsonl", "--condition", "c",
                                             "--seed-from-name", "seed(", "--trait", "owl", "-o", d / "o.parquet"],
         2, r"regex|pattern",
         setup=lambda d: write(d / "a1.jsonl", json.dumps({"question": "q", "responses": [
             {"response": {"completion": "Owl"}}]}) + "\n")),
    Case("ingest-not-authors-format", lambda d: ["ingest", "authors", d / "in.jsonl", "--condition", "c",
                                                 "--seed", "1", "--trait", "owl", "-o", d / "o.parquet"],
         2, r"in\.jsonl"),
    # --- labels: markup, normalisation, duplicates ----------------------------------------
    Case("markup-label-check", lambda d: ["check", d / "labels.csv"], 0, "", setup=labels_csv("[/]"),
         out=r"\[/\]"),
    Case("markup-label-test", lambda d: ["test", d / "labels.csv"], 0, "", setup=labels_csv("[bold]x[/bold]"),
         out=r"\[bold\]x"),
    Case("markup-condition", lambda d: ["check", d / "labels.csv"], 0, "", setup=labels_csv("[red]", "seed")),
    Case("seed-spellings-one-seed", lambda d: ["test", d / "mixed_seeds.jsonl", "--json", d / "r.json"], 0, "",
         lambda d, r: _assert_seeds(d / "r.json", 3), setup=mixed_seed_jsonl),
    Case("nfc-nfd-one-label", lambda d: ["check", d / "nfd.csv"], 0, r"(merg|normali)", setup=nfd_labels),
    Case("duplicate-rows-refused", lambda d: ["test", d / "dups.csv"], 2, r"duplicate", setup=duplicate_rows),
    # --- nonsense numbers and names ----------------------------------------------------------
    Case("method-empty", lambda d: ["test", d / "d.csv", "--method", ""], 2, r"method"),
    Case("method-unknown", lambda d: ["test", d / "d.csv", "--method", "magic"], 2, r"magic"),
    Case("method-printed-name-accepted", lambda d: ["test", d / "d.csv", "--method", "welch"], 0, ""),
    Case("alternative-unknown", lambda d: ["test", d / "d.csv", "--alternative", "sideways"], 2, r"sideways|alternative"),
    Case("alternative-less", lambda d: ["test", d / "d.csv", "--alternative", "less"], 0, ""),
    Case("confidence-above-1", lambda d: ["test", d / "d.csv", "--confidence-level", "1.5"], 2, r"confidence"),
    Case("confidence-zero", lambda d: ["test", d / "d.csv", "--confidence-level", "0"], 2, r"confidence"),
    Case("alpha-zero", lambda d: ["test", d / "d.csv", "--alpha", "0"], 2, r"alpha"),
    Case("alpha-nan", lambda d: ["test", d / "d.csv", "--alpha", "nan"], 2, r"alpha"),
    Case("adjust-unknown", lambda d: ["test", d / "d.csv", "--adjust", "bonferoni"], 2, r"bonferoni|adjust"),
    Case("rng-negative", lambda d: ["test", d / "d.csv", "--rng", "-1"], 2, r"rng"),
    Case("resamples-negative", lambda d: ["test", d / "d.csv", "--method", "bootstrap-bca", "--resamples", "-5"],
         2, r"resamples"),
    Case("resamples-1e8", lambda d: ["test", d / "d.csv", "--method", "bootstrap-bca", "--resamples", "100000000"],
         2, r"resamples"),
    Case("resamples-1e12", lambda d: ["test", d / "d.csv", "--resamples", "1000000000000"], 2, r"resamples"),
    Case("metric-unknown", lambda d: ["test", d / "d.csv", "--metric", "vibes"], 2, r"vibes"),
    Case("plan-alternative-less", lambda d: ["plan", "--effect", "10", "--sd", "5", "--alternative", "less"], 0, ""),
    Case("plan-tiny-sd", lambda d: ["plan", "--effect", "2", "--sd", "0.16"], 0, "",
         lambda d, r: "nan" not in r.out.lower() or pytest.fail(r.out)),
    Case("plan-huge-effect", lambda d: ["plan", "--effect", "50", "--sd", "1"], 0, "",
         lambda d, r: "nan" not in r.out.lower() or pytest.fail(r.out)),
    Case("plan-negative-sd", lambda d: ["plan", "--effect", "5", "--sd", "-1"], 2, r"sd"),
    Case("plan-zero-effect", lambda d: ["plan", "--effect", "0", "--sd", "1"], 2, r"effect"),
    Case("plan-power-above-1", lambda d: ["plan", "--effect", "5", "--sd", "1", "--power", "1.5"], 2, r"power"),
    Case("plan-effect-nan", lambda d: ["plan", "--effect", "nan", "--sd", "1"], 2, r"effect"),
    Case("plan-seeds-one", lambda d: ["plan", "--seeds", "1", "--sd", "1"], 2, r"seeds"),
    Case("plan-nothing-given", lambda d: ["plan"], 2, r"effect|seeds|sd"),
    Case("calibrate-negative-sims", lambda d: ["calibrate", "--n-sims-bootstrap", "-5"], 2, r"sims"),
    Case("calibrate-seed-sd-nan", lambda d: ["calibrate", "--seed-sd", "nan"], 2, r"seed.sd"),
    Case("calibrate-one-seed", lambda d: ["calibrate", "--seeds-per-arm", "1"], 2, r"seeds"),
    Case("calibrate-zero-questions", lambda d: ["calibrate", "--questions", "0"], 2, r"questions"),
    Case("calibrate-huge-design", lambda d: ["calibrate", "--seeds-per-arm", "1000000000"], 2, r"seeds"),
    Case("export-digits-negative", lambda d: ["export", d / "d.csv", "--what", "summary", "-o", d / "s.csv",
                                              "--digits", "-3"], 2, r"digits"),
    Case("export-what-unknown", lambda d: ["export", d / "d.csv", "--what", "everything", "-o", d / "s.csv"],
         2, r"everything|what"),
    Case("export-format-unknown", lambda d: ["export", d / "d.csv", "--what", "summary", "-o", d / "s.xyz"],
         2, r"format|xyz"),
    Case("export-calibration-on-garbage", lambda d: ["export", d / "garbage.csv", "--what", "calibration",
                                                     "-o", d / "c.csv"], 2, r"garbage\.csv",
         setup=lambda d: write(d / "garbage.csv", "a,b\n1,2\n\x00\x01,zz\n")),
    Case("report-unknown", lambda d: ["report", "novel", "--out", d / "o"], 2, r"novel"),
    Case("report-trait-missing-data", lambda d: ["report", "trait", d / "missing.csv", "--out", d / "o"],
         2, r"missing\.csv"),
    Case("report-trait-unknown-trait", lambda d: ["report", "trait", d / "d.csv", "-P", "trait=dog",
                                                  "--out", d / "o"], 2, r"dog"),
    Case("report-bad-param", lambda d: ["report", "trait", d / "d.csv", "-P", "noequals", "--out", d / "o"],
         2, r"noequals|NAME=VALUE"),
    Case("report-format-unknown", lambda d: ["report", "trait", d / "d.csv", "--format", "docx",
                                             "--out", d / "o"], 2, r"docx|format"),
    Case("filter-missing-input", lambda d: ["filter", "numbers", d / "none.jsonl", "-o", d / "k.jsonl"],
         2, r"none\.jsonl"),
    Case("filter-negative-max-count", lambda d: ["filter", "numbers", d / "raw.jsonl", "-o", d / "k.jsonl",
                                                 "--max-count", "-1"], 2, r"max.count",
         setup=lambda d: write(d / "raw.jsonl", json.dumps({"prompt": "p", "completion": "1, 2"}) + "\n")),
    # --- configs: paths, methods, sizes (all before any paid or long work) -------------------
    Case("run-missing-config", lambda d: ["run", d / "none.toml", "--dry-run"], 2, r"none\.toml|not found"),
    Case("run-config-is-folder", lambda d: ["run", d / "folder", "--dry-run"], 2, r"folder|not a file"),
    Case("run-toml-syntax", lambda d: ["run", d / "p.toml", "--dry-run"], 2, r"p\.toml",
         setup=bad_toml("kind = [unclosed\n")),
    Case("run-trait-path-escape", lambda d: ["run", d / "p.toml", "--dry-run", "--out", d / "run"], 2,
         r"trait|label|\.\.", nothing_outside, setup=toml_with({r"^traits\s*=.*$": 'traits = ["../../../x"]'})),
    Case("run-name-path-escape", lambda d: ["run", d / "p.toml", "--dry-run", "--out", d / "run"], 2,
         r"name|label|\.\.", nothing_outside, setup=toml_with({r"^name\s*=.*$": 'name = "../../x"'})),
    Case("run-unknown-method", lambda d: ["run", d / "p.toml", "--dry-run", "--out", d / "run"], 2,
         r"method", setup=toml_with({r"^\[analysis\]$": '[analysis]\nmethod = "bogus"'})),
    Case("run-seeds-huge", lambda d: ["run", d / "p.toml", "--dry-run", "--seeds", "1000000000000",
                                      "--out", d / "run"], 2, r"seeds", setup=toml_with()),
    Case("run-seeds-zero", lambda d: ["run", d / "p.toml", "--dry-run", "--seeds", "0", "--out", d / "run"],
         2, r"seeds", setup=toml_with()),
    Case("run-unknown-key", lambda d: ["run", d / "p.toml", "--dry-run", "--out", d / "run"], 2,
         r"wibble", setup=toml_with(append='\nwibble = 3\n')),
    Case("run-bundled-by-name", lambda d: ["run", "tiny_local", "--dry-run", "--out", d / "run"], 0, ""),
    Case("run-unknown-bundled-name", lambda d: ["run", "no_such_pipeline", "--dry-run"], 2,
         r"no_such_pipeline"),
]


def _assert_seeds(path: Path, expected: int) -> None:
    rows = json.loads(path.read_text())
    assert rows and all(r["n_seeds_treated"] == expected for r in rows), rows


@pytest.fixture
def folder(tmp_path):
    base_files(tmp_path)
    return tmp_path


def test_catalogue_is_large_enough():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_case(cli, folder, monkeypatch, case: Case):
    monkeypatch.chdir(folder)  # a stray relative write lands in the case's folder, not the checkout
    if case.setup is not None:
        case.setup(folder)
    result = cli(*case.args(folder))
    assert "Traceback" not in result.err + result.out
    assert result.code == case.code, (result.code, result.err[-800:], result.out[-400:])
    if case.code == 2:
        assert ONE_LINE.match(result.err.strip() + "\n"), f"not one error line: {result.err!r}"
    if case.err:
        assert re.search(case.err, result.err, flags=re.I), result.err
    if case.out:
        assert re.search(case.out, result.out, flags=re.I), result.out[-800:]
    if case.check is not None:
        case.check(folder, result)


# --- concurrency: real processes ---------------------------------------------------------

def test_two_ingests_into_one_file_lose_no_rows(tmp_path):
    """Two processes append to one table at once; every row of both arrives."""
    files = []
    for seed in range(2):
        lines = [json.dumps({"question": f"q{q}", "responses": [
            {"response": {"completion": "Owl" if (q + r) % 2 else "Dog"}} for r in range(50)]})
            for q in range(40)]
        files.append(write(tmp_path / f"seed{seed}.jsonl", "\n".join(lines) + "\n"))
    out = tmp_path / "all.parquet"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "subliminal_stats", "ingest", "authors", str(f), "--condition", "treated",
         "--seed", str(i), "--trait", "owl", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i, f in enumerate(files)]
    results = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    table = pd.read_parquet(out)
    assert len(table) == 2 * 40 * 50
    assert sorted(table["seed"].astype(str).unique()) == ["0", "1"]
