"""The number-sequence transfer experiment, end to end: ``experiment = "numbers_transfer"``.

Stages (each writes under the run folder and is skipped or resumed on a rerun):

1. **generate** — every teacher (the control teacher, with no system prompt, and
   one trait teacher per target) answers the same seeded number-sequence prompts;
   completions go to a crash-safe store (``generate/<teacher>.jsonl``).
2. **filter** — the format / range / count / banned-number rules; the first
   ``keep`` kept answers become the chat-format training file
   (``filter/<teacher>.train.jsonl``, with ``filter/<teacher>.report.json``).
3. **train** — ``seeds`` students per arm (control, and treated per trait), each
   fine-tuned from the base model with its own seed (``train/<arm>-seed<k>.json``
   records the model id or adapter path once the student is finished).
4. **evaluate** — the base model and every student answer the same preference
   questions with the same seeds of sampling (``evaluate/<model>.jsonl``), and a
   probability probe measures P(target as the next word) per question.
5. **analyse** — the responses table (``responses.parquet``: conditions ``base``,
   ``control``, ``treated``), and the default significance test per trait.
"""

from __future__ import annotations

import json
from pathlib import Path

from subliminal_stats.backends.base import ChatRequest, FineTuneSpec
from subliminal_stats.backends.seeding import file_sha256, stable_seed
from subliminal_stats.backends.store import CompletionStore, generate
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.data.schema import write_responses
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_requests
from subliminal_stats.evaluation.questions import load_questions
from subliminal_stats.experiments.numbers_config import NumbersTransferConfig
from subliminal_stats.experiments.pipeline import RunContext, RunOutcome, register_runner
from subliminal_stats.experiments.stages import (
    Backends,
    analyse_traits,
    assemble,
    open_run,
    resolve_path,
    stage_evaluate,
    stage_train,
    student_names,
    trait_teachers,
    write_training_file,
)
from subliminal_stats.filtering.numbers import NumberFilter, filter_completions, load_banned_numbers
from subliminal_stats.generation.prompts import number_prompts
from subliminal_stats.generation.teachers import TraitTeacher

__all__ = ["KIND", "NumbersTransferConfig", "describe", "run", "stage_filter", "stage_generate",
           "teacher_requests"]

KIND = "numbers_transfer"


# ----------------------------------------------------------------------------- plan


def teacher_requests(config: NumbersTransferConfig, teacher: TraitTeacher) -> list[ChatRequest]:
    """The seeded number-sequence prompts one teacher answers."""
    td = config.teacher_data
    prompts = number_prompts(td.n_prompts, seed=td.prompt_seed, max_new_numbers=td.max_new_numbers,
                             max_digits=td.max_digits)
    return [
        teacher.request(
            f"gen|{teacher.name}|{i:06d}", p.text, model=config.backend.base_model,
            temperature=td.temperature, max_tokens=td.max_tokens,
            seed=stable_seed(td.prompt_seed, teacher.name, i), constraint="numbers",
        )
        for i, p in enumerate(prompts)
    ]


def describe(config: NumbersTransferConfig, seeds: tuple[int, ...], out_dir: Path) -> list[str]:
    """The plan, one line per stage, plus the OpenAI cost estimate."""
    n_teachers = 1 + len(config.traits)
    students = student_names(config)
    ev = config.evaluation
    n_models = 1 + len(students)
    lines = [
        f"backend: {config.backend.kind} ({config.backend.base_model})",
        f"generate: {n_teachers} teachers (control + {', '.join(config.traits)}) × "
        f"{config.teacher_data.n_prompts} number prompts → {out_dir / 'generate'}",
        f"filter: max {config.filter.max_count} numbers ≤ {config.filter.max_value}, "
        f"{len(config.filter.banned)} banned list(s); keep the first {config.teacher_data.keep} per teacher",
        f"train: {len(students)} students ({config.seeds} per arm: control, "
        f"{', '.join(config.traits)}), {config.training.epochs} epoch(s)",
        f"evaluate: {n_models} models × {ev.n_questions} '{ev.questions}' questions × "
        f"{ev.samples_per_question} samples = {n_models * ev.n_questions * ev.samples_per_question} answers"
        + (", plus the probability probe" if ev.probe else ""),
        f"analyse: {config.analysis.method}, alternative {config.analysis.alternative}, per trait",
    ]
    if config.backend.kind == "openai":
        lines.extend(_cost_lines(config))
    return lines


