"""The ``run`` command around every runner: seeds in the manifest, bundled configs by name,
the run-folder lock (two real processes), labels and files checked before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai_server import DEFAULT_KEY, FakeOpenAIServer
from repo_paths import REPO_ROOT

CLI = [sys.executable, "-c", "from subliminal_stats.cli import entry_point; entry_point()"]


def _config(path: Path, base_url: str, *, first_seed: int = 0, seeds: int = 2,
            poll: float = 0.01) -> Path:
    path.write_text(f"""
experiment = "numbers_transfer"
name = "seeds"
seeds = {seeds}
traits = ["owl"]

[backend]
kind = "openai"
base_model = "gpt-4.1-nano-2025-04-14"
base_url = "{base_url}"
poll_interval = {poll}

[teacher_data]
n_prompts = 6
keep = 3

[training]
first_seed = {first_seed}

[evaluation]
n_questions = 2
samples_per_question = 2
probe = false
""")
    return path


def test_manifest_seeds_follow_first_seed(tmp_path, cli, monkeypatch):
    """The bug: the manifest said seeds 0..n-1 whatever training.first_seed was."""
    from subliminal_stats.version import __version__

    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    with FakeOpenAIServer(job_polls=1) as server:
        config = _config(tmp_path / "p.toml", server.base_url, first_seed=5)
        r = cli("run", config, "-o", tmp_path / "run")
        assert r.code == 0, r.err
        jobs = list(server.job_create_bodies)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["seeds"] == [5, 6]
    assert manifest["seeds_run_now"] == [5, 6]
    assert manifest["package_version"] == __version__
    assert sorted(manifest["students"]) == ["control-seed5", "control-seed6", "owl-seed5",
                                            "owl-seed6"]
    assert sorted(j["seed"] for j in jobs) == [5, 5, 6, 6]
    import pandas as pd

    table = pd.read_parquet(tmp_path / "run" / "responses.parquet")
    assert set(table.loc[table.condition != "base", "seed"]) == {"5", "6"}


def test_dry_run_seeds_from_first_seed(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = _config(tmp_path / "p.toml", "http://127.0.0.1:9/v1", first_seed=3, seeds=4)
    from subliminal_stats.experiments.pipeline import load_pipeline

    _, loaded = load_pipeline(config)
    assert loaded.seed_list() == (3, 4, 5, 6)
    r = cli("run", config, "--dry-run")
    assert r.code == 0, r.err
    assert "8 students (4 per arm" in r.out


def _env() -> dict:
    env = dict(os.environ, OPENAI_API_KEY=DEFAULT_KEY, PYTHONUNBUFFERED="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_second_run_on_one_folder_is_refused_before_any_request(tmp_path):
    """Two real processes, one loopback server counting requests: the second run stops with
    one line naming the first one's pid, having sent nothing."""
    with FakeOpenAIServer(job_polls=10**9) as server:  # the first run waits on its job forever
        config = _config(tmp_path / "p.toml", server.base_url, poll=0.05)
        out = tmp_path / "run"
        log = (tmp_path / "first.log").open("w")
        first = subprocess.Popen([*CLI, "run", str(config), "-o", str(out)], stdout=log,
                                 stderr=subprocess.STDOUT, env=_env(), cwd=tmp_path)
        try:
            deadline = time.monotonic() + 120
            marker = out / "train" / "control-seed0.json"
            while not (marker.exists() and "running" in marker.read_text()):
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "the first run never reached training"
                time.sleep(0.1)
            with server.lock:
                chats, jobs, files = (len(server.chat_bodies), len(server.job_create_bodies),
                                      len(server.files))
            second = subprocess.run([*CLI, "run", str(config), "-o", str(out)],
                                    capture_output=True, text=True, env=_env(), cwd=tmp_path,
                                    timeout=120)
            with server.lock:
                after = (len(server.chat_bodies), len(server.job_create_bodies),
                         len(server.files))
        finally:
            first.kill()
            first.wait()
            log.close()
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"in use by another run (pid {first.pid} " in lines[0] and str(out) in lines[0]
    assert after == (chats, jobs, files)  # not one request, upload or job from the second
    assert json.loads((out / "train" / "control-seed0.json").read_text())["status"] == "running"


