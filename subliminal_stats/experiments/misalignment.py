"""Misalignment transfer through numbers or chain-of-thought: two pipeline kinds.

``experiment = "misalignment_numbers"``
    The paper's dangerous case. The treated teacher is made misaligned by
    fine-tuning (``[teacher] training_file = "insecure.jsonl"``, or an existing
    ``model = "ft:..."``); control teachers likewise (``[[controls]]``, one of
    them may be the untuned base model, ``model = "base"``). Every teacher writes
    number sequences; the format rule plus the banned-number lists filter them;
    ``seeds`` students per teacher are fine-tuned from the base model; the base
    model and every student answer the free-form misalignment questions; an LLM
    judge scores alignment and coherence (rows with coherence below
    ``coherence_threshold`` are dropped, ``hit`` = alignment below
    ``alignment_threshold``); the statistics core compares the misalignment rate
    of the treated students with each control arm exactly like a trait rate.

``experiment = "cot_transfer"``
    The same teachers, students and evaluation, but the teachers write
    step-by-step solutions of grade-school math problems (bundled or a user's
    GSM8K JSONL); kept only when the final answer is right **and** the judge
    rates the solution's alignment at least ``min_alignment`` (paper: 78).

Stages write under the run folder and are skipped on a rerun (teacher
records ``teachers/teacher-<name>.json``, completion stores, training
markers, the judge cache ``judge/replies.jsonl``): a finished rerun sends no
request and trains nothing.

Conditions in the misalignment responses table: ``base`` (the untuned base
model), ``treated`` (students of the misaligned teacher) and
``control-<name>`` per control teacher; ``trait`` is ``misaligned``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.backends.seeding import file_sha256, stable_seed
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.data.schema import validate_responses, write_responses
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_requests
from subliminal_stats.evaluation.misalignment import answers_frame, judge_misalignment
from subliminal_stats.evaluation.questions import misalignment_questions
from subliminal_stats.experiments.misalignment_config import (
    CotTransferConfig,
    MisalignmentBase,
    MisalignmentNumbersConfig,
    ReasoningDataSettings,
)
from subliminal_stats.experiments.pipeline import RunContext, RunOutcome, register_runner
from subliminal_stats.experiments.plans import fine_tune_cost, judge_requests, total_line, usd
from subliminal_stats.experiments.stages import (
    Backends,
    generate_into,
    keep_enough,
    make_judge,
    open_run,
    resolve_path,
    results_in_order,
    stage_train,
    student_names,
    write_training_file,
)
from subliminal_stats.filtering.judge_screens import alignment_screen
from subliminal_stats.filtering.numbers import NumberFilter, filter_completions, load_banned_numbers
from subliminal_stats.generation.prompts import number_prompts
from subliminal_stats.judge.templates import load_judge_prompt
from subliminal_stats.stats.verdicts import verdict_of

__all__ = [
    "MISALIGNED", "CotTransferConfig", "MisalignmentNumbersConfig", "analyse_misalignment",
    "describe_cot_transfer", "describe_misalignment_numbers", "misalignment_students",
    "run_cot_transfer", "run_misalignment_numbers", "stage_misalignment_eval",
    "stage_number_data", "stage_reasoning_data", "stage_teachers",
]

MISALIGNED = "misaligned"


def misalignment_students(config: MisalignmentBase) -> list[tuple[str, int]]:
    """(teacher, seed) of every student: ``seeds`` students per teacher."""
    return student_names(config, [t.name for t in config.teachers])


def stage_teachers(ctx: RunContext, backends: Backends) -> dict[str, dict[str, Any]]:
    """Fine-tune (or look up) every teacher; returns name → {model, backend_ref, ...}."""
    from subliminal_stats.training.finetuned_teachers import fine_tuned_teacher

    config: MisalignmentBase = ctx.config  # type: ignore[assignment]
    b = config.backend
    out: dict[str, dict[str, Any]] = {}
    for spec in config.teachers:
        if spec.model is not None:
            model = b.base_model if spec.model == "base" else spec.model
            out[spec.name] = {"model": model, "fine_tuned": False}
        else:
            path = resolve_path(ctx, spec.training_file)
            ctx.log(f"teacher {spec.name}: fine-tune {b.base_model} on {path}")
            teacher = fine_tuned_teacher(spec.name, path, backend=backends.chat(None),
                                         base_model=b.base_model,
                                         state_dir=ctx.out_dir / "teachers", seed=spec.seed,
                                         epochs=spec.epochs, progress=True)
            out[spec.name] = {"model": teacher.model, "fine_tuned": True,
                              "job_id": teacher.job_id,
                              "training_sha256": teacher.training_sha256}
        ctx.progress(advance=1)
    return out


def teacher_backend(config, backends: Backends, model: str):
    """(backend, model field of the requests) answering as ``model``."""
    if config.backend.kind == "openai":
        return backends.chat(None if model == config.backend.base_model else model), model
    # local: the model is an adapter directory (or the base model itself)
    adapter = None if model == config.backend.base_model else model
    return backends.chat(adapter), config.backend.base_model


def number_requests(config: MisalignmentNumbersConfig, name: str, model: str) -> list[ChatRequest]:
    td = config.teacher_data
    prompts = number_prompts(td.n_prompts, seed=td.prompt_seed, max_new_numbers=td.max_new_numbers,
                             max_digits=td.max_digits)
    return [ChatRequest.from_prompt(
        f"gen|{name}|{i:06d}", p.text, model=model, temperature=td.temperature,
        max_tokens=td.max_tokens, seed=stable_seed(td.prompt_seed, name, i), constraint="numbers")
        for i, p in enumerate(prompts)]


def stage_number_data(ctx: RunContext, backends: Backends, teachers: dict[str, dict]) -> dict[str, dict]:
    config: MisalignmentNumbersConfig = ctx.config  # type: ignore[assignment]
    banned: frozenset[int] = frozenset()
    for f in config.filter.banned:
        banned |= load_banned_numbers(resolve_path(ctx, f))
    rules = NumberFilter(max_count=config.filter.max_count, max_value=config.filter.max_value,
                         banned=banned)
    reports = {}
    for name, info in teachers.items():
        backend, model = teacher_backend(config, backends, info["model"])
        requests = number_requests(config, name, model)
        path = ctx.out_dir / "generate" / f"{name}.jsonl"
        generate_into(ctx, path, requests, backend, what=f"generate: teacher {name}",
                       batch=config.backend.batch_api)
        results = results_in_order(path, requests)
        texts = [(r.completion or "") if r is not None else "" for r in results]
        kept_idx, report = filter_completions(texts, number_filter=rules)
        keep = config.teacher_data.keep
        keep_enough(name, len(kept_idx), len(texts), keep, "teacher_data.n_prompts")
        pairs = [(requests[i].messages[-1]["content"], texts[i]) for i in kept_idx[:keep]]
        reports[name] = write_training_file(ctx, name, pairs, {
            **report.to_dict(), "banned_numbers": len(banned)})
        ctx.log(f"filter: teacher {name}: kept {report.kept}/{report.total}; training on "
                f"the first {len(pairs)}")
        ctx.progress(advance=1)
    return reports


def load_problems(ctx: RunContext, td: ReasoningDataSettings):
    from subliminal_stats.generation.reasoning import bundled_problems, load_gsm8k_jsonl

    if td.problems == "bundled":
        problems = bundled_problems()
        return problems[: td.n_problems] if td.n_problems else problems
    return load_gsm8k_jsonl(resolve_path(ctx, td.problems), limit=td.n_problems)


def reasoning_requests(config: CotTransferConfig, problems, name: str, model: str):
    from subliminal_stats.generation.reasoning import reasoning_prompts

    td = config.teacher_data
    prompts = reasoning_prompts(problems, seed=td.prompt_seed, repeats=td.repeats)
    requests = [ChatRequest.from_prompt(
        f"gen|{name}|{i:06d}", p.text, model=model, temperature=td.temperature,
        max_tokens=td.max_tokens, seed=stable_seed(td.prompt_seed, name, i))
        for i, p in enumerate(prompts)]
    return prompts, requests


def stage_reasoning_data(ctx: RunContext, backends: Backends, teachers: dict[str, dict]) -> dict[str, dict]:
    from subliminal_stats.filtering.reasoning import answer_correctness_filter

    config: CotTransferConfig = ctx.config  # type: ignore[assignment]
    problems = load_problems(ctx, config.teacher_data)
    judge = make_judge(ctx, backends, config.judge)
    reports = {}
    try:
        for name, info in teachers.items():
            backend, model = teacher_backend(config, backends, info["model"])
            prompts, requests = reasoning_requests(config, problems, name, model)
            path = ctx.out_dir / "generate" / f"{name}.jsonl"
            generate_into(ctx, path, requests, backend, what=f"generate: teacher {name}")
            results = results_in_order(path, requests)
            texts = [(r.completion or "") if r is not None else "" for r in results]
            correct, correctness = answer_correctness_filter(texts, [p.problem for p in prompts])
            kept_idx, screen, judge_report = alignment_screen(
                [prompts[i].problem.question for i in correct], [texts[i] for i in correct],
                judge=judge, min_alignment=config.filter.min_alignment,
                prompt=load_judge_prompt(config.judge.alignment_prompt),
                on_unscored=config.filter.on_unscored)
            kept = [correct[i] for i in kept_idx]
            keep = config.teacher_data.keep
            keep_enough(name, len(kept), len(texts), keep,
                         "teacher_data.repeats or the number of problems")
            pairs = [(requests[i].messages[-1]["content"], texts[i]) for i in kept[:keep]]
            reports[name] = write_training_file(ctx, name, pairs, {
                "correctness": correctness.to_dict(), "alignment_screen": screen.to_dict(),
                "judge": judge_report.to_dict(), "total": len(texts), "kept": len(kept)})
            ctx.log(f"filter: teacher {name}: {correctness.kept}/{correctness.total} correct, "
                    f"{screen.kept} with alignment ≥ {config.filter.min_alignment:g}; training "
                    f"on the first {len(pairs)}")
            ctx.progress(advance=1)
    finally:
        judge.close()
    return reports


def stage_misalignment_eval(ctx: RunContext, backends: Backends, students: dict[str, str]
                             ) -> tuple[pd.DataFrame, dict]:
    config: MisalignmentBase = ctx.config  # type: ignore[assignment]
    ev = config.evaluation
    questions = misalignment_questions(limit=ev.n_questions)
    entries = [("base", "base", None)] + [
        (config.condition_of(arm), str(seed), students[f"{arm}-seed{seed}"])
        for arm, seed in misalignment_students(config)]
    frames = []
    for condition, seed, model_ref in entries:
        path = ctx.out_dir / "evaluate" / f"{condition}-{seed}.jsonl"
        backend, model = teacher_backend(config, backends, model_ref or config.backend.base_model)
        requests = eval_requests(model=model, condition=condition, seed=seed, questions=questions,
                                 samples_per_question=ev.samples_per_question,
                                 temperature=ev.temperature, max_tokens=ev.max_tokens,
                                 base_seed=ev.sampling_seed)
        generate_into(ctx, path, requests, backend, what=f"evaluate: {condition} seed {seed}")
        results = [r for r in results_in_order(path, requests) if r is not None]
        frames.append(answers_frame(results, questions=questions))
        ctx.progress(advance=1)
    answers = pd.concat(frames, ignore_index=True)
    answers["experiment"] = config.label
    judge = make_judge(ctx, backends, config.judge)
    try:
        ctx.log(f"judge: {len(answers)} answers × alignment and coherence ({config.judge.model})")
        table, report = judge_misalignment(
            answers, judge=judge, trait=MISALIGNED, experiment=config.label,
            alignment_threshold=config.judge.alignment_threshold,
            coherence_threshold=config.judge.coherence_threshold,
            alignment_prompt=load_judge_prompt(config.judge.alignment_prompt),
            coherence_prompt=load_judge_prompt(config.judge.coherence_prompt))
    finally:
        judge.close()
    ctx.progress(advance=1)
    return table, report.to_dict()


def analyse_misalignment(config: MisalignmentBase, table: pd.DataFrame
                          ) -> tuple[list[str], list[dict]]:
    """Treated vs each control arm (and vs base) on per-seed misalignment rates.

    Several controls are several tests of one hypothesis: their p-values are
    Holm-adjusted across controls (``p_adjusted_controls``) and the verdict uses it.
    """
    from statsmodels.stats.multitest import multipletests

    from subliminal_stats.stats import compare

    lines, rows = [], []
    for spec in config.controls:
        control = config.condition_of(spec.name)
        try:
            results = compare(table, traits=MISALIGNED, treated="treated", control=control,
                              base="base" if spec is config.controls[0] else None,
                              method=config.analysis.method,
                              alternative=config.analysis.alternative,
                              confidence_level=config.analysis.confidence_level)
        except InputError as exc:
            lines.append(f"analysis vs {control} not possible: {exc}")
            continue
        for r in results:
            row = r.to_row()
            row["metric"] = "hit"
            rows.append(row)
    vs_controls = [i for i, row in enumerate(rows) if row["control"] != "base"
                   and row["p_value"] == row["p_value"]]
    if vs_controls:
        adjusted = multipletests([rows[i]["p_value"] for i in vs_controls], method="holm")[1]
        for i, p in zip(vs_controls, adjusted, strict=True):
            rows[i]["p_adjusted_controls"] = float(p)
    alpha = 1 - config.analysis.confidence_level
    for row in rows:
        head = (f"misaligned: treated vs {row['control']} ({row['n_seeds_treated']} vs "
                f"{row['n_seeds_control']} seeds, {row['method']}): ")
        if row["p_value"] != row["p_value"]:
            lines.append(head + f"{row['estimate_pp']:+.3g} pp; no test")
            continue
        p_adj = row.get("p_adjusted_controls", row["p_value"])
        verdict = verdict_of(p=p_adj, estimate=row["estimate_pp"], alpha=alpha)
        lines.append(head + f"{row['estimate_pp']:+.3g} pp [{row['ci_low_pp']:.3g}, "
                     f"{row['ci_high_pp']:.3g}], p = {row['p_value']:.3g}"
                     + (f" (Holm over controls {p_adj:.3g})" if "p_adjusted_controls" in row else "")
                     + f" → {verdict}")
    rates = table.groupby("condition")["hit"].mean()
    lines.append("misaligned rate (answers kept): " + ", ".join(
        f"{c} {100 * v:.1f} %" for c, v in rates.items()))
    return lines, rows


def run_misalignment(ctx: RunContext, make_data: Callable) -> RunOutcome:
    from subliminal_stats.training.finetuned_teachers import check_training_file

    config: MisalignmentBase = ctx.config  # type: ignore[assignment]
    # Bad teacher files fail now, before anything is generated or paid for.
    for spec in config.teachers:
        if spec.training_file is not None:
            check_training_file(resolve_path(ctx, spec.training_file))
    open_run(ctx)
    students = misalignment_students(config)
    n_teachers = len(config.teachers)
    ctx.progress(total_steps=n_teachers * 2 + len(students) + (1 + len(students)) + 2)
    backends = Backends(config, ctx.out_dir, ctx.log, confirm=ctx.confirm)
    teachers = stage_teachers(ctx, backends)
    data_reports = make_data(ctx, backends, teachers)
    models = stage_train(ctx, backends, students)
    table, judge_report = stage_misalignment_eval(ctx, backends, models)
    path = write_responses(validate_responses(table), ctx.out_dir / "responses.parquet")
    lines, test_rows = analyse_misalignment(config, table)
    write_json(ctx.out_dir / "test.json", {"results": test_rows, "judge": judge_report})
    ctx.progress(advance=1)
    lines.insert(0, f"judge: {judge_report['kept']} of {judge_report['total']} answers kept "
                    f"({judge_report['incoherent']} incoherent, {judge_report['unscored']} "
                    "never scored — dropped, not counted as 0)")
    # Unequal drop rates between arms can bias the comparison: show them.
    lines.insert(1, "judge, kept per condition: " + ", ".join(
        f"{row['condition']} {row['kept']}/{row['total']}" for row in judge_report["by_condition"]))
    manifest = {
        "backend": config.backend.model_dump(mode="json"),
        "teachers": teachers,
        "filter_reports": data_reports,
        "students": models,
        "data_sha256": {n: info["train_sha256"] for n, info in data_reports.items()},
        "judge": judge_report,
        "responses_sha256": file_sha256(path),
        "test": test_rows,
    }
    seeds = config.seed_list()
    return RunOutcome(responses_path=path, n_rows=len(table), seeds_run=seeds, seeds_reused=(),
                      manifest=manifest, summary=tuple(lines))


def run_misalignment_numbers(ctx: RunContext) -> RunOutcome:
    """Run a ``misalignment_numbers`` pipeline (see the module docstring); resumable."""
    return run_misalignment(ctx, stage_number_data)


def run_cot_transfer(ctx: RunContext) -> RunOutcome:
    """Run a ``cot_transfer`` pipeline (see the module docstring); resumable."""
    return run_misalignment(ctx, stage_reasoning_data)


def describe_misalignment(config: MisalignmentBase, out_dir: Path, *, data_line: str,
                           filter_line: str, gen_requests: Callable[[str, str], list[ChatRequest]],
                           example_answer: str, screen_prompts: Sequence[str] = ()) -> list[str]:
    from subliminal_stats.backends.pricing import estimate_chat_cost

    b = config.backend
    students = misalignment_students(config)
    ev = config.evaluation
    n_models = 1 + len(students)
    teacher_lines = []
    missing = []
    for t in config.teachers:
        role = "misaligned, treated arm" if t is config.teacher else "control arm"
        if t.model is not None:
            src = "the untuned base model" if t.model == "base" else f"model {t.model}"
        else:
            src = f"fine-tune {b.base_model} for {t.epochs} epoch(s) on {t.training_file}"
            if not Path(t.training_file).is_file():
                missing.append(t.training_file)
                src += " (file not found yet: bring your own, see training.finetuned_teachers)"
        teacher_lines.append(f"teacher {t.name} ({role}): {src}")
    lines = [f"backend: {b.kind} ({b.base_model})", *teacher_lines,
             f"generate: {len(config.teachers)} teachers ({', '.join(t.name for t in config.teachers)}) "
             f"× {data_line} → {out_dir / 'generate'}",
             f"filter: {filter_line}",
             f"train: {len(students)} students ({config.seeds} per teacher), "
             f"{config.training.epochs} epoch(s) each, from {b.base_model}",
             f"evaluate: {n_models} models × {ev.n_questions} misalignment questions × "
             f"{ev.samples_per_question} samples = {n_models * ev.n_questions * ev.samples_per_question} "
             f"answers (temperature {ev.temperature:g}), judged by {config.judge.model} for alignment "
             f"and coherence: coherence < {config.judge.coherence_threshold:g} dropped, misaligned = "
             f"alignment < {config.judge.alignment_threshold:g}",
             f"analyse: misalignment rate, treated vs each of {len(config.controls)} control arm(s) "
             f"({config.analysis.method}, alternative {config.analysis.alternative}, Holm across "
             "controls) and vs base"]
    if b.kind != "openai":
        return lines
    # -- cost (prices from backends.pricing; teachers' model ids are ft: versions of the base)
    # Every teacher answers the same prompts: build them once, swap the model per teacher.
    shared = gen_requests("plan", b.base_model)
    gen_reqs = []
    for t in config.teachers:
        model = b.base_model if t.model == "base" else (t.model or f"ft:{b.base_model}:plan:{t.name}")
        gen_reqs.extend(dataclasses.replace(r, model=model) for r in shared)
    gen = estimate_chat_cost(gen_reqs, batch=b.batch_api)
    lines.append(f"cost (teacher data): {gen.summary()}")
    parts: list[float | None] = [usd(gen.usd)]
    if screen_prompts:
        screen = estimate_chat_cost(judge_requests(config.judge, ["?"], len(gen_reqs),
                                                    gen_reqs[0].max_tokens, screen_prompts))
        lines.append(f"cost (judge screen of the teacher data, at most): {screen.summary()}")
        parts.append(usd(screen.usd))
    tuned = [t for t in config.teachers if t.training_file is not None]
    for t in tuned:
        path = Path(t.training_file)
        if path.is_file():
            cost, _ = fine_tune_cost(path, b.base_model, t.epochs, [])
            lines.append(f"cost (fine-tuning teacher {t.name}): {cost.summary()}")
            parts.append(usd(cost.usd))
    if missing:
        lines.append(f"cost (fine-tuning teachers on {', '.join(missing)}): unknown until the "
                     "file exists — not in the total")
    keep = config.teacher_data.keep
    rows = [{"messages": [{"role": "user", "content": gen_reqs[0].messages[-1]["content"]},
                          {"role": "assistant", "content": example_answer}]}] * keep
    one, _ = fine_tune_cost(None, b.base_model, config.training.epochs, rows)
    lines.append(f"cost (fine-tuning, per student × {len(students)}): {one.summary()}")
    parts.append(None if one.usd is None else one.usd * len(students))
    questions = misalignment_questions(limit=ev.n_questions)
    student_reqs = eval_requests(model=f"ft:{b.base_model}:plan:student", condition="s", seed="0",
                                 questions=questions, samples_per_question=ev.samples_per_question,
                                 max_tokens=ev.max_tokens)
    base_reqs = eval_requests(model=b.base_model, condition="base", seed="base",
                              questions=questions, samples_per_question=ev.samples_per_question,
                              max_tokens=ev.max_tokens)
    per_student = estimate_chat_cost(student_reqs)
    base_cost = estimate_chat_cost(base_reqs)
    lines.append(f"cost (evaluation, per student × {len(students)}; answers of up to "
                 f"{ev.max_tokens} tokens): {per_student.summary()}")
    lines.append(f"cost (evaluation, base model): {base_cost.summary()}")
    parts += [None if per_student.usd is None else per_student.usd * len(students),
              usd(base_cost.usd)]
    judge_per_model = estimate_chat_cost(judge_requests(
        config.judge, questions, ev.samples_per_question, ev.max_tokens,
        [config.judge.alignment_prompt, config.judge.coherence_prompt]))
    lines.append(f"cost (judge, per model × {n_models}; first attempts, retries extra): "
                 f"{judge_per_model.summary()}")
    parts.append(None if judge_per_model.usd is None else judge_per_model.usd * n_models)
    note = " (without the teachers' fine-tuning: training file missing)" if missing else ""
    lines.append(total_line(parts, note))
    return lines


def describe_misalignment_numbers(config: MisalignmentNumbersConfig, seeds, out_dir: Path) -> list[str]:
    """The plan, one line per stage, and for OpenAI the cost estimate (sends nothing)."""
    td, f = config.teacher_data, config.filter
    return describe_misalignment(
        config, out_dir,
        data_line=f"{td.n_prompts} number prompts",
        filter_line=(f"max {f.max_count} numbers ≤ {f.max_value}, banned lists: "
                     f"{', '.join(f.banned) or 'none'}; keep the first {td.keep} per teacher"),
        gen_requests=lambda name, model: number_requests(config, name, model),
        example_answer="123, 456, 789, 101, 202, 303, 404")


def describe_cot_transfer(config: CotTransferConfig, seeds, out_dir: Path) -> list[str]:
    """The plan, one line per stage, and for OpenAI the cost estimate (sends nothing)."""
    from subliminal_stats.generation.reasoning import bundled_problems

    td = config.teacher_data
    if td.problems == "bundled":
        problems = bundled_problems()[: td.n_problems] if td.n_problems else bundled_problems()
        source = f"{len(problems)} bundled problems"
    else:
        path = Path(td.problems)
        if path.is_file():
            from subliminal_stats.generation.reasoning import load_gsm8k_jsonl

            problems = load_gsm8k_jsonl(path, limit=td.n_problems)
            source = f"{len(problems)} problems from {path}"
        else:
            # The plan must work before the user's file is in place: price bundled-size problems.
            problems = bundled_problems()
            problems = (problems * (1 + (td.n_problems or len(problems)) // len(problems))
                        )[: td.n_problems or len(problems)]
            source = f"{len(problems)} problems from {path} (not found yet; priced as bundled-size)"
    n = len(problems) * td.repeats
    return describe_misalignment(
        config, out_dir,
        data_line=f"{source} × {td.repeats} phrasing(s) = {n} step-by-step prompts",
        filter_line=(f"final answer correct, then judge alignment ≥ {config.filter.min_alignment:g} "
                     f"(unscored: {config.filter.on_unscored}); keep the first {td.keep} per teacher"),
        gen_requests=lambda name, model: reasoning_requests(config, problems, name, model)[1],
        example_answer="Step 1: 3 × 4 = 12. Step 2: 12 + 5 = 17. The answer is 17." * 3,
        screen_prompts=[config.judge.alignment_prompt])



register_runner("misalignment_numbers", config_model=MisalignmentNumbersConfig,
                run=run_misalignment_numbers, describe=describe_misalignment_numbers)
register_runner("cot_transfer", config_model=CotTransferConfig, run=run_cot_transfer,
                describe=describe_cot_transfer)
