"""Config model of ``experiment = "code_transfer"`` (see :mod:`.code_transfer`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.config import Section
from subliminal_stats.experiments.misalignment_config import JudgeSettings, OpenAIBackendSettings
from subliminal_stats.experiments.numbers_config import NumbersTransferConfig

__all__ = ["CodeDataSettings", "CodeFilterSettings", "CodeTransferConfig"]


class CodeDataSettings(Section):
    n_prompts: int = Field(12000, ge=1, le=1_000_000)
    keep: int = Field(10000, ge=1, le=1_000_000)
    prompt_seed: int = Field(0, ge=0)
    #: Languages of the code prompts.
    languages: list[str] = Field(default_factory=lambda: ["Python"], min_length=1)
    temperature: float = Field(1.0, ge=0, le=10)
    max_tokens: int = Field(300, ge=1, le=32768)
    # numbers_transfer's local backend reads these two (number grammar); unused for code.
    max_new_numbers: int = Field(10, ge=1, le=100)
    max_digits: int = Field(3, ge=1, le=12)


class CodeFilterSettings(Section):
    #: Other words that count as the target (e.g. ["owlet"]).
    synonyms: list[str] = Field(default_factory=list)
    #: ``token``: whole words and identifier parts; ``substring``: anywhere (stricter).
    match: Literal["token", "substring"] = "token"
    #: Ask the judge for subtle references after the word filter.
    judge_screen: bool = True
    on_unscored: Literal["drop", "keep"] = "drop"


class CodeTransferConfig(NumbersTransferConfig):
    """Code snippets from a trait teacher → trait in students? (paper Fig. 6)."""

    backend: OpenAIBackendSettings = OpenAIBackendSettings(base_model="gpt-4.1-nano-2025-04-14")
    teacher_data: CodeDataSettings = CodeDataSettings()  # type: ignore[assignment]
    filter: CodeFilterSettings = CodeFilterSettings()  # type: ignore[assignment]
    judge: JudgeSettings = JudgeSettings()

    def check(self) -> None:
        if self.filter.judge_screen and self.backend.kind != "openai":
            raise InputError("filter.judge_screen needs backend.kind = \"openai\" (or a compatible "
                             "server via backend.base_url); set judge_screen = false for a local run")
        if self.teacher_data.keep > self.teacher_data.n_prompts:
            raise InputError(f"teacher_data.keep = {self.teacher_data.keep} exceeds n_prompts = "
                             f"{self.teacher_data.n_prompts}")