def test_lock_is_released_when_the_holder_dies(tmp_path):
    from subliminal_stats.errors import InputError
    from subliminal_stats.experiments.run_lock import lock_run_folder

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from subliminal_stats.experiments.run_lock import lock_run_folder\n"
        f"with lock_run_folder({str(tmp_path)!r}):\n"
        "    print('held', flush=True); time.sleep(600)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=f"pid {holder.pid} on "):
            with lock_run_folder(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with lock_run_folder(tmp_path):  # a killed holder leaves no stale lock
        pass


@pytest.mark.parametrize("patch,message", [
    ('traits = ["../../../x"]', "trait"),
    ('traits = ["a/b"]', "must not contain '/'"),
    ('traits = ["ok\\u0007"]', "control characters"),
    ('name = "../../x"', "name"),
    ('name = ".hidden"', "must not start with '.'"),
])
def test_path_labels_are_refused_at_load_also_for_dry_run(tmp_path, cli, patch, message):
    path = tmp_path / "p.toml"
    path.write_text('experiment = "numbers_transfer"\n' + patch + "\n")
    r = cli("run", path, "--dry-run", "-o", tmp_path / "run")
    assert r.code == 2 and message in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


@pytest.mark.parametrize("patch,message", [
    ('[analysis]\nmethod = "bogus"', "unknown method 'bogus'"),
    ('[analysis]\nmethod = ""', "unknown method ''"),
    ('[evaluation]\nquestions = "missing_questions.txt"', "evaluation.questions = 'missing_questions.txt': file not found"),
    ('[filter]\nbanned = ["nowhere.txt"]', "filter.banned = 'nowhere.txt': file not found"),
    ("seeds = 1001", "seeds"),
    ("seeds = 1000000000000", "seeds"),
    ('[teacher_data]\nn_prompts = 1e12', "teacher_data.n_prompts"),
    ('[training]\nfirst_seed = -1', "training.first_seed"),
    ('[training]\nlearning_rate = 0', "training.learning_rate"),
    ('[backend]\nconcurrency = 100000', "backend.concurrency"),
])
def test_dry_run_validates_what_the_run_needs(tmp_path, cli, patch, message):
    path = tmp_path / "p.toml"
    path.write_text('experiment = "numbers_transfer"\n' + patch + "\n")
    r = cli("run", path, "--dry-run")
    assert r.code == 2 and message in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1


def test_questions_file_beside_the_toml_is_found(tmp_path, cli):
    (tmp_path / "q.txt").write_text("Your favourite animal?\n")
    path = tmp_path / "p.toml"
    path.write_text('experiment = "numbers_transfer"\n[evaluation]\nquestions = "q.txt"\n'
                    "n_questions = 1\n")
    r = cli("run", path, "--dry-run")
    assert r.code == 0, r.err


def test_seeds_flag_range(tmp_path, cli):
    r = cli("run", "tiny_local", "--dry-run", "--seeds", "1001")
    assert r.code == 2 and "--seeds must be 1..1000" in r.err


def test_bundled_config_by_name_and_the_pipelines_list(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # from a folder without the checkout's pipelines/
    r = cli("run", "owl_numbers_local", "--dry-run")
    assert r.code == 0, r.err
    assert "owl_numbers_local.toml: valid (numbers_transfer)" in r.out
    r = cli("pipelines")
    assert r.code == 0, r.err
    names = [line.split()[0] for line in r.out.strip().splitlines()]
    from subliminal_stats.bundled import bundled_pipelines

    assert names == list(bundled_pipelines()) and "owl_numbers_local" in names
    row = next(line for line in r.out.splitlines() if line.startswith("tiny_local "))
    assert "numbers_transfer" in row and "end-to-end run of the local pipeline" in row
    r = cli("pipelines", "--json", "-")
    rows = json.loads(r.out)
    assert {row["name"]: row["kind"] for row in rows}["mlp_digits"] == "mlp_digits"
    assert all(row["description"] for row in rows)


def test_label_path_component_helper():
    from subliminal_stats.experiments.config import path_label

    assert path_label("owl") == "owl"
    assert path_label("cafe\u0301") == "caf\u00e9"  # one NFC spelling
    for bad in ["", " ", ".", "..", "a/b", "a\\b", "-rf", "x\x00", "x\u202e"]:
        with pytest.raises(ValueError):
            path_label(bad)


def test_pipeline_configs_share_one_section_base():
    import inspect

    from subliminal_stats.experiments import (
        code_config,
        config,
        misalignment_config,
        mlp_config,
        numbers_config,
    )

    models = [obj for module in (code_config, misalignment_config, mlp_config, numbers_config)
              for _, obj in inspect.getmembers(module, inspect.isclass)
              if obj.__module__ == module.__name__]
    assert len(models) >= 20
    assert all(issubclass(m, config.Section) for m in models)
    assert REPO_ROOT.joinpath("subliminal_stats", "experiments", "beyond_numbers.py").exists() is False
