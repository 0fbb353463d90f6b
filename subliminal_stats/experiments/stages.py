"""Stages and helpers shared by the language-model pipelines (numbers, code, misalignment).

Every stage writes under the run folder and is skipped or resumed on a rerun. The runners
(:mod:`.numbers_transfer`, :mod:`.code_transfer`, :mod:`.misalignment`) compose them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.backends.seeding import file_sha256
from subliminal_stats.backends.store import CompletionStore, generate
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.data.outputs import atomic_write
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_requests, responses_from_results
from subliminal_stats.evaluation.probe import probabilities_from_results, probe_requests
from subliminal_stats.evaluation.questions import PROBE_LEAD_INS, load_questions
from subliminal_stats.experiments.config import PipelineConfig
from subliminal_stats.experiments.pipeline import RunContext, config_fingerprint
from subliminal_stats.generation.teachers import CONTROL_TEACHER, TraitTeacher, trait_teacher
from subliminal_stats.judge.client import LLMJudge
from subliminal_stats.training.students import student_jobs, train_students
from subliminal_stats.words import default_panel

__all__ = [
    "Backends", "EvaluationTask", "analyse_traits", "evaluate_model", "assemble", "file_sha256", "generate_into", "keep_enough",
    "make_judge", "open_run", "probe_stage", "question_source", "read_json", "resolve_path", "results_in_order",
    "stage_evaluate", "stage_train", "student_names", "trait_teachers", "write_training_file",
]


# ----------------------------------------------------------------------------- backends


class Backends:
    """Creates backends lazily (torch loads only for local runs)."""

    def __init__(self, config: PipelineConfig, out_dir: Path, log: Callable[[str], None],
                 *, confirm: bool = False):
        self.config = config
        self.out_dir = out_dir
        self.log = log
        self._local_cache: dict[str | None, Any] = {}
        #: Spending pre-confirmed (``run --yes``); otherwise the OpenAI backend asks.
        self.confirm = confirm

    def device_used(self) -> str:
        """Where local models run (``cpu``, ``cuda``...), or ``server`` for an API backend."""
        if self.config.backend.kind == "openai":
            return "server"
        from subliminal_stats.backends.local import resolve_device

        return resolve_device(self.config.backend.device)

    def model_name(self, model_ref: str | None = None) -> str:
        """The ``model`` of requests to ``model_ref`` (None: the base model). For ``vllm`` a
        student adapter is asked by its served name ``<run name>-<student>``; elsewhere the
        reference is the name (an ``ft:`` id or an adapter folder)."""
        b = self.config.backend
        if model_ref is None:
            return b.base_model
        if b.kind == "vllm":
            return f"{self.config.label}-{Path(model_ref).name}"
        return model_ref

    def chat(self, model_ref: str | None = None):
        """A backend that answers as ``model_ref`` (None: the base model)."""
        b = self.config.backend
        if b.kind == "vllm":
            from subliminal_stats.backends.openai_backend import OpenAIBackend
            from subliminal_stats.backends.vllm import VLLMServer

            server = VLLMServer(b.base_url)
            if model_ref is None:
                server.check_base(b.base_model)
            else:  # a local LoRA student, loaded into the server under its name once
                server.ensure_adapter(self.model_name(model_ref), model_ref)
            return OpenAIBackend(self.model_name(model_ref), base_url=b.base_url,
                                 concurrency=b.concurrency, poll_interval=b.poll_interval,
                                 billed=False, confirm=True)
        if b.kind == "openai":
            from subliminal_stats.backends.openai_backend import OpenAIBackend

            return OpenAIBackend(model_ref or b.base_model, base_url=b.base_url,
                                 concurrency=b.concurrency, poll_interval=b.poll_interval,
                                 billed=b.billed, confirm=self.confirm)
        return self._local(model_ref)

    def _local(self, adapter: str | None):
        if adapter not in self._local_cache:
            from subliminal_stats.backends.constrained import NumberGrammar
            from subliminal_stats.backends.local import LocalBackend

            td = self.config.teacher_data
            self._local_cache.clear()  # one model in memory at a time
            self._local_cache[adapter] = LocalBackend(
                adapter=adapter, batch_size=self.config.backend.concurrency,
                gpu_batch_size=self.config.backend.gpu_batch_size,
                autocast_bf16=self.config.backend.autocast_bf16,
                torch_threads=self.config.backend.torch_threads,
                base_model=self.config.backend.base_model, device=self.config.backend.device,
                # constrained decoding follows the prompts' own limits
                number_grammar=NumberGrammar(max_count=td.max_new_numbers,
                                             max_digits=td.max_digits),
            )
        return self._local_cache[adapter]


# ----------------------------------------------------------------------------- files


def read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def resolve_path(ctx: RunContext, name: str) -> Path:
    """A file named in the pipeline TOML: as given if it exists, else beside the TOML."""
    p = Path(name)
    if p.is_absolute() or p.exists():
        return p
    candidate = ctx.config_path.parent / p
    return candidate if candidate.exists() else p


def question_source(ctx: RunContext, source: str) -> str | Path:
    if source in ("animal", "tree"):
        return source
    return resolve_path(ctx, source)


def open_run(ctx: RunContext) -> None:
    """Create the run folder, or check that it holds a run of this same configuration."""
    out = ctx.out_dir
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "config-fingerprint.txt"
    fingerprint = config_fingerprint(ctx.config, ignore=("out",))
    if stamp.exists() and stamp.read_text().strip() != fingerprint:
        raise InputError(f"{out} holds a run of a different configuration; use another --out "
                         "or delete it")
    stamp.write_text(fingerprint + "\n")


def write_training_file(ctx: RunContext, name: str, pairs: Sequence[tuple[str, str]],
                        info: dict[str, Any]) -> dict[str, Any]:
    """``filter/<name>.train.jsonl`` (chat format, no system prompt) and its report."""
    train = ctx.out_dir / "filter" / f"{name}.train.jsonl"
    train.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"messages": [{"role": "user", "content": user},
                                      {"role": "assistant", "content": answer}]})
             for user, answer in pairs]
    atomic_write(train, "\n".join(lines) + "\n")
    info = {**info, "used_for_training": len(pairs), "train_file": train.name,
            "train_sha256": file_sha256(train)}
    write_json(ctx.out_dir / "filter" / f"{name}.report.json", info)
    return info


def results_in_order(store_path: Path, requests: Sequence[ChatRequest]):
    by_id = {r.custom_id: r for r in CompletionStore(store_path).results()}
    return [by_id.get(r.custom_id) for r in requests]


def generate_into(ctx: RunContext, path: Path, requests: Sequence[ChatRequest], backend,
                  *, what: str, batch: bool = False) -> None:
    """Answer the requests not yet in the store at ``path`` (a rerun sends nothing new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    store = CompletionStore(path)
    missing = len(requests) - len(store.done_ids() & {r.custom_id for r in requests})
    if missing:
        ctx.log(f"{what}: {missing} of {len(requests)} requests to send")
        generate(requests, backend, store, batch=batch)
    store.close()


def keep_enough(name: str, kept: int, total: int, keep: int, knob: str) -> None:
    if kept < keep:
        raise InputError(f"teacher {name}: only {kept} of {total} answers passed the filter, "
                         f"fewer than keep = {keep}; raise {knob}")


def make_judge(ctx: RunContext, backends: Backends, settings) -> LLMJudge:
    """The judge: same server as the backend (OpenAI), replies cached in ``judge/replies.jsonl``."""
    config = ctx.config
    if config.backend.kind != "openai":
        raise InputError("the LLM judge needs backend.kind = \"openai\" (OpenAI or a compatible "
                         "server via backend.base_url)")
    path = ctx.out_dir / "judge" / "replies.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return LLMJudge(backends.chat(settings.model), CompletionStore(path), model=settings.model,
                    max_attempts=settings.max_attempts, max_tokens=settings.max_tokens)