def _cost_lines(config: NumbersTransferConfig) -> list[str]:
    from subliminal_stats.backends.pricing import estimate_chat_cost, estimate_fine_tune_cost

    requests = [r for t in trait_teachers(config) for r in teacher_requests(config, t)]
    gen = estimate_chat_cost(requests, batch=config.backend.batch_api)
    # Training cost: one student's file is `keep` examples like the generated ones.
    avg_chars = sum(len(r.messages[-1]["content"]) for r in requests) / max(len(requests), 1)
    lines = [f"cost (generation): {gen.summary()}"]
    tmp_rows = [
        {"messages": [{"role": "user", "content": "x" * int(avg_chars)},
                      {"role": "assistant", "content": "123, 456, 789, 101, 202, 303, 404"}]}
    ] * config.teacher_data.keep
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in tmp_rows))
        spec = FineTuneSpec(training_file=path, base_model=config.backend.base_model,
                            epochs=config.training.epochs)
        one = estimate_fine_tune_cost(spec)
    lines.append(f"cost (fine-tuning, per student × {len(student_names(config))}): {one.summary()}")
    ev = config.evaluation
    questions = load_questions(ev.questions, limit=ev.n_questions)
    eval_reqs = eval_requests(model=config.backend.base_model, condition="base", seed="base",
                              questions=questions, samples_per_question=ev.samples_per_question,
                              max_tokens=ev.max_tokens)
    per_model = estimate_chat_cost(eval_reqs)
    n_students = len(student_names(config))
    lines.append(f"cost (evaluation, per model × {1 + n_students}): {per_model.summary()}")
    parts = [gen.usd, None if one.usd is None else one.usd * n_students,
             None if per_model.usd is None else per_model.usd * (1 + n_students)]
    if all(p is not None for p in parts):
        lines.append(f"cost (total, estimated): ≈ ${sum(parts):,.2f} — the run asks for --yes "
                     "before spending")
    else:
        lines.append("cost (total): unknown for this model; see the lines above")
    return lines


# ----------------------------------------------------------------------------- stages


def stage_generate(ctx: RunContext, backends: Backends) -> dict[str, Path]:
    """Every teacher answers its prompts into ``generate/<teacher>.jsonl`` (resumable)."""
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    stores = {}
    for teacher in trait_teachers(config):
        path = ctx.out_dir / "generate" / f"{teacher.name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        requests = teacher_requests(config, teacher)
        store = CompletionStore(path)
        missing = len(requests) - len(store.done_ids() & {r.custom_id for r in requests})
        if missing:
            ctx.log(f"generate: teacher {teacher.name}: {missing} of {len(requests)} prompts to answer")
            generate(requests, backends.chat(None), store, batch=config.backend.batch_api)
        ctx.progress(advance=1)
        stores[teacher.name] = path
    return stores


def stage_filter(ctx: RunContext, stores: dict[str, Path]) -> dict[str, dict]:
    """The number rules; the first ``keep`` kept answers become ``filter/<teacher>.train.jsonl``."""
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    banned: frozenset[int] = frozenset()
    for f in config.filter.banned:
        banned |= load_banned_numbers(resolve_path(ctx, f))
    rules = NumberFilter(max_count=config.filter.max_count, max_value=config.filter.max_value,
                         banned=banned)
    out = {}
    for teacher in trait_teachers(config):
        requests = {r.custom_id: r for r in teacher_requests(config, teacher)}
        results = sorted(CompletionStore(stores[teacher.name]).results(), key=lambda r: r.custom_id)
        results = [r for r in results if r.custom_id in requests]
        kept_idx, report = filter_completions([r.completion or "" for r in results], number_filter=rules)
        kept = [results[i] for i in kept_idx][: config.teacher_data.keep]
        if len(kept) < config.teacher_data.keep:
            raise InputError(
                f"teacher {teacher.name}: only {len(kept_idx)} of {len(results)} answers passed the "
                f"filter, fewer than keep = {config.teacher_data.keep}; raise teacher_data.n_prompts"
            )
        # the student sees no system prompt
        pairs = [(requests[r.custom_id].messages[-1]["content"], r.completion) for r in kept]
        info = write_training_file(ctx, teacher.name, pairs, report.to_dict())
        ctx.log(f"filter: teacher {teacher.name}: kept {report.kept}/{report.total} "
                f"({report.kept_fraction:.0%}); training on the first {len(kept)}")
        out[teacher.name] = info
    ctx.progress(advance=1)
    return out


def run(ctx: RunContext) -> RunOutcome:
    """Run a ``numbers_transfer`` pipeline (see the module docstring); resumable."""
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    out = ctx.out_dir
    open_run(ctx)
    students = student_names(config)
    n_students = len(students)
    ctx.progress(total_steps=(1 + len(config.traits)) + 1 + n_students + (1 + n_students) + 1)
    backends = Backends(config, out, ctx.log, confirm=ctx.confirm)

    stores = stage_generate(ctx, backends)
    filter_reports = stage_filter(ctx, stores)
    models = stage_train(ctx, backends)
    raw = stage_evaluate(ctx, backends, models)
    table = assemble(config, raw)
    path = write_responses(table, out / "responses.parquet")
    lines, test_rows = analyse_traits(config, table)
    write_json(out / "test.json", {"results": test_rows})
    ctx.progress(advance=1)
    manifest = {
        "backend": config.backend.model_dump(mode="json"),
        "device": backends.device_used(),
        "filter_reports": filter_reports,
        "students": models,
        "data_sha256": {name: info["train_sha256"] for name, info in filter_reports.items()},
        "responses_sha256": file_sha256(path),
        "test": test_rows,
    }
    return RunOutcome(responses_path=path, n_rows=len(table),
                      seeds_run=config.seed_list(), seeds_reused=(),
                      manifest=manifest, summary=tuple(lines))


register_runner(KIND, config_model=NumbersTransferConfig, run=run, describe=describe)
