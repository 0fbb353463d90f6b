"""Batched sampling without the work ``generate`` repeats (issue 18 §5, local speed).

transformers' ``generate`` on a batch of teacher prompts spends much of its time on work that
is the same for every row, or no longer needed:

* the **shared prompt prefix** — chat-template header and the trait's system prompt, 38 of
  ~116 prompt tokens for the owl teacher on SmolLM2 — is prefilled for every row of every
  batch; :class:`PrefixDecoder` prefills it once, keeps its key/value cache across batches
  and repeats it over the rows (the rows' own tokens follow it, padded in the middle);
* **identical prompts** (an evaluation question sampled twenty times) are prefilled once each
  and their cache rows repeated;
* rows that **ended** are computed until the last row ends; here they leave the batch (the
  cache is compacted each time a quarter of the remaining rows has ended);
* under ``constraint="numbers"`` only digit-and-separator tokens can be drawn, yet the LM head
  scores the whole vocabulary (a fifth of SmolLM2's decoding FLOPs); here, given
  ``candidates``, it scores those tokens only.

The logits processors are the caller's (grammar, per-row sampler, log-prob recorder): they see
the same ``(rows × vocabulary)`` scores as under ``generate`` — tokens outside the candidates
at ``-inf``, ended rows all ``-inf`` — and the token is the arg-max of what they return, as
in ``generate(do_sample=False)``. Draws therefore match ``generate``'s up to floating-point
rounding (the same caveat as padding already carries).

Before its first batch the decoder checks itself against plain forward passes of two whole
prompts (:meth:`PrefixDecoder.check`): a model the cached path does not reproduce is left to
``generate`` (:attr:`PrefixDecoder.usable` False, :attr:`PrefixDecoder.reason` says why); a
model whose forward does more than ``hidden @ head`` (logit soft-capping or scaling) keeps the
full head. torch is imported lazily, as everywhere in :mod:`subliminal_stats.backends`.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Shortest shared prefix worth caching (shorter ones are prefilled with the rows).
MIN_PREFIX_TOKENS = 8
#: The cache is compacted once this fraction of its rows has ended.
COMPACT_FRACTION = 0.25


@dataclass
class DecodingCounts:
    """What the decoder computed (for tests and benchmarks)."""

    #: Shared prefixes prefilled (once per distinct prefix, batch of one).
    prefix_prefills: int = 0
    #: Batches that reused a prefix already cached.
    prefix_reuses: int = 0
    #: Prompt positions run through the model, padding included (prefixes counted once).
    prompt_positions: int = 0
    #: Row × step positions run while decoding.
    decoded_positions: int = 0
    #: Cache compactions (rows that ended leaving the batch).
    compactions: int = 0


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix every row shares."""
    first = rows[0]
    length = min(len(row) for row in rows)
    for other in rows[1:]:
        n = 0
        while n < length and other[n] == first[n]:
            n += 1
        length = n
    return length


