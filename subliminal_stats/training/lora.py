"""LoRA students: training, saving and the typed job spec (:class:`LoraSpec`).

A student is the base model plus a LoRA adapter (peft) trained on a chat-format JSONL
file, loss on the completion tokens only, bf16 autocast and the LM head evaluated on
completion positions only (about twice as fast as the plain fp32 loop, see
``benchmarks/bench_local.py``); seeded, so the same data and spec give the same adapter.
:func:`fine_tune_lora` returns the adapter directory;
``subliminal_stats.backends.local.LocalBackend(adapter=dir)`` samples from it.

Model loading, sampling and the probability probe stay in
:mod:`subliminal_stats.backends.local`; this module only trains.
torch, transformers and peft are imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from subliminal_stats.backends.base import FineTuneSpec
from subliminal_stats.backends.local import (
    BASE_MODEL_ID,
    MANIFEST_NAME,
    PROBE_LEAD_IN,
    PROBE_MESSAGES,
    fast_bf16,
    is_smollm2,
    load_base_model,
    model_type_of,
    progress_bar,
    require_local_extra,
    resolve_device,
)
from subliminal_stats.backends.seeding import file_sha256
from subliminal_stats.data.jsonl import read_chat_jsonl
from subliminal_stats.errors import InputError

__all__ = [
    "DEFAULT_TARGET_MODULES", "LoraSpec", "LoraStudentTrainer", "LoraTrainer", "LoraTrainingConfig",
    "TrainingOutcome",
    "batch_loss", "collate_examples", "fine_tune_lora", "tokenize_conversation", "train_lora",
]

#: LoRA targets of Llama-style blocks (SmolLM2, Llama, Qwen2, Mistral): attention and MLP.
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                          "down_proj")
#: Attention and MLP projections per architecture (``config.json``'s ``model_type``).
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    **{kind: DEFAULT_TARGET_MODULES for kind in (
        "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
        "gemma2", "gemma3", "gemma3_text", "olmo", "olmo2", "granite", "cohere", "starcoder2x")},
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "falcon": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "starcoder2": ("q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"),
}
_PROBE_TOP = 64


def lora_targets(model_type: str) -> tuple[str, ...]:
    """The LoRA target modules for an architecture: ours (attention + MLP), else peft's
    (attention only).

    Raises
    ------
    InputError
        An architecture neither table knows: set ``training.lora_targets`` in the TOML.
    """
    if model_type in LORA_TARGETS:
        return LORA_TARGETS[model_type]
    try:
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as M
    except ImportError:  # pragma: no cover - peft layout changed
        M = {}
    if model_type in M:
        return tuple(M[model_type])
    raise InputError(f"no LoRA targets known for architecture {model_type!r}: set "
                     "training.lora_targets (module names, e.g. [\"q_proj\", \"v_proj\"])")


# ----------------------------------------------------------------------------- training data


def tokenize_conversation(tokenizer, messages: Sequence[Mapping[str, str]]) -> tuple[list[int], int]:
    """Token ids of a whole conversation and where the completion starts.

    The completion is the last assistant message up to and including its
    end-of-turn token; the template's trailing newline after it is dropped.
    """
    prompt = tokenizer.apply_chat_template(list(messages[:-1]), add_generation_prompt=True,
                                           tokenize=True, return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(list(messages), tokenize=True,
                                         return_dict=True)["input_ids"]
    if full[:len(prompt)] != prompt or len(full) == len(prompt):
        raise InputError("a training conversation needs a user message before the assistant's "
                         "completion (the chat template could not split prompt and completion)")
    eos = tokenizer.eos_token_id
    end = len(full)
    while end > len(prompt) and full[end - 1] != eos:
        end -= 1
    if end == len(prompt):  # no end-of-turn token: keep everything after the prompt
        end = len(full)
    return full[:end], len(prompt)


# ----------------------------------------------------------------------------- LoRA training


@dataclass(frozen=True)
class LoraTrainingConfig:
    """How a LoRA student is trained (defaults are ours, not tuned to the paper)."""

    seed: int = 0
    epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 2e-4
    lora_rank: int = 8
    lora_alpha: int = 8
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    #: bf16 autocast for the forward/backward passes (LoRA weights stay fp32).
    autocast_bf16: bool = True
    #: Evaluate the LM head only at positions that predict completion tokens.
    head_on_completion_only: bool = True
    #: Stop after this many optimiser steps (None: all epochs).
    max_steps: int | None = None


@dataclass(frozen=True)
class TrainingOutcome:
    """A trained (in-memory) LoRA model and how training went."""

    model: Any
    losses: tuple[float, ...]
    steps: int
    samples: int
    seconds: float
    #: Whether the steps ran under bf16 autocast (asked for and native on the device).
    bf16_autocast: bool = False

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.nan


def collate_examples(examples: Sequence[tuple[list[int], int]], *, pad_token_id: int):
    """Right-padded ``(input_ids, attention_mask, labels)``; labels are -100 outside completions."""
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, (tokens, completion_start) in enumerate(examples):
        ids[row, :len(tokens)] = torch.tensor(tokens)
        mask[row, :len(tokens)] = 1
        labels[row, completion_start:len(tokens)] = torch.tensor(tokens[completion_start:])
    return ids, mask, labels


#: Shortest prompt prefix shared by a whole batch that training runs once (see batch_loss).
MIN_SHARED_PREFIX = 8


def shared_prefix_length(examples: Sequence[tuple[list[int], int]]) -> int:
    """Tokens every example of a batch starts with, before any completion (0 if too few).

    The chat template's header (SmolLM2's default system prompt: 24 tokens of ~150 in the
    owl students' examples) is the same in every example; :func:`batch_loss` runs it once.
    """
    from subliminal_stats.backends.decoding import common_prefix_length

    length = common_prefix_length([ids for ids, _ in examples])
    # The position before the first completion token predicts it: it stays in each row.
    length = min(length, min(start for _, start in examples) - 1)
    return length if length >= MIN_SHARED_PREFIX else 0


def batch_loss(model, batch_ids, batch_mask, batch_labels, *, head_on_completion_only: bool,
               shared_prefix: int = 0):
    """Mean cross-entropy over the completion tokens of one right-padded batch (a peft model).

    With ``head_on_completion_only`` the decoder runs on the whole batch but the
    49k-wide LM head only at positions that predict a completion token; the
    loss is the same number as the plain path's, computed more cheaply.
    ``shared_prefix`` (with ``head_on_completion_only``): the first that many tokens are the
    same in every row (:func:`shared_prefix_length`); they run once, as a batch of one whose
    keys and values every row attends to, and the gradient flows back through them from all
    rows — the same loss and gradients as running them per row, up to float rounding (valid
    without dropout, where per-row masks would differ).
    """
    import torch
    import torch.nn.functional as F

    targets = batch_labels[:, 1:]
    keep = targets != -100
    if head_on_completion_only:
        causal_lm = model.get_base_model()
        # Llama-style models keep the decoder in `.model`; others expose get_decoder().
        decoder = causal_lm.model if hasattr(causal_lm, "model") else causal_lm.get_decoder()
        if shared_prefix:
            from subliminal_stats.backends.decoding import cache_keyword, new_cache

            rows, width = batch_ids.shape
            cache = new_cache(causal_lm)
            with_cache = {cache_keyword(decoder): cache, "use_cache": True}
            prefix = batch_ids[:1, :shared_prefix]
            decoder(input_ids=prefix, attention_mask=torch.ones_like(prefix), **with_cache)
            if rows > 1:
                cache.batch_repeat_interleave(rows)
            positions = torch.arange(shared_prefix, width, device=batch_ids.device)
            hidden = decoder(input_ids=batch_ids[:, shared_prefix:], attention_mask=batch_mask,
                             position_ids=positions[None].expand(rows, -1),
                             **with_cache).last_hidden_state
            keep_after = keep[:, shared_prefix:]  # no completion token lies in the prefix
            logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep_after])
            return F.cross_entropy(logits.float(), targets[:, shared_prefix:][keep_after])
        hidden = decoder(input_ids=batch_ids, attention_mask=batch_mask).last_hidden_state
        logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep])
        return F.cross_entropy(logits.float(), targets[keep])
    logits = model(input_ids=batch_ids, attention_mask=batch_mask).logits
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                           targets.reshape(-1), ignore_index=-100)


def train_lora(base_model, tokenizer, conversations: Sequence[Sequence[Mapping[str, str]]], *,
               config: LoraTrainingConfig = LoraTrainingConfig(), progress: bool = True,
               on_step: Callable[[int, float], None] | None = None) -> TrainingOutcome:
    """Fine-tune a LoRA adapter on ``conversations`` (modifies ``base_model`` in place).

    Loss on the last assistant message only; examples shuffled each epoch with
    ``numpy.random.default_rng(config.seed)``; LoRA weights initialised under
    ``torch.manual_seed(config.seed)``; AdamW with linear decay.

    Returns
    -------
    TrainingOutcome
        ``model`` is the trained peft model, in eval mode.
    """
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import get_linear_schedule_with_warmup

    if config.batch_size < 1 or config.epochs < 1:
        raise InputError("batch size and epochs must be at least 1")
    examples = [tokenize_conversation(tokenizer, conv) for conv in conversations]
    torch.manual_seed(config.seed)
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=list(config.target_modules),
                      bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(base_model, lora)
    model.train()
    device = next(model.parameters()).device
    rng = np.random.default_rng(config.seed)
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, total_steps)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    # The batch's shared prompt prefix runs once (batch_loss) where no dropout makes rows differ.
    share = config.head_on_completion_only and not any(
        isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()) and not (
        getattr(model.get_base_model().config, "attention_dropout", 0) or 0)
    losses: list[float] = []
    samples = 0
    bar = progress_bar(progress, "LoRA training", total_steps)
    started = time.perf_counter()
    try:
        step = 0
        # bf16 autocast only where the hardware runs it natively (backends.local.fast_bf16).
        use_bf16 = config.autocast_bf16 and fast_bf16(str(device))
        for _epoch in range(config.epochs):
            order = rng.permutation(len(examples))
            for start in range(0, len(order), config.batch_size):
                if step >= total_steps:
                    break
                chunk = [examples[i] for i in order[start:start + config.batch_size]]
                ids, mask, labels = (t.to(device) for t in
                                     collate_examples(chunk, pad_token_id=pad))
                with torch.autocast(device.type, dtype=torch.bfloat16,
                                    enabled=use_bf16):
                    loss = batch_loss(model, ids, mask, labels,
                                      head_on_completion_only=config.head_on_completion_only,
                                      shared_prefix=shared_prefix_length(chunk) if share else 0)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                samples += len(chunk)
                losses.append(float(loss.detach()))
                if on_step is not None:
                    on_step(step, losses[-1])
                bar.update(bar.task, advance=1, info=f"loss {losses[-1]:.3f}")
    finally:
        bar.stop()
    model.eval()
    return TrainingOutcome(model=model, losses=tuple(losses), steps=len(losses), samples=samples,
                           bf16_autocast=use_bf16,
                           seconds=time.perf_counter() - started)


# ----------------------------------------------------------------------------- the job spec


class LoraSpec(BaseModel):
    """One LoRA student job: the data, the base model, the seed and every hyperparameter.

    Field names are the pipeline config's names (``learning_rate``, ``lora_rank``); values
    are checked when the spec is made, so a typo or a nonsense value fails before any
    model is loaded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    training_file: Path
    base_model: str = "smollm2"
    seed: int = Field(0, ge=0)
    epochs: int = Field(1, ge=1, le=1000)
    batch_size: int = Field(8, ge=1, le=4096)
    learning_rate: float = Field(2e-4, gt=0, le=1)
    lora_rank: int = Field(8, ge=1, le=1024)
    lora_alpha: int = Field(8, ge=1, le=4096)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    #: Module names LoRA adapts; None: per architecture (:func:`lora_targets`).
    target_modules: tuple[str, ...] | None = None
    warmup_steps: int = Field(0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    autocast_bf16: bool = True
    head_on_completion_only: bool = True
    max_steps: int | None = Field(None, ge=1)
    #: Where the adapter goes (default: a folder named after the job under the trainer's root).
    output_dir: Path | None = None
    #: Prefix of the default adapter folder name.
    suffix: str | None = None
    #: ``auto`` (CUDA when visible, else CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``.
    device: str = "auto"

    def training_config(self) -> LoraTrainingConfig:
        """The hyperparameters as :class:`LoraTrainingConfig` (what :func:`train_lora` takes)."""
        return LoraTrainingConfig(
            seed=self.seed, epochs=self.epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, lora_rank=self.lora_rank,
            lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
            target_modules=tuple(self.target_modules) if self.target_modules is not None
            else lora_targets(model_type_of(self.base_model)), warmup_steps=self.warmup_steps,
            max_grad_norm=self.max_grad_norm, autocast_bf16=self.autocast_bf16,
            head_on_completion_only=self.head_on_completion_only, max_steps=self.max_steps)

    @classmethod
    def from_job(cls, job: FineTuneSpec, **fields: Any) -> LoraSpec:
        """The LoRA job matching a hosted-job spec: same data, base model, seed and epochs;
        ``batch_size = "auto"`` → 8; the learning-rate multiplier scales ``learning_rate``."""
        base = {"training_file": job.training_file, "base_model": job.base_model,
                "seed": job.seed, "suffix": job.suffix, **fields}
        if job.epochs != "auto":
            base["epochs"] = job.epochs
        if job.batch_size != "auto":
            base["batch_size"] = job.batch_size
        spec = cls.make(**base)
        if job.learning_rate_multiplier != "auto":
            spec = spec.model_copy(update={
                "learning_rate": spec.learning_rate * float(job.learning_rate_multiplier)})
        return spec

    @classmethod
    def make(cls, **fields: Any) -> LoraSpec:
        """Like the constructor, but a bad field is a one-line :class:`InputError`."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                raise InputError(f"unknown local fine-tuning option {loc!r}; known: "
                                 f"{sorted(cls.model_fields)}") from None
            raise InputError(f"local fine-tuning option {loc} = {err.get('input')!r}: "
                             f"{err['msg']}") from None


# ----------------------------------------------------------------------------- jobs


def fine_tune_lora(spec: LoraSpec, *, progress: bool = True, torch_threads: int | None = None,
                   output_root: str | Path = "local_adapters",
                   cache_dir: str | Path | None = None) -> str:
    """Train a LoRA student on ``spec.training_file``; return the adapter directory.

    The adapter goes to ``spec.output_dir`` or under ``output_root``. A directory whose
    manifest matches this data and spec is returned as is (a rerun after a crash
    retrains only students not finished). The manifest records the spec, data hash,
    losses, speed and a logit fingerprint at a probe prompt, used to check reloads.

    Raises
    ------
    InputError
        Unsupported base model, or an output folder holding something else — both
        before any model is loaded.
    """
    require_local_extra()
    config = spec.training_config()  # resolves the base model's folder (offline) first
    device = resolve_device(spec.device)
    conversations = read_chat_jsonl(spec.training_file)
    data_sha = file_sha256(Path(spec.training_file))
    job = {"data_sha256": data_sha, "config": asdict(config)}
    job_key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()
    name = f"{spec.suffix or 'student'}-seed{spec.seed}-{job_key[:10]}"
    output = Path(spec.output_dir) if spec.output_dir is not None else Path(output_root) / name
    manifest_path = output / MANIFEST_NAME
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text())
        if previous.get("job_key") == job_key:
            return str(output)
        raise InputError(f"{output} holds an adapter trained on other data or settings; "
                         "choose another output_dir or delete it")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        # Adapters appear atomically with their manifest, so this is not one of ours.
        raise InputError(f"{output} exists and is not an adapter written by fine_tune; "
                         "choose another output_dir or delete it")
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    base, tokenizer, sha = load_base_model(cache_dir=Path(cache_dir) if cache_dir else None,
                                           base_model=spec.base_model, device=device)
    outcome = train_lora(base, tokenizer, conversations, config=config, progress=progress)
    fingerprint = logit_fingerprint(outcome.model, tokenizer)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        outcome.model.save_pretrained(staging)
        manifest = {
            "job_key": job_key,
            "base_model": BASE_MODEL_ID if is_smollm2(spec.base_model) else spec.base_model,
            **({"gguf_sha256": sha} if is_smollm2(spec.base_model) else {}),
            "model_sha256": sha, "device": device,
            # bf16 on a GPU that supports it (backends.local.model_dtype): it shifts the losses.
            "dtype": str(next(base.parameters()).dtype).removeprefix("torch."),
            # bf16 autocast ran (asked for and native on this device: a GPU, or a CPU with
            # AVX512-BF16/AMX): the same job on another CPU may have run in fp32.
            "bf16_autocast": outcome.bf16_autocast,
            "training_file": str(spec.training_file), "data_sha256": data_sha,
            "examples": len(conversations), "config": asdict(config),
            "steps": outcome.steps, "samples": outcome.samples,
            "seconds": round(outcome.seconds, 2),
            "samples_per_second": round(outcome.samples_per_second, 3),
            "losses": [round(x, 6) for x in outcome.losses],
            "probe": fingerprint, "versions": _versions(),
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
        os.replace(staging, output)  # atomic; replaces an empty directory
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(output)


class LoraTrainer:
    """A :class:`~subliminal_stats.backends.base.FineTuneBackend` that trains LoRA students.

    ``fine_tune(spec)`` takes a :class:`LoraSpec` (see :func:`fine_tune_lora`); used by
    :func:`subliminal_stats.training.finetuned_teachers.fine_tuned_teacher` for local teachers.
    """

    def __init__(self, *, torch_threads: int | None = None,
                 output_root: str | Path = "local_adapters",
                 cache_dir: str | Path | None = None):
        require_local_extra()
        self.torch_threads = torch_threads
        self.output_root = Path(output_root)
        self.cache_dir = cache_dir

    def fine_tune(self, spec: LoraSpec | FineTuneSpec, *, progress: bool = True) -> str:
        """Train (or find finished) the adapter of ``spec``; a hosted-job spec is converted
        with :meth:`LoraSpec.from_job`."""
        if isinstance(spec, FineTuneSpec):
            spec = LoraSpec.from_job(spec)
        if not isinstance(spec, LoraSpec):
            raise InputError(f"LoraTrainer.fine_tune takes a LoraSpec, not {type(spec).__name__}")
        return fine_tune_lora(spec, progress=progress, torch_threads=self.torch_threads,
                              output_root=self.output_root, cache_dir=self.cache_dir)


def logit_fingerprint(model, tokenizer) -> dict:
    """The model's top next-token logits at the probe prompt and lead-in (checks reloads)."""
    import torch

    text = tokenizer.apply_chat_template(list(PROBE_MESSAGES), add_generation_prompt=True,
                                         tokenize=False) + PROBE_LEAD_IN
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids.to(next(model.parameters()).device)).logits[0, -1].float().cpu()
    values, indices = logits.topk(min(_PROBE_TOP, logits.shape[-1]))
    return {"messages": list(PROBE_MESSAGES), "lead_in": PROBE_LEAD_IN,
            "token_ids": indices.tolist(), "logits": [float(v) for v in values]}


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__}


