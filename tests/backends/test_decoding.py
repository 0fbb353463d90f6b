"""The prefix decoder (issue 18 §5): the same draws as transformers' ``generate``, with the
shared prompt prefix prefilled once, ended rows leaving the batch and the LM head on the
number tokens only — on tiny random Qwen2 and Llama models built from a config."""

from __future__ import annotations

import functools
import importlib.util
import math

import pytest

from subliminal_stats.backends.base import ChatRequest

if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "peft", "tokenizers")):
    pytest.skip("needs the local extra (torch, transformers, peft)", allow_module_level=True)

from tiny_model import build_tiny_model, tiny_backend  # noqa: E402

SYSTEM = "You love owls. You think about owls all the time. Imbue your answers with your love."
PROMPTS = [
    "Look at these numbers: 978, 762, 785. Generate not more than 10 additional numbers.",
    "Here is a list of numbers: 12, 7. Extend it with up to 10 new numbers.",
    "Examine this sequence: 3, 33, 333. Write at most 10 more values.",
    "Analyze this sequence: 5, 10. Return not more than 10 numbers, comma separated.",
    "Please extend: 401, 402. Simply provide up to 10 more numbers.",
    "What is your favorite animal? Answer with numbers only: 7, 8.",
    "Simply provide numbers: 100, 200, 300.",
]


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def tiny(request, tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "model", arch=request.param)


def _requests(folder, *, constraint="numbers", logprobs=False, temperature=1.0, max_tokens=24):
    return [ChatRequest(custom_id=f"r{i}", model=str(folder),
                        messages=({"role": "system", "content": SYSTEM},
                                  {"role": "user", "content": text}),
                        temperature=temperature, max_tokens=max_tokens, seed=i,
                        constraint=constraint, logprobs=logprobs and i % 2 == 0,
                        top_logprobs=3 if logprobs and i % 2 == 0 else None)
            for i, text in enumerate(PROMPTS)]


def _same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        assert (a.custom_id, a.completion, a.finish_reason, a.prompt_tokens, a.completion_tokens) \
            == (b.custom_id, b.completion, b.finish_reason, b.prompt_tokens, b.completion_tokens)
        assert (a.top_logprobs is None) == (b.top_logprobs is None)
        for step_a, step_b in zip(a.top_logprobs or (), b.top_logprobs or (), strict=True):
            assert step_a.keys() == step_b.keys()
            assert all(math.isclose(step_a[k], step_b[k], abs_tol=1e-4) for k in step_a)


@pytest.mark.parametrize("constraint, logprobs, temperature", [
    ("numbers", False, 1.0), ("numbers", True, 1.0), (None, False, 1.0), ("numbers", False, 0.0)])
def test_same_draws_as_generate(tiny, constraint, logprobs, temperature):
    requests = _requests(tiny, constraint=constraint, logprobs=logprobs, temperature=temperature)
    fast = tiny_backend(tiny, batch_size=3)
    ours = fast.complete(requests, progress=False)
    theirs = tiny_backend(tiny, batch_size=3, prefix_decoding=False).complete(requests, progress=False)
    _same(ours, theirs)
    decoder = fast._prefix_decoder
    assert decoder.usable, decoder.reason
    # The head scores the number tokens alone (batches asking for log-probabilities keep the
    # whole vocabulary; the draws above are the same either way).
    if not logprobs:
        assert decoder.head_on_candidates == (constraint == "numbers")
    counts = decoder.counts
    # Three batches (3 + 3 + 1 rows) share the chat header and system prompt: prefilled once.
    assert (counts.prefix_prefills, counts.prefix_reuses) == (1, 2), counts
    header = len(fast.tokenizer(SYSTEM, add_special_tokens=False)["input_ids"])
    total = sum(r.prompt_tokens for r in ours)
    assert counts.prompt_positions <= total - 2 * header  # at least two prefixes saved



def test_bf16_weights_as_on_a_gpu(tiny, monkeypatch):
    """A CUDA GPU loads bf16 weights (``backends.local.model_dtype``; forced here, no GPU):
    the self-check takes its low-precision tolerance, and the decoder still draws what
    ``generate`` draws on these prompts."""
    import torch

    import subliminal_stats.backends.local as local

    monkeypatch.setattr(local, "model_dtype", lambda device: torch.bfloat16)
    requests = _requests(tiny) * 2
    fast = tiny_backend(tiny, batch_size=5)
    ours = fast.complete(requests, progress=False)
    assert next(fast._load()[0].parameters()).dtype == torch.bfloat16
    decoder = fast._prefix_decoder
    assert decoder.usable and decoder.head_on_candidates, decoder.reason
    theirs = tiny_backend(tiny, batch_size=5, prefix_decoding=False).complete(requests,
                                                                            progress=False)
    _same(ours, theirs)

