"""``run --executor ray``: students and evaluations as Ray tasks on a local Ray cluster the test
starts (``ray.init(num_cpus=2)``) — the same responses table as the serial run, and a worker
killed mid-task is retried without redoing (or paying for) what had finished."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

if any(importlib.util.find_spec(m) is None for m in ("ray", "torch", "transformers", "peft",
                                                     "tokenizers")):
    pytest.skip("needs the ray and local extras", allow_module_level=True)

from tiny_model import build_tiny_model  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("ray") / "tiny-qwen2", arch="qwen2")


def _config(path: Path, model: Path) -> Path:
    path.write_text(f"""
experiment = "numbers_transfer"
name = "ray_tiny"
seeds = 2
traits = ["owl"]

[backend]
kind = "local"
base_model = "{model}"
device = "cpu"
concurrency = 4

[teacher_data]
n_prompts = 6
keep = 4
max_tokens = 16

[training]
batch_size = 2
learning_rate = 0.01

[evaluation]
n_questions = 2
samples_per_question = 2
max_tokens = 4
""")
    return path


def test_ray_run_gives_the_serial_table(ray_cluster, tiny, tmp_path, cli):
    config = _config(tmp_path / "p.toml", tiny)
    assert cli("run", config, "-o", tmp_path / "serial").code == 0
    r = cli("run", config, "-o", tmp_path / "ray", "--executor", "ray")
    assert r.code == 0, r.err
    serial = pd.read_parquet(tmp_path / "serial" / "responses.parquet")
    fanned = pd.read_parquet(tmp_path / "ray" / "responses.parquet")
    pd.testing.assert_frame_equal(serial, fanned)
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["executor"] == "ray"
    for name in manifest["students"]:
        a = json.loads((tmp_path / "serial" / "train" / name / "training_manifest.json").read_text())
        b = json.loads((tmp_path / "ray" / "train" / name / "training_manifest.json").read_text())
        assert a["losses"] == b["losses"] and a["job_key"] == b["job_key"]


@dataclass
class DiesOnce:
    """A LoRA trainer whose worker process dies mid-task the first time it trains ``victim``;
    every call is logged to ``calls`` (one line per call) so the test counts what was redone."""

    inner: object
    victim: str
    calls: str
    parallel = True

    def resources(self):
        return {"num_gpus": 0, "num_cpus": 1}

    def train(self, job, *, record_path, previous):
        with open(self.calls, "a") as fh:
            fh.write(job.name + "\n")
        flag = Path(self.calls + f".{job.name}.died")
        if job.name == self.victim and not flag.exists():
            flag.write_text("x")
            os._exit(1)  # the worker dies: no record is written
        return self.inner.train(job, record_path=record_path, previous=previous)


def test_a_killed_worker_is_retried_and_finished_students_are_not_redone(ray_cluster, tiny,
                                                                           tmp_path):
    from ray import cloudpickle

    from subliminal_stats.experiments.executors import RayExecutor
    from subliminal_stats.training.lora import LoraStudentTrainer
    from subliminal_stats.training.students import StudentJob, train_students

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    data = tmp_path / "t.jsonl"
    data.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Numbers {i}?"},
        {"role": "assistant", "content": f"{i}, {i + 1}, {i + 2}"}]}) + "\n" for i in range(4)))
    jobs = [StudentJob(arm, seed, data) for arm in ("control", "owl") for seed in (0, 1)]
    calls = str(tmp_path / "calls.log")
    trainer = DiesOnce(LoraStudentTrainer(base_model=str(tiny), batch_size=2, device="cpu",
                                          torch_threads=1), victim="owl-seed1", calls=calls)
    train_dir = tmp_path / "train"
    # One student finished before (an earlier, interrupted run): never trained again.
    from subliminal_stats.training.students import train_one

    train_one(jobs[0], trainer=trainer.inner, train_dir=train_dir)
    before = (train_dir / "control-seed0.json").read_text()
    models = train_students(jobs, trainer, train_dir=train_dir, executor=RayExecutor())
    assert sorted(models) == sorted(j.name for j in jobs)
    lines = Path(calls).read_text().split()
    assert sorted(lines) == ["control-seed1", "owl-seed0", "owl-seed1", "owl-seed1"]
    assert (train_dir / "control-seed0.json").read_text() == before
    assert all(json.loads((train_dir / f"{j.name}.json").read_text())["status"] == "succeeded"
               for j in jobs)
    # a rerun trains nothing
    train_students(jobs, trainer, train_dir=train_dir, executor=RayExecutor())
    assert Path(calls).read_text().split() == lines