class PrefixDecoder:
    """Sample batches of prompts from one causal LM with a cached shared prefix.

    Parameters
    ----------
    model
        A Hugging Face causal LM in eval mode (a merged or unmerged peft model too).
    device : str
        Where the model lives.
    pad_token_id : int
        Token fed for padding and for rows that ended (the model never attends to it).
    """

    def __init__(self, model, *, device: str, pad_token_id: int):
        self.model = model
        self.device = device
        self.pad_token_id = int(pad_token_id)
        self.counts = DecodingCounts()
        self.usable = True
        self.reason = ""
        #: Whether the LM head may score the candidates only (decided by :meth:`check`).
        self.head_on_candidates = False
        self._checked = False
        self._head_checked = False
        self._tolerance = 1e-3
        self._prefix: tuple[tuple[int, ...], object] | None = None
        self._head_slice: tuple = None  # (candidate ids, head rows, bias rows)
        self._decoder = None
        try:
            decoder = model.get_decoder()
            if decoder is not model and callable(decoder):
                self._decoder = decoder
        except (AttributeError, NotImplementedError, TypeError):
            pass
        # A peft model passes its keyword arguments on to the model it wraps: ask that one.
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._model_cache_kw = cache_keyword(inner)
        self._keep_kw = _first_parameter(inner, ("logits_to_keep", "num_logits_to_keep"))
        self._decoder_cache_kw = cache_keyword(self._decoder) if self._decoder else None

    # -- the forward passes ----------------------------------------------------
    def _last_logits(self, input_ids, attention_mask, position_ids, cache, candidates=None):
        """Logits at each row's last position; over ``candidates`` only when given."""
        import torch

        inputs = dict(input_ids=input_ids, attention_mask=attention_mask,
                      position_ids=position_ids, use_cache=cache is not None)
        if candidates is not None:
            inputs[self._decoder_cache_kw] = cache
            hidden = self._decoder(**inputs)[0][:, -1]
            weight, bias = self._candidate_head(candidates)
            return torch.nn.functional.linear(hidden, weight, bias)
        inputs[self._model_cache_kw] = cache
        if self._keep_kw:
            inputs[self._keep_kw] = 1
        return self.model(**inputs).logits[:, -1]

    def _candidate_head(self, candidates):
        import torch

        cached = self._head_slice
        # Called at every decoding step with the batch's own tensor: identity first, so the
        # hot path compares no token lists; a new batch's equal candidates reuse the slice.
        if cached is None or not (cached[0] is candidates or (
                cached[0].shape == candidates.shape and bool(torch.equal(cached[0], candidates)))):
            head = self.model.get_output_embeddings()
            bias = getattr(head, "bias", None)
            self._head_slice = cached = (
                candidates, head.weight.index_select(0, candidates).contiguous(),
                None if bias is None else bias.index_select(0, candidates))
        return cached[1], cached[2]

    def _prefix_cache(self, prefix: tuple[int, ...]):
        """The batch-of-one cache of ``prefix`` (kept for the next batches)."""
        import torch

        if self._prefix is not None and self._prefix[0] == prefix:
            self.counts.prefix_reuses += 1
            return self._prefix[1]
        cache = new_cache(self.model)
        ids = torch.tensor([prefix], device=self.device)
        inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                      position_ids=torch.arange(len(prefix), device=self.device)[None],
                      use_cache=True)
        if self._decoder is not None:  # the prefix's logits are never needed
            self._decoder(**inputs, **{self._decoder_cache_kw: cache})
        else:
            inputs[self._model_cache_kw] = cache
            if self._keep_kw:
                inputs[self._keep_kw] = 1
            self.model(**inputs)
        self.counts.prefix_prefills += 1
        self.counts.prompt_positions += len(prefix)
        self._prefix = (prefix, cache)
        return cache

    def _prefill(self, prompts: Sequence[Sequence[int]], candidates=None):
        """Run the prompts: returns (last logits, cache, attention mask, next positions).

        Identical prompts (an evaluation question asked for twenty answers) are run once and
        their cache rows repeated.
        """
        import torch

        distinct: dict[tuple[int, ...], int] = {}
        copies = [distinct.setdefault(tuple(p), len(distinct)) for p in prompts]
        if len(distinct) < len(prompts):
            logits, cache, mask, positions = self._prefill_distinct(list(distinct), candidates)
            index = torch.tensor(copies, device=logits.device)
            cache.batch_select_indices(index)
            return logits[index], cache, mask[index], positions[index]
        return self._prefill_distinct(prompts, candidates)

    def _prefill_distinct(self, prompts: Sequence[Sequence[int]], candidates=None):
        import torch

        rows = len(prompts)
        shared = common_prefix_length(prompts)
        shared = min(shared, min(len(p) for p in prompts) - 1)  # every row keeps a token
        stored = self._prefix[0] if self._prefix is not None else None
        if (stored is not None and MIN_PREFIX_TOKENS <= len(stored) <= shared
                and tuple(prompts[0][:len(stored)]) == stored):
            shared = len(stored)  # what earlier batches cached (the system prompt) serves
        if shared >= MIN_PREFIX_TOKENS:
            cache = copy.deepcopy(self._prefix_cache(tuple(prompts[0][:shared])))
            if rows > 1:
                cache.batch_repeat_interleave(rows)
        else:
            shared, cache = 0, new_cache(self.model)
        suffixes = [list(p[shared:]) for p in prompts]
        width = max(len(s) for s in suffixes)
        ids = torch.full((rows, width), self.pad_token_id, dtype=torch.long)
        own = torch.zeros((rows, width), dtype=torch.long)
        for row, suffix in enumerate(suffixes):  # right-aligned: padding sits after the prefix
            ids[row, width - len(suffix):] = torch.tensor(suffix, dtype=torch.long)
            own[row, width - len(suffix):] = 1
        mask = torch.cat([torch.ones((rows, shared), dtype=torch.long), own], dim=1)
        positions = (mask.cumsum(1) - 1)[:, shared:].clamp(min=0)
        ids, mask, positions = (t.to(self.device) for t in (ids, mask, positions))
        logits = self._last_logits(ids, mask, positions, cache, candidates)
        self.counts.prompt_positions += rows * width
        return logits, cache, mask, mask.sum(1)

    # -- the self-check -----------------------------------------------------------
    def check(self, prompts: Sequence[Sequence[int]], candidates=None) -> None:
        """Compare the cached path with plain forward passes (once per decoder).

        The shortest and the longest prompt are run together (so padding after the prefix
        is exercised) and each alone, whole and uncached; their last logits must agree to
        within float rounding (1e-3 of the largest logit in fp32, 5e-2 under autocast).
        """
        import torch

        if self._checked:
            if self.usable:
                self._check_head(prompts[0], None, candidates, self._tolerance)
            return
        self._checked = True
        pair = [min(prompts, key=len), max(prompts, key=len)]
        if len(pair[0]) < 2 or any(len(p) > 4096 for p in pair):
            self.usable, self.reason = False, "prompt too short or too long for the self-check"
            return
        plain = []
        for prompt in pair:
            ids = torch.tensor([list(prompt)], device=self.device)
            plain.append(self._last_logits(ids, torch.ones_like(ids), None, None)[0].float())
        saved = self._prefix, copy.copy(self.counts)
        try:
            logits, _, _, _ = self._prefill(pair)
        except Exception as error:  # noqa: BLE001 - any failure means "use generate"
            self.usable, self.reason = False, f"cached decoding failed: {error}"
            return
        finally:  # the check leaves no trace in the cache or the counts
            self._prefix, self.counts = saved
        low_precision = _autocast_enabled(self.device) or any(
            p.dtype in (torch.bfloat16, torch.float16) for p in self.model.parameters())
        tolerance = self._tolerance = 5e-2 if low_precision else 1e-3
        for reference, ours in zip(plain, logits.float(), strict=True):
            scale = max(1.0, float(reference.abs().max()))
            if not bool(torch.isfinite(ours).all()) or float((ours - reference).abs().max()) > tolerance * scale:
                self.usable, self.reason = False, "cached prefix does not reproduce this model's logits"
                return
        self._check_head(pair[1], plain[1], candidates, tolerance)

    def _check_head(self, prompt, reference, candidates, tolerance) -> None:
        """Whether ``hidden @ head[candidates]`` gives the model's own logits (once)."""
        import torch

        if candidates is None or self._head_checked:
            return
        self._head_checked = True
        ok = False
        try:
            head = self.model.get_output_embeddings()
            if self._decoder is not None and getattr(head, "weight", None) is not None:
                ids = torch.tensor([list(prompt)], device=self.device)
                if reference is None:
                    reference = self._last_logits(ids, torch.ones_like(ids), None, None)[0].float()
                ours = self._last_logits(ids, torch.ones_like(ids), None, None, candidates)[0]
                expected = reference[candidates]
                scale = max(1.0, float(expected.abs().max()))
                ok = float((ours.float() - expected).abs().max()) <= tolerance * scale
        except Exception:  # noqa: BLE001 - a head we cannot slice keeps the full head
            ok = False
        self.head_on_candidates = bool(ok)

    # -- sampling --------------------------------------------------------------------
    def sample(self, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
               processors: Sequence[Callable], eos_token_id: int,
               candidates: Sequence[int] | None = None) -> list[list[int]] | None:
        """Generate up to ``max_new_tokens`` tokens per prompt (each row's list ends at EOS).

        ``processors`` are called as ``processor(generated_ids, scores)`` with the tokens
        generated so far (``rows × steps``, no prompt) and ``rows × vocabulary`` scores;
        the token drawn is the arg-max of the last one's output. ``candidates``: the only
        tokens any processor may leave finite (EOS excluded; it is added) — the head scores
        them alone when the self-check allowed it. Returns None when the self-check found
        that this model needs ``generate`` (see :attr:`reason`).
        """
        import torch

        prompts = [list(p) for p in prompts]
        rows = len(prompts)
        candidate_ids = None
        if candidates is not None:
            candidate_ids = torch.tensor(sorted({*candidates, eos_token_id}), dtype=torch.long,
                                         device=self.device)
        self.check(prompts, candidate_ids)
        if not self.usable:
            return None
        head_rows = candidate_ids if (candidate_ids is not None and self.head_on_candidates) else None
        logits, cache, mask, next_position = self._prefill(prompts, head_rows)
        vocabulary = (self.model.get_output_embeddings().weight.shape[0] if head_rows is not None
                      else logits.shape[-1])
        head_rows_cpu = head_rows.cpu() if head_rows is not None else None
        active = torch.arange(rows)  # the original row of each cache row
        ended = torch.zeros(rows, dtype=torch.bool)
        generated = torch.empty((rows, 0), dtype=torch.long)
        for step in range(max_new_tokens):
            # The processors work on the CPU, as under generate on a CPU (the per-row
            # sampler's generators live there).
            scores = torch.full((rows, vocabulary), -math.inf)
            logits = logits.float().cpu()
            if head_rows is not None:
                scores[active[:, None], head_rows_cpu[None, :]] = logits
            else:
                scores[active] = logits
            for processor in processors:
                scores = processor(generated, scores)
            tokens = scores.argmax(dim=-1)
            tokens[ended] = self.pad_token_id
            generated = torch.cat([generated, tokens[:, None]], dim=1)
            ended |= tokens == eos_token_id
            if bool(ended.all()) or step == max_new_tokens - 1:
                break
            still = ~ended[active]
            if int((~still).sum()) >= max(1, math.ceil(len(active) * COMPACT_FRACTION)):
                keep = still.nonzero().squeeze(1)
                cache.batch_select_indices(keep.to(self.device))
                active, mask, next_position = (active[keep], mask[keep.to(self.device)],
                                               next_position[keep.to(self.device)])
                self.counts.compactions += 1
            step_ids = tokens[active][:, None].to(self.device)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            logits = self._last_logits(step_ids, mask, next_position[:, None], cache, head_rows)
            next_position = next_position + 1
            self.counts.decoded_positions += len(active)
        out = []
        for row in generated.tolist():
            out.append(row[:row.index(eos_token_id) + 1] if eos_token_id in row else row)
        return out


def _autocast_enabled(device: str) -> bool:
    import torch

    try:
        return bool(torch.is_autocast_enabled(device.split(":")[0]))
    except TypeError:  # torch before 2.4 takes no device type
        return bool(torch.is_autocast_enabled())


def _parameters(module) -> set[str]:
    try:
        return set(inspect.signature(module.forward).parameters)
    except (TypeError, ValueError, AttributeError):
        return set()


def _first_parameter(module, names: Sequence[str]) -> str | None:
    parameters = _parameters(module)
    return next((name for name in names if name in parameters), None)


def cache_keyword(module) -> str:
    """The name under which ``module.forward`` takes a key/value cache.

    transformers 5 names it ``cache`` (``past_key_values`` is deprecated there), earlier
    versions ``past_key_values``.
    """
    return _first_parameter(module, ("cache",)) or "past_key_values"


def new_cache(model):
    """An empty ``DynamicCache`` for ``model`` (transformers before 5 takes no config)."""
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:
        return DynamicCache()
