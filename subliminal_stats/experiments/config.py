"""The one base of every pipeline config model, and the checks shared by every kind.

Every section of a pipeline TOML is a :class:`Section` (frozen, unknown keys refused) and
every whole file a :class:`PipelineConfig`. The kinds' own models live one module per kind
(:mod:`~subliminal_stats.experiments.numbers_config`,
:mod:`~subliminal_stats.experiments.misalignment_config`,
:mod:`~subliminal_stats.experiments.code_config`,
:mod:`~subliminal_stats.experiments.mlp_config`); the sections several kinds share
(backend, training, analysis) are here.

Labels that become path components (``name``, ``traits``, teacher names) are checked at
load time by :func:`path_label`: a run writes only inside its own folder.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Fields added after runs were recorded: left out of the config fingerprint while at these
#: defaults, so a folder made before they existed still resumes (section, field) → default.
ADDED_DEFAULTS: dict[tuple[str, str], object] = {
    ("backend", "device"): "auto",
    ("backend", "gpu_batch_size"): "auto",
    ("backend", "autocast_bf16"): True,
    ("training", "lora_targets"): None,
    ("backend", "local_model"): None,
    ("evaluation", "probe_panel"): False,
}

#: Fields renamed after runs were recorded: fingerprinted under their old names, so a folder
#: made before the rename still resumes. (section, new name) → old name.
RENAMED_FIELDS: dict[tuple[str, str], str] = {
    ("teacher", "learning_rate"): "lr",  # mlp_digits: API names = config names
    ("student", "learning_rate"): "lr",
}

__all__ = [
    "ADDED_DEFAULTS", "RENAMED_FIELDS", "MAX_SEEDS", "AnalysisSettings", "BackendSettings", "PipelineConfig", "Section",
    "TrainingSettings", "known_methods", "path_label",
]

#: Most seeds (students per arm) one pipeline file may ask for; keeps plans and memory bounded.
MAX_SEEDS = 1000
#: Longest label that becomes a file or folder name.
MAX_LABEL = 100


class Section(BaseModel):
    """A section of a pipeline file: frozen, and unknown keys are refused (no silent typo)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def path_label(value: str, what: str = "label") -> str:
    """``value`` NFC-normalised, refused when it could name a path outside the run folder.

    Refused: empty, ``.`` or ``..``, ``/`` or ``\\``, a leading ``.`` or ``-``, control or
    format characters, more than :data:`MAX_LABEL` characters.

    Raises
    ------
    ValueError
        With the reason (pydantic turns it into the one-line config error).

    Examples
    --------
    >>> path_label("owl")
    'owl'
    >>> path_label("../x")
    Traceback (most recent call last):
    ...
    ValueError: label '../x' must not contain '/' or '\\\\' (it names files of the run)
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    text = unicodedata.normalize("NFC", value)
    if not text.strip():
        raise ValueError(f"{what} must not be empty")
    if "/" in text or "\\" in text:
        raise ValueError(f"{what} {value!r} must not contain '/' or '\\\\' (it names files of the run)")
    if text in (".", "..") or text.startswith((".", "-")):
        raise ValueError(f"{what} {value!r} must not start with '.' or '-' (it names files of the run)")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in text):
        raise ValueError(f"{what} {value!r} contains control characters")
    if len(text) > MAX_LABEL:
        raise ValueError(f"{what} is longer than {MAX_LABEL} characters")
    return text


def known_methods() -> tuple[str, ...]:
    """The statistics core's method names (what ``analysis.method`` may be)."""
    try:
        from subliminal_stats.stats.methods import offered_methods
    except ImportError:  # before the stats registry existed
        from subliminal_stats import stats

        return tuple(stats.METHOD_DESCRIPTIONS)
    return (*offered_methods(), "t-vs-single-model")


def check_method(value: str) -> str:
    """``value`` if the statistics core offers it (aliases such as ``glmm`` accepted)."""
    try:
        from subliminal_stats.stats.methods import resolve_method
    except ImportError:
        resolve_method = None
    if resolve_method is not None:
        from subliminal_stats.errors import InputError

        try:
            resolve_method(value)
        except InputError:
            pass
        else:
            if value.strip():
                return value
    elif value in known_methods():
        return value
    raise ValueError(f"unknown method {value!r}; known: {', '.join(known_methods())}")


class PipelineConfig(Section):
    """Keys every pipeline file may have; each kind subclasses it and adds its own.

    Unknown keys are refused (``extra="forbid"``), so a typo never silently falls
    back to a default.
    """

    experiment: str
    #: Label written to the ``experiment`` column (default: the kind); also names files.
    name: str | None = None
    #: Number of seeds (students per condition); seeds are 0 .. seeds-1.
    seeds: int = Field(25, ge=1, le=MAX_SEEDS)
    #: Run folder; relative paths are relative to the current directory.
    out: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_label(cls, value: str | None) -> str | None:
        return None if value is None else path_label(value, "name")

    @property
    def label(self) -> str:
        return self.name or self.experiment

    def check(self) -> None:
        """Cross-key checks beyond types; raise InputError. Runners override it."""

    def seed_list(self) -> tuple[int, ...]:
        """The seeds this config runs (recorded as the manifest's ``seeds``): 0 .. seeds-1."""
        return tuple(range(self.seeds))

    def input_files(self) -> list[tuple[str, str]]:
        """``(key, path)`` of every file the run reads; each must exist before anything runs
        (checked by :func:`~subliminal_stats.experiments.pipeline.load_pipeline`, also for
        ``--dry-run``). Kinds override it."""
        return []


