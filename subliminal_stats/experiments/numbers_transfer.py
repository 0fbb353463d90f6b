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

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from subliminal_stats.backends.base import ChatRequest, FineTuneSpec
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.data.schema import validate_responses, write_responses
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_requests, responses_from_results
from subliminal_stats.evaluation.probe import probabilities_from_results, probe_requests
from subliminal_stats.evaluation.questions import PROBE_LEAD_INS, load_questions
from subliminal_stats.words import TargetMatcher
from subliminal_stats.experiments.pipeline import (
    PipelineConfig,
    RunContext,
    RunOutcome,
    config_fingerprint,
    register_runner,
)
from subliminal_stats.filtering.numbers import (
    NumberFilter,
    filter_completions,
    load_banned_numbers,
)
from subliminal_stats.generation.prompts import number_prompts
from subliminal_stats.backends.store import CompletionStore, generate
from subliminal_stats.generation.teachers import CONTROL_TEACHER, TraitTeacher, trait_teacher

KIND = "numbers_transfer"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendSettings(_Section):
    #: ``local`` (SmolLM2 on CPU, offline) or ``openai`` (OpenAI or a compatible server).
    kind: Literal["local", "openai"] = "local"
    #: Base model: an OpenAI model id, or for ``local`` the bundled SmolLM2 (``"smollm2"``).
    base_model: str = "smollm2"
    #: OpenAI-compatible server (vLLM, Ollama, a test server); default api.openai.com.
    base_url: str | None = None
    #: Chat requests in flight (openai) or sequences per batch (local).
    concurrency: int = Field(8, ge=1)
    #: Use the OpenAI Batch API for generation (half price, slower).
    batch_api: bool = False
    #: Torch threads for the local backend (1 when other work shares the cores).
    torch_threads: int = Field(1, ge=1)
    #: Seconds between polls of OpenAI jobs.
    poll_interval: float = Field(10.0, gt=0)
    #: Whether the server bills (asks for --yes before spending); default: True for
    #: api.openai.com, False for a custom ``base_url`` (a local vLLM/Ollama server).
    billed: bool | None = None


class TeacherDataSettings(_Section):
    #: Prompts answered by each teacher.
    n_prompts: int = Field(1200, ge=1)
    #: Kept answers used to train each student (the first ``keep`` that pass the filter).
    keep: int = Field(1000, ge=1)
    prompt_seed: int = Field(0, ge=0)
    max_new_numbers: int = Field(10, ge=1)
    max_digits: int = Field(3, ge=1)
    temperature: float = Field(1.0, ge=0)
    max_tokens: int = Field(48, ge=1)


class FilterSettings(_Section):
    max_count: int = Field(10, ge=1)
    max_value: int = Field(999, ge=0)
    #: Files of banned numbers (one per line, ``#`` comments).
    banned: list[str] = Field(default_factory=list)


class TrainingSettings(_Section):
    epochs: int = Field(1, ge=1)
    batch_size: int | Literal["auto"] = "auto"
    #: OpenAI fine-tuning learning-rate multiplier.
    learning_rate_multiplier: float | Literal["auto"] = "auto"
    #: Local LoRA settings.
    learning_rate: float = Field(2e-4, gt=0)
    lora_rank: int = Field(8, ge=1)
    #: First seed of the students; student k of an arm uses ``first_seed + k``.
    first_seed: int = Field(0, ge=0)


class EvaluationSettings(_Section):
    #: ``animal``, ``tree`` or a file with one question per line.
    questions: str = "animal"
    n_questions: int = Field(50, ge=1)
    samples_per_question: int = Field(20, ge=1)
    temperature: float = Field(1.0, ge=0)
    max_tokens: int = Field(8, ge=1)
    #: Seeds of sampling derive from this (shared by every model).
    sampling_seed: int = Field(0, ge=0)
    #: Measure P(target as the next word after the lead-in) per question.
    probe: bool = True
    probe_lead_in: str | None = None
    #: Count only the first word of each answer.
    first_word: bool = False


