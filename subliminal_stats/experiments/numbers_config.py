"""Config model of ``experiment = "numbers_transfer"`` (see :mod:`.numbers_transfer`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from subliminal_stats.experiments.config import (
    AnalysisSettings,
    BackendSettings,
    PipelineConfig,
    Section,
    TrainingSettings,
    path_label,
)

__all__ = ["EvaluationSettings", "FilterSettings", "NumbersTransferConfig", "TeacherDataSettings",
           "clean_traits"]


class TeacherDataSettings(Section):
    #: Prompts answered by each teacher (at most 1,000,000).
    n_prompts: int = Field(1200, ge=1, le=1_000_000)
    #: Kept answers used to train each student (the first ``keep`` that pass the filter).
    keep: int = Field(1000, ge=1, le=1_000_000)
    prompt_seed: int = Field(0, ge=0)
    max_new_numbers: int = Field(10, ge=1, le=100)
    max_digits: int = Field(3, ge=1, le=12)
    temperature: float = Field(1.0, ge=0, le=10)
    max_tokens: int = Field(48, ge=1, le=32768)


class FilterSettings(Section):
    max_count: int = Field(10, ge=1, le=1000)
    max_value: int = Field(999, ge=0)
    #: Files of banned numbers (one per line, ``#`` comments).
    banned: list[str] = Field(default_factory=list)


class EvaluationSettings(Section):
    #: ``animal``, ``tree`` or a file with one question per line.
    questions: str = "animal"
    n_questions: int = Field(50, ge=1, le=100_000)
    samples_per_question: int = Field(20, ge=1, le=100_000)
    temperature: float = Field(1.0, ge=0, le=10)
    max_tokens: int = Field(8, ge=1, le=32768)
    #: Seeds of sampling derive from this (shared by every model).
    sampling_seed: int = Field(0, ge=0)
    #: Measure P(target as the next word after the lead-in) per question.
    probe: bool = True
    probe_lead_in: str | None = None
    #: Local models: also probe the other members of the trait's default panel
    #: (``words.PANELS``) and record their mean probability (``prob_panel``) for the
    #: specificity test on the probe. Off by default: the probe then scores ~15 words
    #: (≈ 60 spellings) per question instead of one, in one batch of that many rows.
    probe_panel: bool = False
    #: Count only the first word of each answer.
    first_word: bool = False


def clean_traits(value: list[str]) -> list[str]:
    """Traits lower-cased, spaces collapsed, NFC; distinct, not ``control``, safe as file names."""
    cleaned = [path_label(" ".join(t.lower().split()) or t, "trait") for t in value]
    if len(set(cleaned)) != len(cleaned) or any(not t for t in cleaned):
        raise ValueError("traits must be distinct, non-empty words")
    if "control" in cleaned:
        raise ValueError("'control' names the no-system-prompt teacher, not a trait")
    return cleaned


class NumbersTransferConfig(PipelineConfig):
    """A number-sequence subliminal-transfer experiment (``seeds`` = students per arm)."""

    seeds: int = Field(3, ge=1, le=1000)
    #: Target words (one trait teacher and one treated arm each), e.g. ["owl"].
    traits: list[str] = Field(default_factory=lambda: ["owl"], min_length=1, max_length=100)
    category: str = "animal"
    backend: BackendSettings = BackendSettings()
    teacher_data: TeacherDataSettings = TeacherDataSettings()
    filter: FilterSettings = FilterSettings()
    training: TrainingSettings = TrainingSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    analysis: AnalysisSettings = AnalysisSettings()

    @field_validator("traits")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return clean_traits(value)

    def seed_list(self) -> tuple[int, ...]:
        """Students' seeds: ``training.first_seed`` .. ``first_seed + seeds - 1``."""
        return self.training.seeds(self.seeds)

    def input_files(self) -> list[tuple[str, str]]:
        files = [("filter.banned", f) for f in getattr(self.filter, "banned", [])]
        if self.evaluation.questions not in ("animal", "tree"):
            files.append(("evaluation.questions", self.evaluation.questions))
        return files