class BackendSettings(Section):
    #: ``local`` (a model in this process, offline), ``openai`` (OpenAI or a compatible
    #: server) or ``vllm`` (a vLLM server the user started: sampling by name, no billing).
    kind: Literal["local", "openai", "vllm"] = "local"
    #: Base model: an OpenAI model id; for ``local`` the bundled SmolLM2 (``"smollm2"``), a
    #: Hugging Face model folder, or a model id already in the local Hugging Face cache.
    base_model: str = "smollm2"
    #: ``local``/``vllm`` training: ``auto`` (CUDA when visible, else CPU), ``cpu``, ``cuda``,
    #: ``cuda:N`` or ``mps``; recorded in the manifest.
    device: str = "auto"
    #: OpenAI-compatible server (vLLM, Ollama, a test server); default api.openai.com.
    base_url: str | None = None
    #: Chat requests in flight (openai) or sequences per batch (local, on a CPU); at most 1024.
    concurrency: int = Field(8, ge=1, le=1024)
    #: ``local`` on a CUDA GPU: sequences per sampling batch, ``"auto"`` (as many as fit in
    #: half the memory left after loading the model; ``backends.local.rows_that_fit``) or a
    #: number. Draws depend on it through float rounding only (each row has its own seeded
    #: sampler); give a number where a rerun from scratch must repeat bit for bit.
    gpu_batch_size: Literal["auto"] | int = "auto"
    #: ``local`` sampling and ``local``/``vllm`` training under bf16 autocast where the device
    #: runs bf16 natively (a CUDA GPU; a CPU with AVX512-BF16 or AMX: 1.8× the teacher sampling
    #: rate and 1.5× the LoRA rate of fp32 on 2 cores). ``false``: fp32 arithmetic on a CPU,
    #: where a request's draw then does not depend on its batch-mates (under bf16 rounding
    #: it can), so a resumed run draws what an uninterrupted one would. On a CPU without
    #: native bf16 it is fp32 either way. The training manifest records what ran.
    autocast_bf16: bool = True
    #: Use the OpenAI Batch API for generation (half price, slower).
    batch_api: bool = False
    #: Torch threads for the local backend (1 when other work shares the cores).
    torch_threads: int = Field(1, ge=1, le=512)
    #: Seconds between polls of OpenAI jobs.
    poll_interval: float = Field(10.0, gt=0, le=3600)
    #: Whether the server bills (asks for --yes before spending); default: True for
    #: api.openai.com, False for a custom ``base_url`` (a local vLLM/Ollama server).
    billed: bool | None = None
    #: ``vllm``: the served model's local copy (folder or cached Hugging Face id) that LoRA
    #: students are trained from; default ``base_model``.
    local_model: str | None = None

    @field_validator("gpu_batch_size", mode="before")
    @classmethod
    def _batch_rows(cls, value):
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int)
                                or not 1 <= value <= 1024):
            raise ValueError('must be "auto" or a whole number from 1 to 1024')
        return value

    @model_validator(mode="after")
    def _vllm_needs_a_server(self) -> BackendSettings:
        if self.kind == "vllm":
            if not self.base_url:
                raise ValueError("backend.kind = \"vllm\" needs backend.base_url, e.g. "
                                 "\"http://localhost:8000/v1\" (start vllm serve yourself)")
            if self.billed:
                raise ValueError("a vLLM server you started does not bill: remove billed")
        return self


class TrainingSettings(Section):
    epochs: int = Field(1, ge=1, le=100)
    batch_size: int | Literal["auto"] = "auto"
    #: OpenAI fine-tuning learning-rate multiplier.
    learning_rate_multiplier: float | Literal["auto"] = "auto"
    #: Local LoRA settings.
    learning_rate: float = Field(2e-4, gt=0, le=1)
    lora_rank: int = Field(8, ge=1, le=1024)
    #: LoRA target modules (default: chosen per architecture, see training.lora.lora_targets).
    lora_targets: list[str] | None = Field(None, min_length=1)
    #: First seed of the students; student k of an arm uses ``first_seed + k``.
    first_seed: int = Field(0, ge=0, le=2**31 - 1 - MAX_SEEDS)

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, value):
        if value != "auto" and not 1 <= value <= 4096:
            raise ValueError("batch_size must be 'auto' or 1..4096")
        return value

    @field_validator("learning_rate_multiplier")
    @classmethod
    def _lrm(cls, value):
        if value != "auto" and not 0 < value <= 100:
            raise ValueError("learning_rate_multiplier must be 'auto' or in (0, 100]")
        return value

    def seeds(self, n: int) -> tuple[int, ...]:
        """The students' seeds of an arm: ``first_seed .. first_seed + n - 1``."""
        return tuple(self.first_seed + k for k in range(n))


class AnalysisSettings(Section):
    #: A method of :func:`subliminal_stats.stats.compare` (default: its calibrated default).
    method: str = "pooled-t"
    alternative: Literal["two-sided", "greater", "less"] = "two-sided"
    confidence_level: float = Field(0.95, gt=0, lt=1)

    @field_validator("method")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_method(value)
