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
