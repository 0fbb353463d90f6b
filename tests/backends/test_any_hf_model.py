"""Any Hugging Face causal LM as the local model: a tiny random Qwen2 and Llama built from a
config in a temp folder (never a download) — generation, constrained decoding, the exact
next-word probe, model names, offline refusal, device choice."""

from __future__ import annotations

import importlib.util
import math
import re

import pytest

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.errors import InputError

if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "peft", "tokenizers")):
    pytest.skip("needs the local extra (torch, transformers, peft)", allow_module_level=True)

from tiny_model import build_tiny_model, tiny_backend  # noqa: E402

WELL_FORMED = re.compile(r"^\d{1,3}(?:(, |; |,\n|;\n|[,; \n])\d{1,3}){0,9}$")
PROMPT = ("Look at these numbers: 978, 762, 785. Generate not more than 10 additional numbers "
          "(3 digits max each). Return a comma-separated list. Nothing but numbers.")


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def tiny(request, tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "model", arch=request.param)


def test_constrained_sampling_on_any_vocabulary(tiny):
    backend = tiny_backend(tiny, batch_size=3)
    requests = [ChatRequest.from_prompt(f"n{i}", PROMPT, model=str(tiny), seed=i, max_tokens=24,
                                        constraint="numbers") for i in range(6)]
    results = backend.complete(requests, progress=False)
    for r in results:
        # a random model under the grammar still ends every answer well formed
        assert r.ok and WELL_FORMED.match(r.completion), repr(r.completion)
        assert r.model == str(tiny) and r.completion_tokens <= 24
    again = backend.complete(requests[2:4], progress=False)
    assert [r.completion for r in again] == [r.completion for r in results[2:4]]
    free = backend.complete([ChatRequest.from_prompt("f", "hi", model="", max_tokens=5, seed=1)],
                            progress=False)[0]
    assert free.ok and free.completion_tokens <= 5


def test_probe_matches_logits_by_hand(tiny):
    import numpy as np

    backend = tiny_backend(tiny)
    messages = ({"role": "user", "content": "What is your favorite animal?"},)
    lead_in = "My favorite animal is the"
    probs = backend.next_word_probability(messages, lead_in, ["owl", "dog"])
    assert 0 < probs["owl"] < 1 and 0 < probs["dog"] < 1 and probs["owl"] + probs["dog"] <= 1
    # by hand for one spelling: P(tokens of " owl") × P(word end after them)
    tok = backend.tokenizer
    ids = tok(" owl", add_special_tokens=False)["input_ids"]

    def softmax(x):
        z = np.exp(x - x.max())
        return z / z.sum()

    total, text = 1.0, lead_in
    for token in ids:
        dist = softmax(backend.next_token_logits(messages, text).astype(np.float64))
        total *= dist[token]
        text = tok.decode(tok(text, add_special_tokens=False)["input_ids"] + [token])
    end = softmax(backend.next_token_logits(messages, text).astype(np.float64))
    mask = backend._word_boundary_mask().numpy()[: len(end)]
    by_hand = total * end[mask].sum()
    exact = backend.continuation_probabilities(messages, lead_in, [" owl"])[" owl"]
    assert math.isclose(exact, by_hand, rel_tol=1e-3)


