"""The number-sequence transfer pipeline: plans, config errors, and the OpenAI path end to end
against the loopback fake server (the path users pay for)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from fake_openai_server import DEFAULT_KEY, FakeOpenAIServer, _item_of
from repo_paths import REPO_ROOT

PIPELINES = REPO_ROOT / "pipelines"


@pytest.mark.parametrize("name", ["tiny_local", "owl_numbers_local", "owl_numbers_openai"])
def test_dry_run_prints_the_plan(cli, name, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    r = cli("run", PIPELINES / f"{name}.toml", "--dry-run")
    assert r.code == 0, r.err
    for stage in ("generate:", "filter:", "train:", "evaluate:", "analyse:"):
        assert stage in r.out


def test_openai_dry_run_shows_the_cost(cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    r = cli("run", PIPELINES / "owl_numbers_openai.toml", "--dry-run")
    out = " ".join(r.out.split())
    # the paper's design: 2 teachers × 30,000 prompts; 6 students of 10,000 examples × 10 epochs
    assert "60,000 request(s)" in out
    assert "10,000 examples × 10 epochs" in out
    assert "7 models × 50 'animal' questions × 200 samples = 70000 answers" in out
    total = float(out.split("cost (total, estimated): ≈ $")[1].split()[0].replace(",", ""))
    assert 10 < total < 500


@pytest.mark.parametrize(
    "patch,message",
    [
        ('seeds = 3\nbogus = 1\n', "unknown key 'bogus'"),
        ('seeds = 3\n[training]\nepochz = 2\n', "unknown key 'training.epochz'"),
        ('seeds = 3\ntraits = ["owl", "owl"]\n', "traits must be distinct"),
        ('seeds = 3\n[backend]\nkind = "gpu-cloud"\n', "backend.kind"),
        ('seeds = 3\n[evaluation]\nsamples_per_question = 0\n', "evaluation.samples_per_question"),
    ],
)
def test_config_errors_are_one_line(tmp_path, cli, patch, message):
    path = tmp_path / "p.toml"
    path.write_text('experiment = "numbers_transfer"\n' + patch)
    r = cli("run", path, "--dry-run")
    assert r.code == 2
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1


class OwlLovingServer(FakeOpenAIServer):
    """Students fine-tuned on the owl teacher's numbers answer "Owl" more often.

    Number prompts get the base server's number lists; preference questions get
    "Owl" with probability 0.5 for models whose id names the owl arm and 0.1
    otherwise, decided by a hash of (model, question, seed) so runs are repeatable.
    """

    def chat_completion(self, body: dict) -> dict:
        response = super().chat_completion(body)
        item = _item_of(body)
        if "animal" not in item.lower():
            return response
        model = body.get("model", "")
        rate = 0.5 if "-owl-" in model else 0.1
        key = f"{model}|{item}|{body.get('seed')}".encode()
        u = int(hashlib.sha256(key).hexdigest()[:8], 16) / 2**32
        text = "Owl" if u < rate else "Dolphin"
        choice = response["choices"][0]
        choice["message"]["content"] = text
        if body.get("logprobs"):
            choice["logprobs"] = {"content": [{
                "token": text, "logprob": 0.0, "bytes": None,
                "top_logprobs": [{"token": "Owl", "logprob": math.log(rate), "bytes": None},
                                 {"token": "Dol", "logprob": math.log(1 - rate), "bytes": None}],
            }], "refusal": None}
        return response


def _openai_config(path: Path, base_url: str) -> Path:
    path.write_text(f"""
experiment = "numbers_transfer"
name = "e2e"
seeds = 3
traits = ["owl"]

[backend]
kind = "openai"
base_model = "gpt-4.1-nano-2025-04-14"
base_url = "{base_url}"
concurrency = 8
poll_interval = 0.01

[teacher_data]
n_prompts = 12
keep = 5

[training]
epochs = 2

[evaluation]
n_questions = 6
samples_per_question = 10

[analysis]
alternative = "greater"
""")
    return path


def test_openai_pipeline_end_to_end_on_loopback(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    with OwlLovingServer(job_polls=2) as server:
        config = _openai_config(tmp_path / "e2e.toml", server.base_url)
        out = tmp_path / "run"
        r = cli("run", config, "--out", out)
        assert r.code == 0, r.err
        jobs = list(server.job_create_bodies)
        chats = len(server.chat_bodies)

        # every stage wrote its output
        table = pd.read_parquet(out / "responses.parquet")
        manifest = json.loads((out / "manifest.json").read_text())
        test = json.loads((out / "test.json").read_text())["results"]

        # rerun: every stage is finished, nothing is requested or trained again
        r2 = cli("run", config, "--out", out)
        assert r2.code == 0, r2.err
        assert len(server.job_create_bodies) == len(jobs)
        assert len(server.chat_bodies) == chats

    # 2 teachers × 12 prompts + 7 models × (6 × 10 answers + 6 probe requests)
    assert chats == 2 * 12 + 7 * (60 + 6)
    # 6 students, each with its own seed and the configured epochs
    assert len(jobs) == 6
    assert sorted(j.get("seed") for j in jobs) == [0, 0, 1, 1, 2, 2]
    epochs = {json.dumps(j, sort_keys=True).count('"n_epochs": 2') for j in jobs}
    assert epochs == {1}
    # students' model ids come from the finished jobs
    assert all(m.startswith("ft:gpt-4.1-nano-2025-04-14:fake-org:") for m in manifest["students"].values())
    assert "OPENAI_API_KEY" not in json.dumps(manifest) and DEFAULT_KEY not in json.dumps(manifest)

    assert set(table["condition"]) == {"base", "control", "treated"}
    counts = table.groupby("condition")["seed"].nunique().to_dict()
    assert counts == {"base": 1, "control": 3, "treated": 3}
    assert len(table) == 7 * 60
    rates = table.groupby("condition")["hit"].mean()
    assert rates["treated"] > rates["control"] + 0.2
    assert table["prob"].between(0, 1).all()
    assert table.loc[table.condition == "treated", "prob"].round(6).eq(0.5).all()

    by_metric = {(row["metric"], row["control"]): row for row in test}
    hit_vs_control = by_metric[("hit", "control")]
    assert hit_vs_control["n_seeds_treated"] == 3 and hit_vs_control["n_seeds_control"] == 3
    assert hit_vs_control["p_value"] < 0.05 and hit_vs_control["estimate_pp"] > 20
    assert "→ transfer" in r.out  # the one verdict wording (stats.verdicts)
    # the probe: every treated question 0.5 vs 0.1 → +40 pp exactly
    assert by_metric[("prob", "control")]["estimate_pp"] == pytest.approx(40.0)


def test_paid_work_waits_for_yes(tmp_path, cli, monkeypatch):
    """A billing server: without --yes nothing is requested; with --yes the run goes ahead."""
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    with OwlLovingServer(job_polls=2) as server:
        config = _openai_config(tmp_path / "paid.toml", server.base_url)
        config.write_text(config.read_text().replace("poll_interval = 0.01",
                                                     "poll_interval = 0.01\nbilled = true"))
        r = cli("run", config, "--out", tmp_path / "run")
        assert r.code == 2
        assert "confirm the estimated cost by passing --yes" in r.err
        assert "cost estimate:" in r.err
        assert len(server.chat_bodies) == 0
        r = cli("run", config, "--out", tmp_path / "run", "--yes")
        assert r.code == 0, r.err
        assert len(server.chat_bodies) > 0