class AnalysisSettings(_Section):
    #: A method of :func:`subliminal_stats.stats.compare` (default: its calibrated default).
    method: str = "pooled-t"
    alternative: Literal["two-sided", "greater"] = "two-sided"
    confidence_level: float = Field(0.95, gt=0, lt=1)


class NumbersTransferConfig(PipelineConfig):
    """A number-sequence subliminal-transfer experiment (``seeds`` = students per arm)."""

    seeds: int = 3
    #: Target words (one trait teacher and one treated arm each), e.g. ["owl"].
    traits: list[str] = Field(default_factory=lambda: ["owl"], min_length=1)
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
        cleaned = [" ".join(t.lower().split()) for t in value]
        if len(set(cleaned)) != len(cleaned) or any(not t for t in cleaned):
            raise ValueError("traits must be distinct, non-empty words")
        if "control" in cleaned:
            raise ValueError("'control' names the no-system-prompt teacher, not a trait")
        return cleaned


# ----------------------------------------------------------------------------- plan


def _teachers(config: NumbersTransferConfig) -> list[TraitTeacher]:
    return [CONTROL_TEACHER, *(trait_teacher(t, category=config.category) for t in config.traits)]


def _student_names(config: NumbersTransferConfig) -> list[tuple[str, int]]:
    """(arm, seed) of every student: arm ``control`` or a trait name."""
    seeds = [config.training.first_seed + k for k in range(config.seeds)]
    return [(arm, s) for arm in ["control", *config.traits] for s in seeds]


def _teacher_requests(config: NumbersTransferConfig, teacher: TraitTeacher) -> list[ChatRequest]:
    td = config.teacher_data
    prompts = number_prompts(td.n_prompts, seed=td.prompt_seed, max_new_numbers=td.max_new_numbers,
                             max_digits=td.max_digits)
    return [
        teacher.request(
            f"gen|{teacher.name}|{i:06d}", p.text, model=config.backend.base_model,
            temperature=td.temperature, max_tokens=td.max_tokens,
            seed=_stable_seed(td.prompt_seed, teacher.name, i), constraint="numbers",
        )
        for i, p in enumerate(prompts)
    ]


def _stable_seed(*parts: object) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def describe(config: NumbersTransferConfig, seeds: tuple[int, ...], out_dir: Path) -> list[str]:
    """The plan, one line per stage, plus the OpenAI cost estimate."""
    n_teachers = 1 + len(config.traits)
    students = _student_names(config)
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

    requests = [r for t in _teachers(config) for r in _teacher_requests(config, t)]
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
    lines.append(f"cost (fine-tuning, per student × {len(_student_names(config))}): {one.summary()}")
    ev = config.evaluation
    questions = load_questions(ev.questions, limit=ev.n_questions)
    eval_reqs = eval_requests(model=config.backend.base_model, condition="base", seed="base",
                              questions=questions, samples_per_question=ev.samples_per_question,
                              max_tokens=ev.max_tokens)
    per_model = estimate_chat_cost(eval_reqs)
    n_students = len(_student_names(config))
    lines.append(f"cost (evaluation, per model × {1 + n_students}): {per_model.summary()}")
    parts = [gen.usd, None if one.usd is None else one.usd * n_students,
             None if per_model.usd is None else per_model.usd * (1 + n_students)]
    if all(p is not None for p in parts):
        lines.append(f"cost (total, estimated): ≈ ${sum(parts):,.2f} — the run asks for --yes "
                     "before spending")
    else:
        lines.append("cost (total): unknown for this model; see the lines above")
    return lines


# ----------------------------------------------------------------------------- backends