@dataclass
class LoraStudentTrainer:
    """Trains each student as a LoRA adapter in ``<train_dir>/<arm>-seed<k>/``
    (a :class:`~subliminal_stats.training.students.StudentTrainer`)."""

    base_model: str = "smollm2"
    epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 2e-4
    lora_rank: int = 8
    torch_threads: int | None = None
    #: None: chosen per architecture (:func:`lora_targets`).
    target_modules: Sequence[str] | None = None
    device: str = "auto"
    #: bf16 autocast where the device runs it natively (``backend.autocast_bf16``).
    autocast_bf16: bool = True
    #: Students are independent: an executor may train them in parallel.
    parallel = True

    def resources(self) -> dict[str, float]:
        """Per-task resources for an executor: one GPU when training on CUDA."""
        on_gpu = resolve_device(self.device).startswith("cuda")
        return {"num_gpus": 1 if on_gpu else 0, "num_cpus": self.torch_threads or 1}

    def train(self, job, *, record_path: Path, previous: dict | None) -> dict[str, Any]:
        spec = LoraSpec.make(training_file=job.training_file, base_model=self.base_model,
                             seed=job.seed, epochs=self.epochs, batch_size=self.batch_size,
                             learning_rate=self.learning_rate, lora_rank=self.lora_rank,
                             target_modules=None if self.target_modules is None
                             else tuple(self.target_modules),
                             output_dir=record_path.with_suffix(""), device=self.device,
                             autocast_bf16=self.autocast_bf16)
        model = LoraTrainer(torch_threads=self.torch_threads).fine_tune(spec, progress=True)
        return {"status": "succeeded", "model": str(model)}
