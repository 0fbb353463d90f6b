"""Config model of ``experiment = "mlp_digits"`` / ``"mlp_aux_logits"`` (see :mod:`.mlp_pipeline`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.config import PipelineConfig, Section

__all__ = ["DataSection", "MLPPipelineConfig", "ModelSection", "StudentSection", "TeacherSection"]


class DataSection(Section):
    source: Literal["digits", "mnist_idx"] = "digits"
    #: Folder with the four MNIST IDX files (for source = "mnist_idx").
    path: str | None = None
    #: Share of the digits held out for testing (digits only; MNIST has its own test set).
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 0
    train_limit: int | None = Field(None, ge=1)
    test_limit: int | None = Field(None, ge=1)


class ModelSection(Section):
    hidden: list[Annotated[int, Field(ge=1, le=65536)]] = Field(
        default_factory=lambda: [256, 256], min_length=1, max_length=64)
    n_aux: int = Field(3, ge=1, le=10_000)


class TeacherSection(Section):
    epochs: int = Field(5, ge=0, le=10_000)
    batch_size: int = Field(1024, ge=1, le=1_000_000)
    #: Adam learning rate (``lr`` accepted, the older name).
    learning_rate: float = Field(3e-4, gt=0, le=10,
                                 validation_alias=AliasChoices("learning_rate", "lr"))


class StudentSection(Section):
    epochs: int = Field(5, ge=0, le=10_000)
    batch_size: int = Field(1024, ge=1, le=1_000_000)
    #: Adam learning rate (``lr`` accepted, the older name).
    learning_rate: float = Field(3e-4, gt=0, le=10,
                                 validation_alias=AliasChoices("learning_rate", "lr"))
    noise: Literal["uniform", "normal", "shuffled_pixels"] = "uniform"
    noise_per_epoch: int | None = Field(None, ge=1, le=10_000_000)
    temperature: float = Field(1.0, gt=0)


class MLPPipelineConfig(PipelineConfig):
    trait: str = "digits"
    #: Mixed into every seed's random streams.
    base_seed: int = 0
    #: torch intra-op threads.
    threads: int = Field(2, ge=1, le=512)
    #: Seeds trained together in one batched block (parts are saved after each block).
    seeds_per_block: int = Field(25, ge=1, le=1000)
    data: DataSection = DataSection()
    model: ModelSection = ModelSection()
    teacher: TeacherSection = TeacherSection()
    student: StudentSection = StudentSection()

    def check(self) -> None:
        if self.data.source == "digits" and self.data.path is not None:
            raise InputError("[data] path is only used with source = \"mnist_idx\"; remove it for digits")
        if self.data.source == "mnist_idx" and self.data.path is None:
            raise InputError(
                "[data] source = \"mnist_idx\" needs path = \"folder with the MNIST IDX files\""
            )