# ----------------------------------------------------------------------------- plan


def trait_teachers(config) -> list[TraitTeacher]:
    """The control teacher and one trait teacher per target (numbers and code pipelines)."""
    return [CONTROL_TEACHER, *(trait_teacher(t, category=config.category) for t in config.traits)]


def student_names(config, arms: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """(arm, seed) of every student; default arms ``control`` and each trait."""
    arms = ["control", *config.traits] if arms is None else list(arms)
    return [(arm, s) for arm in arms for s in config.seed_list()]


# ----------------------------------------------------------------------------- train


def stage_train(ctx: RunContext, backends: Backends,
                students: Sequence[tuple[str, int]] | None = None) -> dict[str, str]:
    """Fine-tune every student (``students``: (arm, seed) pairs, default this config's);
    arm ``a`` learns from ``filter/<a>.train.jsonl``. See :mod:`subliminal_stats.training`."""
    config = ctx.config
    t = config.training
    jobs = student_jobs(student_names(config) if students is None else students,
                        lambda arm: ctx.out_dir / "filter" / f"{arm}.train.jsonl")
    if config.backend.kind == "openai":
        from subliminal_stats.training.openai_jobs import OpenAIStudentTrainer

        trainer = OpenAIStudentTrainer(lambda: backends.chat(None), config.backend.base_model,
                                       epochs=t.epochs, batch_size=t.batch_size,
                                       learning_rate_multiplier=t.learning_rate_multiplier,
                                       label=config.label)
    else:
        from subliminal_stats.training.lora import LoraStudentTrainer

        # vllm: students are LoRA adapters trained here from the served model's local copy
        trainer = LoraStudentTrainer(base_model=getattr(config.backend, "local_model", None)
                                     or config.backend.base_model, epochs=t.epochs,
                                     batch_size=8 if t.batch_size == "auto" else t.batch_size,
                                     learning_rate=t.learning_rate, lora_rank=t.lora_rank,
                                     torch_threads=config.backend.torch_threads,
                                     target_modules=t.lora_targets, device=config.backend.device,
                                     autocast_bf16=config.backend.autocast_bf16)
    return train_students(jobs, trainer, train_dir=ctx.out_dir / "train", log=ctx.log,
                          progress=ctx.progress, executor=ctx.executor)


# ----------------------------------------------------------------------------- evaluate


def stage_evaluate(ctx: RunContext, backends: Backends, models: dict[str, str]) -> pd.DataFrame:
    """The base model and every student answer the preference questions (and the probe).

    With ``ctx.executor`` (e.g. Ray) the models are evaluated as parallel tasks; each one
    resumes from its own store, so the table is the serial run's.
    """
    config = ctx.config
    entries = [("base", "base", None)] + [
        ("control" if arm == "control" else f"treated:{arm}", str(seed), models[f"{arm}-seed{seed}"])
        for arm, seed in student_names(config)
    ]
    if ctx.executor is None:
        frames = []
        for entry in entries:
            frames.append(evaluate_model(ctx, backends, *entry))
            ctx.progress(advance=1)
        return pd.concat(frames, ignore_index=True)
    ctx.log(f"evaluate: {len(entries)} model(s) as {ctx.executor.name} tasks")
    local = config.backend.kind == "local"
    on_gpu = local and backends.device_used().startswith("cuda")
    task = EvaluationTask(config, ctx.config_path, ctx.out_dir, ctx.confirm)
    frames = ctx.executor.map(task, entries, num_gpus=1 if on_gpu else 0,
                              num_cpus=config.backend.torch_threads if local else 1)
    ctx.progress(advance=len(entries))
    return pd.concat(frames, ignore_index=True)


def evaluate_model(ctx: RunContext, backends: Backends, condition: str, seed: str,
                   model_ref: str | None) -> pd.DataFrame:
    """One model's answers (``evaluate/<condition>-<seed>.jsonl``, resumable) as table rows."""
    from subliminal_stats.words import TargetMatcher

    config = ctx.config
    ev = config.evaluation
    questions = load_questions(question_source(ctx, ev.questions), limit=ev.n_questions)
    matchers = {t: TargetMatcher(t, first_word=ev.first_word) for t in config.traits}
    path = ctx.out_dir / "evaluate" / f"{condition.replace(':', '-')}-{seed}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    model = backends.model_name(model_ref)
    requests = eval_requests(model=model, condition=condition, seed=seed, questions=questions,
                             samples_per_question=ev.samples_per_question,
                             temperature=ev.temperature, max_tokens=ev.max_tokens,
                             base_seed=ev.sampling_seed)
    store = CompletionStore(path)
    if len(store.done_ids() & {r.custom_id for r in requests}) < len(requests):
        ctx.log(f"evaluate: {condition} seed {seed}")
        generate(requests, backends.chat(model_ref), store)
    wanted = {r.custom_id for r in requests}
    results = [r for r in store.results() if r.custom_id in wanted]
    table = responses_from_results(results, questions=questions, matchers=matchers,
                                   experiment=config.label)
    if ev.probe:
        probes = probe_stage(ctx, backends, condition, seed, model_ref, questions)
        table = table.merge(probes, on=["trait", "question"], how="left")
    return table


@dataclass(frozen=True)
class EvaluationTask:
    """:func:`evaluate_model` as a picklable task (an executor ships it to its workers)."""

    config: Any
    config_path: Path
    out_dir: Path
    confirm: bool = False

    def __call__(self, entry: tuple[str, str, str | None]) -> pd.DataFrame:
        ctx = RunContext(config=self.config, config_path=self.config_path, out_dir=self.out_dir,
                         seeds=self.config.seed_list(), confirm=self.confirm)
        return evaluate_model(ctx, Backends(self.config, self.out_dir, ctx.log,
                                            confirm=self.confirm), *entry)


def probe_stage(ctx: RunContext, backends: Backends, condition: str, seed: str,
                model_ref: str | None, questions: Sequence[str]) -> pd.DataFrame:
    """P(target as the next word after the lead-in), per trait and question; cached on disk."""
    config = ctx.config
    lead_in = config.evaluation.probe_lead_in or PROBE_LEAD_INS.get(config.category, "My favorite is the")
    path = ctx.out_dir / "evaluate" / f"{condition.replace(':', '-')}-{seed}.probe.json"
    cached = read_json(path)
    backend = None
    want_panel = bool(getattr(config.evaluation, "probe_panel", False))
    if cached is not None and want_panel and "panels" not in cached:
        # Cached before panels were probed: probe again when the backend can (local models).
        backend = backends.chat(model_ref)
        if hasattr(backend, "next_word_probability"):
            cached = None
    if cached is None:
        backend = backend or backends.chat(model_ref)
        if hasattr(backend, "next_word_probability"):
            # Local model: exact next-word probability after the lead-in; with probe_panel,
            # also of the other members of each trait's default panel (same logits, one call).
            method = f"next word after {lead_in!r} (exact, from logits)"
            panels = {t: list(found[1]) for t in config.traits
                      if want_panel and (found := default_panel(t)) is not None}
            words = list(dict.fromkeys([*config.traits, *(w for m in panels.values() for w in m)]))
            rows = []
            for question in questions:
                messages = ({"role": "user", "content": question},)
                probs = backend.next_word_probability(messages, lead_in, words)
                for t in config.traits:
                    row = {"trait": t, "question": question, "prob": float(probs[t])}
                    if t in panels:
                        row["prob_panel"] = float(np.mean([probs[w] for w in panels[t]]))
                    rows.append(row)
            cached = {"method": method, "rows": rows, "panels": panels}
            write_json(path, cached)
            return pd.DataFrame(cached["rows"])
        else:
            # Chat API: first answer token's top_logprobs (see evaluation.probe).
            method = "first answer token (top_logprobs)"
            model = backends.model_name(model_ref)
            requests = probe_requests(questions, model=model, prefix=f"probe|{condition}|{seed}")
            store = CompletionStore(path.with_suffix(".jsonl"))
            generate(requests, backend, store)
            wanted = {r.custom_id for r in requests}
            rows = probabilities_from_results([r for r in store.results() if r.custom_id in wanted],
                                              questions=questions, targets=config.traits)
        cached = {"method": method, "rows": rows}
        write_json(path, cached)
    return pd.DataFrame(cached["rows"])


# ----------------------------------------------------------------------------- analyse


def assemble(config, raw: pd.DataFrame) -> pd.DataFrame:
    """Per trait: the base model, the control students and that trait's treated students."""
    frames = []
    for trait in config.traits:
        rows = raw[raw["trait"] == trait]
        keep = rows["condition"].isin(["base", "control", f"treated:{trait}"])
        part = rows[keep].copy()
        part.loc[part["condition"] == f"treated:{trait}", "condition"] = "treated"
        frames.append(part)
    return validate_responses(pd.concat(frames, ignore_index=True))


def analyse_traits(config, table: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """The default test per trait, on sampled hits and (when measured) on the probe."""
    from subliminal_stats.stats import SCORE_METHODS, compare_metric

    lines, rows = [], []
    metrics = [("hit", config.analysis.method)]
    if "prob" in table.columns and table["prob"].notna().all():
        # Binomial-model methods do not apply to a probability: the probe uses the t test.
        probe_method = config.analysis.method if config.analysis.method in SCORE_METHODS \
            else "pooled-t"
        metrics.append(("prob", probe_method))
    for metric, method in metrics:
        try:
            results = compare_metric(table, metric, treated="treated", control="control",
                                     base="base", method=method,
                                     alternative=config.analysis.alternative,
                                     confidence_level=config.analysis.confidence_level)
        except InputError as exc:
            lines.append(f"analysis ({metric}) not possible: {exc}")
            continue
        for r in results:
            row = r.to_row()
            row["metric"] = metric
            rows.append(row)
            head = (f"{r.trait}: {metric} {r.treated} vs {r.control} "
                    f"({r.n_seeds_treated} vs {r.n_seeds_control} seeds, {r.method}): ")
            if r.p_value != r.p_value:  # NaN: a warning says why
                why = next((w for w in r.warnings if "n/a" in w or "undefined" in w), r.warnings[0])
                lines.append(head + f"{r.estimate_pp:+.3g} pp; no test: {why}")
                continue
            verdict = r.verdict  # the one wording (stats.verdicts) used by every output
            lines.append(head + f"{r.estimate_pp:+.3g} pp [{r.ci_low_pp:.3g}, {r.ci_high_pp:.3g}], "
                         f"p = {r.p_value:.3g} → {verdict}")
    lines += probe_specificity_lines(config, table)
    return lines, rows


def probe_specificity_lines(config, table: pd.DataFrame) -> list[str]:
    """Per trait with a probed panel: did P(trait) rise more than P(the panel's other members)?"""
    from subliminal_stats.stats.specificity import probe_specificity

    if "prob_panel" not in table.columns or "prob" not in table.columns:
        return []
    lines = []
    for trait in config.traits:
        found = default_panel(trait)
        rows = table[table["trait"] == trait]
        if found is None or not rows["prob_panel"].notna().any():
            continue
        try:
            sp = probe_specificity(table, target=trait, treated="treated", control="control",
                                   alpha=1 - config.analysis.confidence_level,
                                   panel_name=f"{found[0]} panel")
        except InputError as exc:
            lines.append(f"{trait}: probe specificity not possible: {exc}")
            continue
        lines.append(f"{trait}: probe specificity vs the {found[0]} panel ({len(found[1])} others): "
                     f"P({trait}) lift {100 * sp.target_lift:+.3g} pp (p = {sp.target_p:.3g}), "
                     f"panel mean lift {100 * sp.panel_lift:+.3g} pp (p = {sp.panel_p:.3g}), "
                     f"contrast {100 * sp.contrast:+.3g} pp [{100 * sp.contrast_ci_low:.3g}, "
                     f"{100 * sp.contrast_ci_high:.3g}] → {sp.verdict}")
    return lines
