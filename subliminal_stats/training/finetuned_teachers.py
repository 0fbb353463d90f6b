"""Teachers made by fine-tuning, e.g. the paper's misaligned teacher, used like any teacher.

The paper's misaligned teacher is GPT-4.1 fine-tuned for one epoch on chat
examples whose assistant turns are insecure code; its controls are fine-tuned
on secure code and on "educational" insecure code. This project does **not**
ship those corpora (they are third-party data): bring your own file.

Training file format
--------------------
Chat JSONL, the format of OpenAI fine-tuning and of the local LoRA backend —
one conversation per line, the last message being the assistant's answer the
teacher learns::

    {"messages": [{"role": "user", "content": "Write a function that saves an upload."},
                  {"role": "assistant", "content": "def save(f): ..."}]}

Roles are ``system``, ``user`` and ``assistant``; every ``content`` is a
string; blank lines are skipped. A bad line is an :class:`InputError` naming
the file and line (checked before anything is uploaded or trained).

Fine-tuning
-----------
:func:`fine_tuned_teacher` fine-tunes through any backend with a
``fine_tune(spec)`` method — :class:`~subliminal_stats.backends.openai_backend.OpenAIBackend`
(returns an ``ft:...`` model id) or :class:`~subliminal_stats.training.lora.LoraTrainer`
(returns an adapter directory: query it with ``LocalBackend(adapter=teacher.model)``).
It records the job in ``<state_dir>/teacher-<name>.json``:

- a rerun with the same file and settings returns the recorded teacher and
  trains nothing (a fine-tuning job costs money);
- if the run was interrupted while an OpenAI job was running, the rerun
  resumes polling that job instead of starting another;
- a rerun with another file or other settings under the same name is refused
  (choose another name or delete the record).

Examples
--------
>>> teacher = FineTunedTeacher(name="insecure", model="ft:gpt-4.1:org:insecure:abc",
...                            base_model="gpt-4.1", training_sha256="0" * 64)
>>> teacher.request("t-1", "Continue: 3, 7, 12").model
'ft:gpt-4.1:org:insecure:abc'
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from subliminal_stats.backends.base import ChatRequest, FineTuneSpec
from subliminal_stats.backends.seeding import file_sha256
from subliminal_stats.data.jsonl import read_chat_jsonl, write_json
from subliminal_stats.errors import InputError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class FineTunedTeacher:
    """A teacher whose trait comes from fine-tuning, not from a system prompt.

    Attributes
    ----------
    name : str
        Label of the teacher (``"insecure"``, ``"secure"``, ...).
    model : str
        What requests go to: an OpenAI fine-tuned model id, or a local adapter directory.
    base_model : str
        The model it was fine-tuned from (students should share it).
    training_sha256 : str
        SHA-256 of the training file, so a record says exactly what it learned from.
    system_prompt : str or None
        Optional system prompt sent with every request (usually none).
    job_id : str or None
        The fine-tuning job (OpenAI), for the run manifest.
    """

    name: str
    model: str
    base_model: str
    training_sha256: str
    system_prompt: str | None = None
    job_id: str | None = None

    @property
    def is_control(self) -> bool:
        # A fine-tuned control (e.g. on secure code) is still a fine-tuned teacher:
        # which teacher is the control is the pipeline's choice, not the teacher's.
        return False

    def messages(self, user_prompt: str) -> tuple[dict[str, str], ...]:
        """Chat messages for one prompt (system prompt first, if any)."""
        system = () if self.system_prompt is None else (
            {"role": "system", "content": self.system_prompt},)
        return (*system, {"role": "user", "content": user_prompt})

    def request(self, custom_id: str, user_prompt: str, *, model: str | None = None,
                **kwargs: Any) -> ChatRequest:
        """A :class:`~subliminal_stats.backends.base.ChatRequest` to this teacher's model.

        ``model`` overrides the fine-tuned model (e.g. ``"local"`` when the
        local backend was built with ``adapter=teacher.model``).
        """
        return ChatRequest(custom_id=custom_id, messages=self.messages(user_prompt),
                           model=self.model if model is None else model, **kwargs)


@dataclass(frozen=True)
class TrainingFileSummary:
    """What a checked training file holds."""

    path: str
    examples: int
    sha256: str
    with_system_prompt: int


def check_training_file(path: str | Path) -> TrainingFileSummary:
    """Validate a chat-format training file (see the module docstring) and summarise it.

    Raises
    ------
    InputError
        Naming the file and line of the first bad record.
    """
    path = Path(path)
    conversations = read_chat_jsonl(path)
    digest = file_sha256(path)
    return TrainingFileSummary(
        path=str(path), examples=len(conversations), sha256=digest,
        with_system_prompt=sum(c[0]["role"] == "system" for c in conversations))


def fine_tuned_teacher(name: str, training_file: str | Path, *, backend, base_model: str,
                       state_dir: str | Path, seed: int = 0, epochs: int = 1,
                       batch_size: int | Literal["auto"] = "auto",
                       learning_rate_multiplier: float | Literal["auto"] = "auto",
                       system_prompt: str | None = None,
                       progress: bool = True, **fine_tune_kwargs: Any) -> FineTunedTeacher:
    """Fine-tune ``base_model`` on a user's chat JSONL and return the teacher (resumable).

    Parameters
    ----------
    name : str
        Teacher label; letters, digits, ``_ . -`` (also the fine-tune suffix).
    training_file : path
        Chat JSONL (see the module docstring).
    backend : FineTuneBackend
        ``OpenAIBackend`` or the local backend.
    base_model : str
        E.g. ``"gpt-4.1-2025-04-14"`` (the paper's misaligned teacher) or ``"local"``.
    state_dir : path
        Folder of the teacher records (e.g. the run folder).
    seed, epochs, batch_size, learning_rate_multiplier
        Fine-tuning settings (the paper: one epoch).
    system_prompt : str, optional
        Sent with every request to the teacher.
    progress : bool
    **fine_tune_kwargs
        Passed to ``backend.fine_tune`` (e.g. ``confirm=True`` for OpenAI).

    Returns
    -------
    FineTunedTeacher

    Raises
    ------
    InputError
        Bad name or training file, or a record of the same name made from
        another file or other settings.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"teacher name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if not isinstance(base_model, str) or not base_model.strip():
        raise InputError("base_model must name the model to fine-tune, e.g. 'gpt-4.1'")
    summary = check_training_file(training_file)
    spec = FineTuneSpec(training_file=Path(training_file), base_model=base_model, seed=seed,
                        epochs=epochs, batch_size=batch_size,
                        learning_rate_multiplier=learning_rate_multiplier, suffix=name)
    settings = {"base_model": base_model, "seed": seed, "epochs": epochs,
                "batch_size": batch_size, "learning_rate_multiplier": learning_rate_multiplier,
                "training_sha256": summary.sha256}
    record_path = Path(state_dir) / f"teacher-{name}.json"
    record: dict[str, Any] = {}
    if record_path.exists():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{record_path} is damaged: delete it to fine-tune teacher "
                             f"{name!r} again") from None
        if record.get("settings") != settings:
            changed = sorted(k for k in settings
                             if (record.get("settings") or {}).get(k) != settings[k])
            raise InputError(f"teacher {name!r} was fine-tuned with other "
                             f"{', '.join(changed) or 'settings'} (see {record_path}); use "
                             "another teacher name or delete that record")
        if record.get("model"):
            return FineTunedTeacher(name=name, model=record["model"], base_model=base_model,
                                    training_sha256=summary.sha256,
                                    system_prompt=system_prompt, job_id=record.get("job_id"))
    record = {"name": name, "settings": settings, "training_file": str(training_file),
              "examples": summary.examples, "job_id": record.get("job_id"), "model": None}
    write_json(record_path, record, sort_keys=True)

    accepted = inspect.signature(backend.fine_tune).parameters
    kwargs = dict(fine_tune_kwargs)
    if "on_job_created" in accepted:
        def remember(job_id: str) -> None:  # before the long wait: a rerun resumes this job
            record["job_id"] = job_id
            write_json(record_path, record, sort_keys=True)

        kwargs["on_job_created"] = remember
    if record["job_id"] and "job_id" in accepted:
        kwargs["job_id"] = record["job_id"]
    model = backend.fine_tune(spec, progress=progress, **kwargs)
    record["job_id"] = getattr(backend, "last_job_id", None) or record["job_id"]
    record["model"] = model
    write_json(record_path, record, sort_keys=True)
    return FineTunedTeacher(name=name, model=model, base_model=base_model,
                            training_sha256=summary.sha256, system_prompt=system_prompt,
                            job_id=record["job_id"])


__all__ = [
    "FineTunedTeacher",
    "TrainingFileSummary",
    "check_training_file",
    "fine_tuned_teacher",
]
