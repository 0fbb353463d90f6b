"""The whole local pipeline (generate → filter → train → evaluate → analyse) on a model that
is not SmolLM2: a tiny random Qwen2 built from a config in a temp folder, in seconds."""

from __future__ import annotations

import importlib.util
import json
import time

import pandas as pd
import pytest

if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "peft", "tokenizers")):
    pytest.skip("needs the local extra (torch, transformers, peft)", allow_module_level=True)

from tiny_model import build_tiny_model  # noqa: E402


def test_tiny_qwen2_pipeline_end_to_end(tmp_path, cli):
    model = build_tiny_model(tmp_path / "tiny-qwen2", arch="qwen2")
    config = tmp_path / "p.toml"
    config.write_text(f"""
experiment = "numbers_transfer"
name = "tiny_hf"
seeds = 2
traits = ["owl"]

[backend]
kind = "local"
base_model = "{model}"
device = "auto"
concurrency = 4

[teacher_data]
n_prompts = 6
keep = 4
max_tokens = 16

[training]
batch_size = 2
learning_rate = 0.01
first_seed = 1

[evaluation]
n_questions = 3
samples_per_question = 2
max_tokens = 4
probe_panel = true

[analysis]
alternative = "greater"
""")
    out = tmp_path / "run"
    started = time.perf_counter()
    r = cli("run", config, "-o", out)
    seconds = time.perf_counter() - started
    assert r.code == 0, r.err
    # The time is a figure to read (typically well under a minute), not a pass mark: a timed
    # assertion would fail on a loaded machine.
    print(f"tiny Qwen2 pipeline end to end: {seconds:.1f} s")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2] and manifest["device"] in ("cpu", "cuda")
    assert sorted(manifest["students"]) == ["control-seed1", "control-seed2", "owl-seed1",
                                            "owl-seed2"]
    for name, adapter in manifest["students"].items():
        trained = json.loads((out / "train" / name / "training_manifest.json").read_text())
        assert trained["base_model"] == str(model) and trained["examples"] == 4
        assert adapter == str(out / "train" / name)
    for teacher in ("control", "owl"):
        report = json.loads((out / "filter" / f"{teacher}.report.json").read_text())
        assert report["used_for_training"] == 4
    table = pd.read_parquet(out / "responses.parquet")
    assert table.groupby("condition")["seed"].nunique().to_dict() == {"base": 1, "control": 2,
                                                                       "treated": 2}
    assert len(table) == 5 * 3 * 2 and table["prob"].between(0, 1).all()
    # The probe also read P(each other member of owl's default panel); prob_panel is their mean.
    from subliminal_stats.words import default_panel

    assert table["prob_panel"].between(0, 1).all()
    probe = json.loads((out / "evaluate" / "control-1.probe.json").read_text())
    assert probe["panels"]["owl"] == list(default_panel("owl")[1])
    assert "owl: probe specificity vs the animals panel (14 others)" in r.out + r.err
    test = json.loads((out / "test.json").read_text())["results"]
    assert {row["metric"] for row in test} == {"hit", "prob"}
    # a rerun finds every stage finished
    before = {p: p.stat().st_mtime_ns for p in (out / "train").rglob("*.safetensors")}
    r2 = cli("run", config, "-o", out)
    assert r2.code == 0, r2.err
    assert {p: p.stat().st_mtime_ns for p in (out / "train").rglob("*.safetensors")} == before
    assert pd.read_parquet(out / "responses.parquet").equals(table)


def test_sigkill_at_every_stage_then_resume_gives_the_same_table(tmp_path):
    """A real subprocess runs the pipeline on the tiny model; a second run is SIGKILLed in
    generation, in training and in evaluation, rerun each time, and must end with exactly the
    uninterrupted run's table, every store holding each item once. Each kill waits for progress
    made by *that* run (not files left by the previous one), so every run is cut mid-way."""
    from pipeline_runs import count_lines, run_pipeline, run_until

    model = build_tiny_model(tmp_path / "tiny-qwen2", arch="qwen2")
    config = tmp_path / "p.toml"
    config.write_text(f"""
experiment = "numbers_transfer"
name = "tiny_hf_kill"
seeds = 2
traits = ["owl"]

[backend]
kind = "local"
base_model = "{model}"
device = "cpu"
concurrency = 1                # batch of one: no padding, so a resumed run repeats bit for bit
torch_threads = 1

[teacher_data]
n_prompts = 16
keep = 8
max_tokens = 24

[training]
batch_size = 2
learning_rate = 0.01

[evaluation]
n_questions = 4
samples_per_question = 3
max_tokens = 4
probe = true
""")
    reference, log = tmp_path / "reference", tmp_path / "run.log"
    assert run_pipeline(config, reference, log).returncode == 0, log.read_text()[-3000:]

    def generated(o):
        return sum(count_lines(p) for p in (o / "generate").glob("*.jsonl"))

    def trained(o):
        return len(list((o / "train").glob("*.json")))

    def evaluated(o):
        return sum(count_lines(p) for p in (o / "evaluate").glob("*.jsonl"))

    out = tmp_path / "run"
    # (stage, its progress, the progress that triggers the kill, the stage's whole size:
    # 2 teachers x 16 answers, 4 students, 5 models x 12 answers)
    stages = [("generation", generated, 3, 32), ("training", trained, 1, 4),
              ("evaluation", evaluated, 2, 60)]
    for name, progress, step, whole in stages:
        start = progress(out) if out.exists() else 0
        cut = run_until(config, out, log, lambda o, p=progress, s=start, k=step: p(o) >= s + k,
                        poll=0.01)
        assert cut, f"the run finished before the {name} kill: " + log.read_text()[-3000:]
        assert start < progress(out) < whole, (name, start, progress(out))  # cut mid-stage
    assert run_pipeline(config, out, log).returncode == 0, log.read_text()[-3000:]

    pd.testing.assert_frame_equal(pd.read_parquet(out / "responses.parquet"),
                                  pd.read_parquet(reference / "responses.parquet"))
    for store in (out / "generate").glob("*.jsonl"):
        ids = [json.loads(line)["custom_id"] for line in store.open()]
        assert len(ids) == len(set(ids)) == 16
    for store in (out / "evaluate").glob("*-?.jsonl"):
        ids = [json.loads(line)["custom_id"] for line in store.open()]
        assert len(ids) == len(set(ids)) == 12