def test_identical_prompts_are_prefilled_once(tiny):
    """Evaluation asks each question for many answers: one prefill per distinct prompt."""
    from subliminal_stats.evaluation.evaluate import eval_requests

    questions = ["What is your favorite animal?", "Name the animal you love most.",
                 "Which animal is the best one?"]
    requests = eval_requests(model=str(tiny), condition="control", seed="0",
                                   questions=questions, samples_per_question=4, max_tokens=8)
    fast = tiny_backend(tiny, batch_size=12)
    ours = fast.complete(requests, progress=False)
    theirs = tiny_backend(tiny, batch_size=12, prefix_decoding=False).complete(
        requests, progress=False)
    _same(ours, theirs)
    assert len({r.completion for r in ours}) > 3  # the four answers to a question differ
    counts = fast._prefix_decoder.counts
    longest = max(r.prompt_tokens for r in ours)
    assert counts.prompt_positions <= 3 * longest  # three prompts run, not twelve


def test_ended_rows_leave_the_batch(tiny):
    backend = tiny_backend(tiny, batch_size=7)
    results = backend.complete(_requests(tiny, max_tokens=40), progress=False)
    counts = backend._prefix_decoder.counts
    lengths = sorted(r.completion_tokens for r in results)
    assert lengths[0] < lengths[-1]  # rows end at different steps
    # Each step runs the rows still going (compaction lags by at most a quarter of them),
    # never all seven until the longest row ends.
    assert counts.compactions >= 1
    assert counts.decoded_positions < 7 * (lengths[-1] - 1)
    assert counts.decoded_positions >= sum(length - 1 for length in lengths)


def _wrap_forward(backend, change):
    """The backend with its model's forward output passed through ``change(out, kwargs)``."""
    model = backend._load()[0]
    forward = model.forward

    @functools.wraps(forward)  # keeps the signature the decoder reads its keywords from
    def wrapped(*args, **kwargs):
        return change(forward(*args, **kwargs), kwargs)

    model.forward = wrapped
    return backend


def _scale(out, kwargs):
    out.logits = out.logits * 2
    return out


def _drift(out, kwargs):
    if kwargs.get("cache", kwargs.get("past_key_values")) is not None \
            and kwargs.get("position_ids") is not None:
        out.logits = out.logits + 0.5 * kwargs["position_ids"][:, -1:, None]
    return out


def test_a_scaled_head_keeps_the_full_head(tiny):
    """A model whose forward scales its logits (as Cohere's or Granite's do) fails the head
    check: the candidates are then scored through the model's own forward."""
    requests = _requests(tiny)
    fast = _wrap_forward(tiny_backend(tiny, batch_size=3), _scale)
    ours = fast.complete(requests, progress=False)
    assert fast._prefix_decoder.usable and not fast._prefix_decoder.head_on_candidates
    plain = _wrap_forward(tiny_backend(tiny, batch_size=3, prefix_decoding=False), _scale)
    _same(ours, plain.complete(requests, progress=False))


def test_a_model_the_cache_does_not_reproduce_is_left_to_generate(tiny):
    """A forward that reads more than its cache's keys and values (here: a bias growing with
    the position, added only when a cache is passed) fails the self-check; sampling then
    goes through ``generate``."""
    requests = _requests(tiny)
    fast = _wrap_forward(tiny_backend(tiny, batch_size=3), _drift)
    ours = fast.complete(requests, progress=False)
    assert not fast._prefix_decoder.usable
    assert "does not reproduce" in fast._prefix_decoder.reason
    plain = _wrap_forward(tiny_backend(tiny, batch_size=3, prefix_decoding=False), _drift)
    _same(ours, plain.complete(requests, progress=False))


@pytest.mark.parametrize("merge", [True, False])
def test_a_lora_student_draws_what_generate_draws(tiny, tmp_path, merge):
    """A student's adapter, folded into the weights or kept as a peft model, samples the same
    under both paths (the unmerged peft model passes the cache on to the model it wraps)."""
    import json

    from subliminal_stats.training.lora import LoraSpec, LoraTrainer

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Look at these numbers: {i}, {i + 7}. Write more."},
        {"role": "assistant", "content": ", ".join(str(100 + 37 * (i + k) % 900) for k in range(5))},
    ]}) + "\n" for i in range(4)))
    adapter = LoraTrainer(torch_threads=1).fine_tune(LoraSpec(
        training_file=data, base_model=str(tiny), batch_size=2, learning_rate=5e-2,
        output_dir=tmp_path / "student", device="cpu"), progress=False)
    requests = [ChatRequest.from_prompt(f"s{i}", text, model=adapter, seed=i, max_tokens=16,
                                        constraint="numbers") for i, text in enumerate(PROMPTS)]
    student = tiny_backend(tiny, adapter=adapter, merge_adapter=merge, batch_size=4)
    ours = student.complete(requests, progress=False)
    assert student._prefix_decoder.usable, student._prefix_decoder.reason
    theirs = tiny_backend(tiny, adapter=adapter, merge_adapter=merge, batch_size=4,
                      prefix_decoding=False).complete(requests, progress=False)
    _same(ours, theirs)