class _Backends:
    """Creates backends lazily (torch loads only for local runs)."""

    def __init__(self, config: NumbersTransferConfig, out_dir: Path, log: Callable[[str], None],
                 *, confirm: bool = False):
        self.config = config
        self.out_dir = out_dir
        self.log = log
        self._local_cache: dict[str | None, Any] = {}
        #: Spending pre-confirmed (``run --yes``); otherwise the OpenAI backend asks.
        self.confirm = confirm

    def chat(self, model_ref: str | None = None):
        """A backend that answers as ``model_ref`` (None: the base model)."""
        b = self.config.backend
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
                torch_threads=self.config.backend.torch_threads,
                # constrained decoding follows the prompts' own limits
                number_grammar=NumberGrammar(max_count=td.max_new_numbers,
                                             max_digits=td.max_digits),
            )
        return self._local_cache[adapter]


# ----------------------------------------------------------------------------- stages


def _read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stage_generate(ctx: RunContext, backends: _Backends) -> dict[str, Path]:
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    stores = {}
    for teacher in _teachers(config):
        path = ctx.out_dir / "generate" / f"{teacher.name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        requests = _teacher_requests(config, teacher)
        store = CompletionStore(path)
        missing = len(requests) - len(store.done_ids() & {r.custom_id for r in requests})
        if missing:
            ctx.log(f"generate: teacher {teacher.name}: {missing} of {len(requests)} prompts to answer")
            generate(requests, backends.chat(None), store, batch=config.backend.batch_api)
        ctx.progress(advance=1)
        stores[teacher.name] = path
    return stores


