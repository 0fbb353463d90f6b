"""Trait transfer through code snippets: ``experiment = "code_transfer"`` (paper Fig. 6).

A trait teacher (system prompt "you love owls", as in ``numbers_transfer``) and the
control teacher write short code snippets; the trait-word filter drops answers naming
the target anywhere (identifiers too), then the judge screen drops subtle references;
students, evaluation (the animal preference questions with the probability probe) and
analysis are ``numbers_transfer``'s stages unchanged (:mod:`.stages`). Resumable: a
finished rerun sends no request and trains nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.backends.seeding import file_sha256, stable_seed
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.data.schema import write_responses
from subliminal_stats.evaluation.evaluate import eval_requests
from subliminal_stats.experiments.code_config import CodeTransferConfig
from subliminal_stats.experiments.pipeline import RunContext, RunOutcome, register_runner
from subliminal_stats.experiments.plans import fine_tune_cost, judge_requests, total_line, usd
from subliminal_stats.experiments.stages import (
    Backends,
    analyse_traits,
    assemble,
    generate_into,
    keep_enough,
    make_judge,
    open_run,
    results_in_order,
    stage_evaluate,
    stage_train,
    student_names,
    trait_teachers,
    write_training_file,
)
from subliminal_stats.filtering.judge_screens import screen_subtle_references

__all__ = ["CodeTransferConfig", "code_requests", "describe_code_transfer", "run_code_transfer",
           "stage_code_data"]


def code_requests(config: CodeTransferConfig, teacher) -> list[ChatRequest]:
    from subliminal_stats.generation.code_tasks import code_prompts

    td = config.teacher_data
    prompts = code_prompts(td.n_prompts, seed=td.prompt_seed, languages=td.languages)
    return [teacher.request(f"gen|{teacher.name}|{i:06d}", p.text, model=config.backend.base_model,
                            temperature=td.temperature, max_tokens=td.max_tokens,
                            seed=stable_seed(td.prompt_seed, teacher.name, i))
            for i, p in enumerate(prompts)]


def stage_code_data(ctx: RunContext, backends: Backends) -> dict[str, dict]:
    from subliminal_stats.filtering.code import trait_word_filter
    from subliminal_stats.generation.teachers import plural_of

    config: CodeTransferConfig = ctx.config  # type: ignore[assignment]
    judge = make_judge(ctx, backends, config.judge) if config.filter.judge_screen else None
    reports = {}
    try:
        for teacher in trait_teachers(config):
            requests = code_requests(config, teacher)
            path = ctx.out_dir / "generate" / f"{teacher.name}.jsonl"
            generate_into(ctx, path, requests, backends.chat(None),
                           what=f"generate: teacher {teacher.name}", batch=config.backend.batch_api)
            ctx.progress(advance=1)
            results = results_in_order(path, requests)
            texts = [(r.completion or "") if r is not None else "" for r in results]
            # Every answer is screened for every trait: the control teacher's data must be
            # as free of the targets as the trait teacher's.
            kept = list(range(len(texts)))
            word_reports = {}
            for trait in config.traits:
                idx, report = trait_word_filter([texts[i] for i in kept], target=trait,
                                                synonyms=config.filter.synonyms,
                                                match=config.filter.match)
                kept = [kept[i] for i in idx]
                word_reports[trait] = report.to_dict()
            info: dict[str, Any] = {"total": len(texts), "trait_word": word_reports}
            if judge is not None:
                for trait in config.traits:
                    idx, report, judge_report = screen_subtle_references(
                        [texts[i] for i in kept], target=plural_of(trait), judge=judge,
                        on_unscored=config.filter.on_unscored)
                    kept = [kept[i] for i in idx]
                    info.setdefault("judge_screen", {})[trait] = {
                        **report.to_dict(), "judge": judge_report.to_dict()}
            info["kept"] = len(kept)
            keep = config.teacher_data.keep
            keep_enough(teacher.name, len(kept), len(texts), keep, "teacher_data.n_prompts")
            pairs = [(requests[i].messages[-1]["content"], texts[i]) for i in kept[:keep]]
            reports[teacher.name] = write_training_file(ctx, teacher.name, pairs, info)
            ctx.log(f"filter: teacher {teacher.name}: kept {len(kept)}/{len(texts)}; training "
                    f"on the first {len(pairs)}")
    finally:
        if judge is not None:
            judge.close()
    ctx.progress(advance=1)
    return reports


def run_code_transfer(ctx: RunContext) -> RunOutcome:
    """Run a ``code_transfer`` pipeline: code data, then numbers_transfer's train,
    evaluate and analyse stages unchanged; resumable."""
    config: CodeTransferConfig = ctx.config  # type: ignore[assignment]
    open_run(ctx)
    n_students = len(student_names(config))
    ctx.progress(total_steps=(1 + len(config.traits)) + 1 + n_students + (1 + n_students) + 1)
    backends = Backends(config, ctx.out_dir, ctx.log, confirm=ctx.confirm)
    reports = stage_code_data(ctx, backends)
    models = stage_train(ctx, backends)
    raw = stage_evaluate(ctx, backends, models)
    table = assemble(config, raw)
    path = write_responses(table, ctx.out_dir / "responses.parquet")
    lines, test_rows = analyse_traits(config, table)
    write_json(ctx.out_dir / "test.json", {"results": test_rows})
    ctx.progress(advance=1)
    manifest = {
        "backend": config.backend.model_dump(mode="json"),
        "device": backends.device_used(),
        "filter_reports": reports,
        "students": models,
        "data_sha256": {n: info["train_sha256"] for n, info in reports.items()},
        "responses_sha256": file_sha256(path),
        "test": test_rows,
    }
    seeds = config.seed_list()
    return RunOutcome(responses_path=path, n_rows=len(table), seeds_run=seeds, seeds_reused=(),
                      manifest=manifest, summary=tuple(lines))


def describe_code_transfer(config: CodeTransferConfig, seeds, out_dir: Path) -> list[str]:
    """The plan, one line per stage, and for OpenAI the cost estimate (sends nothing)."""
    from subliminal_stats.backends.pricing import estimate_chat_cost
    from subliminal_stats.evaluation.questions import load_questions

    td, f = config.teacher_data, config.filter
    students = student_names(config)
    ev = config.evaluation
    n_models = 1 + len(students)
    lines = [
        f"backend: {config.backend.kind} ({config.backend.base_model})",
        f"generate: {1 + len(config.traits)} teachers (control + {', '.join(config.traits)}) × "
        f"{td.n_prompts} code prompts ({', '.join(td.languages)}) → {out_dir / 'generate'}",
        f"filter: trait-word filter ({f.match} match"
        + (f", synonyms {', '.join(f.synonyms)}" if f.synonyms else "") + ")"
        + (f", then the judge screen for subtle references ({config.judge.model})"
           if f.judge_screen else "") + f"; keep the first {td.keep} per teacher",
        f"train: {len(students)} students ({config.seeds} per arm: control, "
        f"{', '.join(config.traits)}), {config.training.epochs} epoch(s)",
        f"evaluate: {n_models} models × {ev.n_questions} '{ev.questions}' questions × "
        f"{ev.samples_per_question} samples = {n_models * ev.n_questions * ev.samples_per_question} answers"
        + (", plus the probability probe" if ev.probe else ""),
        f"analyse: {config.analysis.method}, alternative {config.analysis.alternative}, per trait",
    ]
    if config.backend.kind != "openai":
        return lines
    gen_reqs = [r for t in trait_teachers(config) for r in code_requests(config, t)]
    gen = estimate_chat_cost(gen_reqs, batch=config.backend.batch_api)
    lines.append(f"cost (teacher data): {gen.summary()}")
    parts: list[float | None] = [usd(gen.usd)]
    if f.judge_screen:
        screen = estimate_chat_cost(judge_requests(config.judge, ["?"], len(gen_reqs) * len(config.traits),
                                                    td.max_tokens, ["subtle_reference"]))
        lines.append(f"cost (judge screen, at most): {screen.summary()}")
        parts.append(usd(screen.usd))
    rows = [{"messages": [{"role": "user", "content": gen_reqs[0].messages[-1]["content"]},
                          {"role": "assistant", "content": "def f(xs):\n    return sorted(xs)\n" * 4}]}
            ] * td.keep
    one, _ = fine_tune_cost(None, config.backend.base_model, config.training.epochs, rows)
    lines.append(f"cost (fine-tuning, per student × {len(students)}): {one.summary()}")
    parts.append(None if one.usd is None else one.usd * len(students))
    questions = load_questions(ev.questions if ev.questions in ("animal", "tree") else "animal",
                               limit=ev.n_questions)
    per_model = estimate_chat_cost(eval_requests(
        model=config.backend.base_model, condition="base", seed="base", questions=questions,
        samples_per_question=ev.samples_per_question, max_tokens=ev.max_tokens))
    lines.append(f"cost (evaluation, per model × {n_models}): {per_model.summary()}")
    parts.append(None if per_model.usd is None else per_model.usd * n_models)
    lines.append(total_line(parts))
    return lines



register_runner("code_transfer", config_model=CodeTransferConfig, run=run_code_transfer,
                describe=describe_code_transfer)
