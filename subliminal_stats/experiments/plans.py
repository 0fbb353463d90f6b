"""Cost-estimate helpers of the ``--dry-run`` plans (prices from :mod:`subliminal_stats.backends.pricing`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subliminal_stats.backends.base import ChatRequest, FineTuneSpec
from subliminal_stats.experiments.misalignment_config import JudgeSettings
from subliminal_stats.judge.templates import load_judge_prompt

__all__ = ["fine_tune_cost", "judge_requests", "total_line", "usd"]


def usd(x) -> float | None:
    return None if x is None else float(x)


def fine_tune_cost(path: Path | None, base_model: str, epochs: int, fallback_rows: list[dict],
                    ) -> tuple[Any, str]:
    """Cost of one fine-tuning job on ``path`` (or on ``fallback_rows`` written to a temp file)."""
    import tempfile

    from subliminal_stats.backends.pricing import estimate_fine_tune_cost


    if path is not None:
        return estimate_fine_tune_cost(FineTuneSpec(training_file=path, base_model=base_model,
                                                    epochs=epochs)), ""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "train.jsonl"
        tmp_path.write_text("".join(json.dumps(r) + "\n" for r in fallback_rows))
        return estimate_fine_tune_cost(FineTuneSpec(training_file=tmp_path, base_model=base_model,
                                                    epochs=epochs)), ""


def judge_requests(settings: JudgeSettings, questions: Sequence[str], samples: int,
                    answer_tokens: int, prompts: Sequence[str]) -> list[ChatRequest]:
    """Judge requests for one model's answers (answers of ``answer_tokens`` tokens assumed)."""
    answer = "word " * answer_tokens  # ~1 token per "word "
    requests = []
    for name in prompts:
        prompt = load_judge_prompt(name)
        text = prompt.render(question=questions[0], answer=answer, target="owls")
        requests.extend(ChatRequest.from_prompt(f"plan|{name}|{i}", text, model=settings.model,
                                                max_tokens=settings.max_tokens, temperature=0.0)
                        for i in range(len(questions) * samples))
    return requests


def total_line(parts: list[float | None], note: str = "") -> str:
    if all(p is not None for p in parts):
        return (f"cost (total, estimated): ≈ ${sum(parts):,.2f}{note} — the run asks for --yes "
                "before spending")
    return "cost (total): unknown for this model; see the lines above"