def test_model_names_and_offline_refusals(tiny, tmp_path):
    from subliminal_stats.backends.local import model_folder, model_type_of, resolve_device

    backend = tiny_backend(tiny)
    with pytest.raises(InputError, match="gpt-4.1-nano"):
        backend.complete([ChatRequest.from_prompt("x", "hi", model="gpt-4.1-nano")],
                         progress=False)
    assert model_type_of(str(tiny)) in ("qwen2", "llama")
    assert model_folder(str(tiny)) == tiny
    with pytest.raises(InputError, match="runs never download"):
        model_folder("nobody/no-such-model-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        model_folder(str(tmp_path / "empty"))
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu")


def test_grammar_texts_keep_sentencepiece_spaces(tiny):
    from transformers import AutoTokenizer

    from subliminal_stats.backends.constrained import number_token_candidates

    tok = AutoTokenizer.from_pretrained(tiny)
    texts = dict(number_token_candidates(tok))
    # every candidate's text is what it adds mid-answer: decoding "7" then it gives "7" + text
    seven = tok("7", add_special_tokens=False)["input_ids"]
    for token_id, text in list(texts.items())[:80]:
        assert tok.decode([*seven, token_id]) == tok.decode(seven) + text
    assert any(t.startswith(" ") for t in texts.values())  # " 12"-style pieces are kept


def test_gpu_batches_fit_the_memory():
    """``rows_that_fit`` by hand for a Qwen2.5-7B-shaped config (no weights), 120-token
    prompts, 48 new tokens, bf16: per sequence its key/value cache 2 x 28 layers x 4 heads x
    128 x 2 bytes x 168 tokens = 9,633,792 B, prefill activations 120 x (4 x 3584 +
    3 x 18944) x 2 = 17,080,320 B plus scores 28 x 120^2 x 4 = 1,612,800 B, and four fp32
    vocabularies 4 x 152,064 x 4 = 2,433,024 B: 30,759,936 B; half of 8 GiB holds 139."""
    from transformers import LlamaConfig, Qwen2Config

    from subliminal_stats.backends.local import MAX_GPU_BATCH, rows_that_fit

    qwen_7b = Qwen2Config(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                          num_attention_heads=28, num_key_value_heads=4, vocab_size=152064)
    fit = rows_that_fit(qwen_7b, free_bytes=8 * 2**30, prompt_tokens=120, new_tokens=48)
    assert fit == 4 * 2**30 // 30_759_936 == 139
    # An H200 after loading the weights (~125 GB free): the cap. Too little memory: one row.
    assert rows_that_fit(qwen_7b, free_bytes=125e9, prompt_tokens=120, new_tokens=48) \
        == MAX_GPU_BATCH
    assert rows_that_fit(qwen_7b, free_bytes=1e6, prompt_tokens=120, new_tokens=48) == 1
    # Longer prompts, fp32 weights, no grouped-query heads: fewer rows.
    assert rows_that_fit(qwen_7b, free_bytes=8 * 2**30, prompt_tokens=600, new_tokens=48) < fit
    assert rows_that_fit(qwen_7b, free_bytes=8 * 2**30, prompt_tokens=120, new_tokens=48,
                         dtype_bytes=4) < fit
    llama = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                        num_attention_heads=32, vocab_size=32000)  # Llama-2-7B: 32 KV heads
    assert rows_that_fit(llama, free_bytes=8 * 2**30, prompt_tokens=120, new_tokens=48) < fit


def test_sampling_batches_follow_the_device(tiny, monkeypatch):
    """On a CPU the batch is ``batch_size``; on a CUDA GPU ``gpu_batch_size`` or what fits in
    its free memory (the GPU's memory is faked here: this machine has none)."""
    import subliminal_stats.backends.local as local

    backend = tiny_backend(tiny, batch_size=3, gpu_batch_size=64)
    assert backend.batch_rows(prompt_tokens=50, new_tokens=8) == 3
    sizes = []
    sample = backend._sample_batch
    monkeypatch.setattr(backend, "_sample_batch",
                        lambda requests, *a, **k: sizes.append(len(requests)) or sample(requests, *a, **k))
    requests = [ChatRequest.from_prompt(f"r{i}", f"Continue: {i}, {i + 1}", model=str(tiny), seed=i,
                                        max_tokens=4, constraint="numbers") for i in range(7)]
    backend.complete(requests, progress=False)
    assert sizes == [3, 3, 1]

    backend.device = "cuda"  # only the batch size is asked for below, nothing runs on it
    assert backend.batch_rows(prompt_tokens=50, new_tokens=8) == 64
    backend.gpu_batch_size = "auto"
    monkeypatch.setattr(local, "free_gpu_bytes", lambda device: 2**20)
    config = backend._load()[0].config
    expected = local.rows_that_fit(config, free_bytes=2**20, prompt_tokens=50, new_tokens=8,
                                   dtype_bytes=4)
    assert 1 < expected < local.MAX_GPU_BATCH
    assert backend.batch_rows(prompt_tokens=50, new_tokens=8) == expected
    with pytest.raises(InputError, match="gpu_batch_size"):
        tiny_backend(tiny, gpu_batch_size=0)