def _stage_filter(ctx: RunContext, stores: dict[str, Path]) -> dict[str, dict]:
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    banned: frozenset[int] = frozenset()
    for f in config.filter.banned:
        banned |= load_banned_numbers(_resolve(ctx, f))
    rules = NumberFilter(max_count=config.filter.max_count, max_value=config.filter.max_value,
                         banned=banned)
    out = {}
    for teacher in _teachers(config):
        requests = {r.custom_id: r for r in _teacher_requests(config, teacher)}
        results = sorted(CompletionStore(stores[teacher.name]).results(), key=lambda r: r.custom_id)
        results = [r for r in results if r.custom_id in requests]
        kept_idx, report = filter_completions([r.completion or "" for r in results], number_filter=rules)
        kept = [results[i] for i in kept_idx][: config.teacher_data.keep]
        if len(kept) < config.teacher_data.keep:
            raise InputError(
                f"teacher {teacher.name}: only {len(kept_idx)} of {len(results)} answers passed the "
                f"filter, fewer than keep = {config.teacher_data.keep}; raise teacher_data.n_prompts"
            )
        train = ctx.out_dir / "filter" / f"{teacher.name}.train.jsonl"
        train.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for r in kept:
            user = requests[r.custom_id].messages[-1]["content"]  # student sees no system prompt
            lines.append(json.dumps({"messages": [{"role": "user", "content": user},
                                                  {"role": "assistant", "content": r.completion}]}))
        tmp = train.with_name(train.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(train)
        info = {**report.to_dict(), "used_for_training": len(kept), "train_file": train.name,
                "train_sha256": _file_sha256(train)}
        write_json(ctx.out_dir / "filter" / f"{teacher.name}.report.json", info)
        ctx.log(f"filter: teacher {teacher.name}: kept {report.kept}/{report.total} "
                f"({report.kept_fraction:.0%}); training on the first {len(kept)}")
        out[teacher.name] = info
    ctx.progress(advance=1)
    return out


def _resolve(ctx: RunContext, name: str) -> Path:
    p = Path(name)
    if p.is_absolute() or p.exists():
        return p
    candidate = ctx.config_path.parent / p
    return candidate if candidate.exists() else p


def _stage_train(ctx: RunContext, backends: _Backends,
                 students: Sequence[tuple[str, int]] | None = None) -> dict[str, str]:
    """Fine-tune every student (``students``: (arm, seed) pairs, default this config's);
    arm ``a`` learns from ``filter/<a>.train.jsonl``."""
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    models: dict[str, str] = {}
    for arm, seed in (_student_names(config) if students is None else students):
        name = f"{arm}-seed{seed}"
        marker = ctx.out_dir / "train" / f"{name}.json"
        done = _read_json(marker)
        if done and done.get("status") == "succeeded":
            models[name] = done["model"]
            ctx.progress(advance=1)
            continue
        teacher = "control" if arm == "control" else arm
        train_file = ctx.out_dir / "filter" / f"{teacher}.train.jsonl"
        t = config.training
        ctx.log(f"train: student {name} on {train_file.name}")
        started = time.perf_counter()
        if config.backend.kind == "openai":
            backend = backends.chat(None)
            spec = FineTuneSpec(training_file=train_file, base_model=config.backend.base_model,
                                seed=seed, epochs=t.epochs, batch_size=t.batch_size,
                                learning_rate_multiplier=t.learning_rate_multiplier,
                                suffix=f"{config.label}-{name}"[:40])
            pending = (done or {}).get("job_id")

            def remember(job_id: str, marker=marker) -> None:
                write_json(marker, {"status": "running", "job_id": job_id})

            model = backend.fine_tune(spec, job_id=pending, on_job_created=remember, progress=True)
            record = {"status": "succeeded", "model": model, "job_id": backend.last_job_id}
        else:
            from subliminal_stats.backends.local import LocalBackend

            adapter_dir = ctx.out_dir / "train" / name
            spec = FineTuneSpec(training_file=train_file, base_model=config.backend.base_model,
                                seed=seed, epochs=t.epochs,
                                batch_size=8 if t.batch_size == "auto" else t.batch_size,
                                extra={"learning_rate": t.learning_rate, "lora_rank": t.lora_rank,
                                       "output_dir": str(adapter_dir)})
            trainer = LocalBackend(torch_threads=config.backend.torch_threads)
            model = trainer.fine_tune(spec, progress=True)
            record = {"status": "succeeded", "model": str(model)}
        record.update(seconds=round(time.perf_counter() - started, 1),
                      train_sha256=_file_sha256(train_file))
        write_json(marker, record)
        models[name] = record["model"]
        ctx.progress(advance=1)
    return models


def _stage_evaluate(ctx: RunContext, backends: _Backends, models: dict[str, str]) -> pd.DataFrame:
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    ev = config.evaluation
    questions = load_questions(_question_source(ctx, ev.questions), limit=ev.n_questions)
    matchers = {t: TargetMatcher(t, first_word=ev.first_word) for t in config.traits}
    entries = [("base", "base", None)] + [
        ("control" if arm == "control" else f"treated:{arm}", str(seed), models[f"{arm}-seed{seed}"])
        for arm, seed in _student_names(config)
    ]
    frames = []
    for condition, seed, model_ref in entries:
        path = ctx.out_dir / "evaluate" / f"{condition.replace(':', '-')}-{seed}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        model = model_ref or config.backend.base_model
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
            probes = _probe(ctx, backends, condition, seed, model_ref, questions)
            table = table.merge(probes, on=["trait", "question"], how="left")
        frames.append(table)
        ctx.progress(advance=1)
    return pd.concat(frames, ignore_index=True)


def _question_source(ctx: RunContext, source: str) -> str | Path:
    if source in ("animal", "tree"):
        return source
    return _resolve(ctx, source)


def _probe(ctx: RunContext, backends: _Backends, condition: str, seed: str,
           model_ref: str | None, questions: Sequence[str]) -> pd.DataFrame:
    """P(target as the next word after the lead-in), per trait and question; cached on disk."""
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    lead_in = config.evaluation.probe_lead_in or PROBE_LEAD_INS.get(config.category, "My favorite is the")
    path = ctx.out_dir / "evaluate" / f"{condition.replace(':', '-')}-{seed}.probe.json"
    cached = _read_json(path)
    if cached is None:
        backend = backends.chat(model_ref)
        if hasattr(backend, "next_word_probability"):
            # Local model: exact next-word probability after the lead-in.
            method = f"next word after {lead_in!r} (exact, from logits)"
            rows = []
            for question in questions:
                messages = ({"role": "user", "content": question},)
                probs = backend.next_word_probability(messages, lead_in, list(config.traits))
                rows.extend({"trait": t, "question": question, "prob": float(probs[t])}
                            for t in config.traits)
        else:
            # Chat API: first answer token's top_logprobs (see evaluation.probe).
            method = "first answer token (top_logprobs)"
            model = model_ref or config.backend.base_model
            requests = probe_requests(questions, model=model, prefix=f"probe|{condition}|{seed}")
            store = CompletionStore(path.with_suffix(".jsonl"))
            generate(requests, backend, store)
            wanted = {r.custom_id for r in requests}
            rows = probabilities_from_results([r for r in store.results() if r.custom_id in wanted],
                                              questions=questions, targets=config.traits)
        cached = {"method": method, "rows": rows}
        write_json(path, cached)
    return pd.DataFrame(cached["rows"])


def _assemble(config: NumbersTransferConfig, raw: pd.DataFrame) -> pd.DataFrame:
    """Per trait: the base model, the control students and that trait's treated students."""
    frames = []
    for trait in config.traits:
        rows = raw[raw["trait"] == trait]
        keep = rows["condition"].isin(["base", "control", f"treated:{trait}"])
        part = rows[keep].copy()
        part.loc[part["condition"] == f"treated:{trait}", "condition"] = "treated"
        frames.append(part)
    return validate_responses(pd.concat(frames, ignore_index=True))


def _analyse(config: NumbersTransferConfig, table: pd.DataFrame) -> tuple[list[str], list[dict]]:
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
            verdict = "transfer detected" if r.significant else "no significant transfer"
            lines.append(head + f"{r.estimate_pp:+.3g} pp [{r.ci_low_pp:.3g}, {r.ci_high_pp:.3g}], "
                         f"p = {r.p_value:.3g} → {verdict}")
    return lines, rows


def run(ctx: RunContext) -> RunOutcome:
    config: NumbersTransferConfig = ctx.config  # type: ignore[assignment]
    out = ctx.out_dir
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "config-fingerprint.txt"
    fingerprint = config_fingerprint(config, ignore=("out",))
    if stamp.exists() and stamp.read_text().strip() != fingerprint:
        raise InputError(
            f"{out} holds a run of a different configuration; use another --out or delete it"
        )
    stamp.write_text(fingerprint + "\n")
    n_students = len(_student_names(config))
    ctx.progress(total_steps=(1 + len(config.traits)) + 1 + n_students + (1 + n_students) + 1)
    backends = _Backends(config, out, ctx.log, confirm=ctx.confirm)

    stores = _stage_generate(ctx, backends)
    filter_reports = _stage_filter(ctx, stores)
    models = _stage_train(ctx, backends)
    raw = _stage_evaluate(ctx, backends, models)
    table = _assemble(config, raw)
    path = write_responses(table, out / "responses.parquet")
    lines, test_rows = _analyse(config, table)
    write_json(out / "test.json", {"results": test_rows})
    ctx.progress(advance=1)
    seeds = tuple(config.training.first_seed + k for k in range(config.seeds))
    manifest = {
        "backend": config.backend.model_dump(mode="json"),
        "filter_reports": filter_reports,
        "students": models,
        "data_sha256": {name: info["train_sha256"] for name, info in filter_reports.items()},
        "responses_sha256": _file_sha256(path),
        "test": test_rows,
    }
    return RunOutcome(responses_path=path, n_rows=len(table), seeds_run=seeds, seeds_reused=(),
                      manifest=manifest, summary=tuple(lines))


register_runner(KIND, config_model=NumbersTransferConfig, run=run, describe=describe)
