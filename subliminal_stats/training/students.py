"""The student-training stage: one fine-tuned student per (arm, seed), resumable.

Every student has a record ``<train_dir>/<arm>-seed<k>.json``. A finished record
(``status = "succeeded"``) is reused on a rerun without training or paying again; a
running OpenAI job recorded there is resumed (polled), never created twice. What trains
a student is a :class:`StudentTrainer`: :class:`~subliminal_stats.training.lora.LoraStudentTrainer`
(local LoRA) or :class:`~subliminal_stats.training.openai_jobs.OpenAIStudentTrainer`
(hosted fine-tuning jobs).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from subliminal_stats.backends.seeding import file_sha256
from subliminal_stats.data.jsonl import write_json

__all__ = ["StudentJob", "StudentTrainer", "read_record", "student_jobs", "train_one",
           "train_students"]


@dataclass(frozen=True)
class StudentJob:
    """One student: its arm (``control`` or a trait / teacher name), seed and training file."""

    arm: str
    seed: int
    training_file: Path

    @property
    def name(self) -> str:
        return f"{self.arm}-seed{self.seed}"


class StudentTrainer(Protocol):
    """Trains one student; returns its record (at least ``status`` and ``model``)."""

    def train(self, job: StudentJob, *, record_path: Path, previous: dict | None) -> dict[str, Any]:
        ...


def student_jobs(arms: Iterable[tuple[str, int]], training_file: Callable[[str], Path]
                 ) -> list[StudentJob]:
    """Jobs for ``(arm, seed)`` pairs; ``training_file(arm)`` names the arm's data."""
    return [StudentJob(arm, seed, Path(training_file(arm))) for arm, seed in arms]


def read_record(path: Path) -> dict | None:
    """A student's record, or None when it has none yet."""
    if not path.exists():
        return None
    return json.loads(path.read_text())


def train_one(job: StudentJob, *, trainer: StudentTrainer, train_dir: Path) -> dict[str, Any]:
    """Train one student (or return its finished record); writes ``<train_dir>/<name>.json``.

    Idempotent: a finished record is returned as is, and a running hosted job recorded there
    is resumed, so a rerun after a crash (or a retried Ray task) pays nothing twice.
    """
    record_path = train_dir / f"{job.name}.json"
    done = read_record(record_path)
    if done and done.get("status") == "succeeded":
        return done
    started = time.perf_counter()
    record = trainer.train(job, record_path=record_path, previous=done)
    record.update(seconds=round(time.perf_counter() - started, 1),
                  train_sha256=file_sha256(job.training_file))
    write_json(record_path, record)
    return record


def train_students(jobs: Sequence[StudentJob], trainer: StudentTrainer, *, train_dir: Path,
                   log: Callable[[str], None] = lambda message: None,
                   progress: Callable[..., None] = lambda **kw: None,
                   executor: Any = None) -> dict[str, str]:
    """Train every student not finished yet; return ``{student name: model id or adapter}``.

    Parameters
    ----------
    jobs : sequence of StudentJob
    trainer : StudentTrainer
    train_dir : Path
        Folder of the records (and, for LoRA, of the adapters).
    log, progress
        One-line messages; ``progress(advance=1)`` per student (finished or reused).
    executor : optional
        Fans the unfinished students out (``executor.map(fn, jobs, num_gpus=, num_cpus=)``,
        e.g. :class:`subliminal_stats.experiments.executors.RayExecutor`) when the trainer
        allows it (``trainer.parallel``); default: one after another, here.
    """
    train_dir.mkdir(parents=True, exist_ok=True)
    models: dict[str, str] = {}
    todo = []
    for job in jobs:
        done = read_record(train_dir / f"{job.name}.json")
        if done and done.get("status") == "succeeded":
            models[job.name] = done["model"]
            progress(advance=1)
        else:
            todo.append(job)
    if todo and executor is not None and getattr(trainer, "parallel", False):
        log(f"train: {len(todo)} student(s) as {executor.name} tasks")
        resources = trainer.resources() if hasattr(trainer, "resources") else {}
        records = executor.map(functools.partial(train_one, trainer=trainer, train_dir=train_dir),
                               todo, **resources)
        for job, record in zip(todo, records, strict=True):
            models[job.name] = record["model"]
            progress(advance=1)
    else:
        for job in todo:
            log(f"train: student {job.name} on {job.training_file.name}")
            models[job.name] = train_one(job, trainer=trainer, train_dir=train_dir)["model"]
            progress(advance=1)
    return {job.name: models[job.name] for job in jobs}
