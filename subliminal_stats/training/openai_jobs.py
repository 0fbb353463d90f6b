"""Hosted fine-tuning of students (OpenAI or a compatible server): job orchestration.

The HTTP side (upload, create, poll, retries, cost confirmation) is
:meth:`subliminal_stats.backends.openai_backend.OpenAIBackend.fine_tune`; this module
decides *which* job to run for a student and records its id before the long wait, so an
interrupted run resumes polling the same job instead of paying for a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from subliminal_stats.backends.base import FineTuneSpec
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.training.students import StudentJob

__all__ = ["OpenAIStudentTrainer"]


@dataclass
class OpenAIStudentTrainer:
    """Fine-tunes each student as one hosted job from ``base_model``.

    Parameters
    ----------
    backend : callable
        Returns the backend with ``fine_tune(spec, job_id=, on_job_created=, progress=)``
        and ``last_job_id`` (an :class:`~subliminal_stats.backends.openai_backend.OpenAIBackend`);
        called once per student, so it may create the backend lazily.
    base_model, epochs, batch_size, learning_rate_multiplier
        The job's settings (the pipeline config's ``training`` section).
    label : str
        Prefix of the job suffix (``<label>-<arm>-seed<k>``, cut to 40 characters).
    """

    backend: Callable[[], Any]
    base_model: str
    epochs: int = 1
    batch_size: int | Literal["auto"] = "auto"
    learning_rate_multiplier: float | Literal["auto"] = "auto"
    label: str = "student"

    def spec(self, job: StudentJob) -> FineTuneSpec:
        return FineTuneSpec(training_file=job.training_file, base_model=self.base_model,
                            seed=job.seed, epochs=self.epochs, batch_size=self.batch_size,
                            learning_rate_multiplier=self.learning_rate_multiplier,
                            suffix=f"{self.label}-{job.name}"[:40])

    def train(self, job: StudentJob, *, record_path: Path, previous: dict | None) -> dict[str, Any]:
        backend = self.backend()
        pending = (previous or {}).get("job_id")

        def remember(job_id: str) -> None:  # before the wait: a rerun resumes this job
            write_json(record_path, {"status": "running", "job_id": job_id})

        model = backend.fine_tune(self.spec(job), job_id=pending, on_job_created=remember,
                                  progress=True)
        return {"status": "succeeded", "model": model, "job_id": backend.last_job_id}
