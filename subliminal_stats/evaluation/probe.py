"""Probability probe: how likely is the target as the answer, read from the model's logits.

Sampled answers are noisy (a 12 % rate from 20 samples has an SE of 7 points);
the probe reads the probability itself, one number per (model, question):

- **local models** (exact): P(target as the next word after a lead-in such as
  "My favorite animal is the"), from the logits, summed over the target's
  spellings (see :meth:`subliminal_stats.backends.local.LocalBackend.next_word_probability`);
- **OpenAI models** (``top_logprobs``): the probability that the *first token of
  the answer* to the question is the target (any capitalisation, with or without
  a leading space, singular or plural), summed over the ``top_logprobs`` returned
  (at most 20 alternatives, so a probability below the 20th is read as 0). The
  chat API cannot continue an assistant lead-in, hence the first answer token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from subliminal_stats.backends.base import ChatRequest, ChatResult
from subliminal_stats.errors import InputError
from subliminal_stats.words import plural_forms

#: Most alternatives the OpenAI API returns per position.
MAX_TOP_LOGPROBS = 20


def first_token_probability(top: Mapping[str, float] | None, target: str) -> float:
    """Sum of P(token) over the tokens that begin the target word (case-insensitive).

    A token counts when, stripped of spaces and lower-cased, it is a non-empty
    prefix of one of the target's spellings of at least two letters (or the whole
    word), e.g. ``" Owl"``, ``"owl"``, ``"Ow"`` for ``owl``. ``top`` maps tokens to
    log-probabilities.

    >>> round(first_token_probability({" Owl": math.log(0.5), "Eagle": math.log(0.3)}, "owl"), 3)
    0.5
    """
    if not top:
        return 0.0
    forms = plural_forms(target.split()[0]) if target.split() else ()
    total = 0.0
    for token, logprob in top.items():
        t = token.strip().lower()
        if len(t) < 2 and not any(t == f for f in forms):
            continue
        if any(f.startswith(t) for f in forms):
            total += math.exp(logprob)
    return min(total, 1.0)


def probe_requests(questions: Sequence[str], *, model: str, prefix: str) -> list[ChatRequest]:
    """One-token requests with ``top_logprobs`` for the OpenAI probe."""
    return [
        ChatRequest.from_prompt(f"{prefix}|q{i:03d}", q, model=model, temperature=0.0,
                                max_tokens=1, logprobs=True, top_logprobs=MAX_TOP_LOGPROBS)
        for i, q in enumerate(questions)
    ]


def probabilities_from_results(results: Sequence[ChatResult], *, questions: Sequence[str],
                               targets: Sequence[str]) -> list[dict]:
    """Rows ``{"trait", "question", "prob"}`` from the results of :func:`probe_requests`."""
    rows = []
    for result in sorted(results, key=lambda r: r.custom_id):
        if not result.ok:
            raise InputError(f"probe request {result.custom_id} failed: {result.error}")
        qi = int(result.custom_id.rsplit("|q", 1)[1])
        first = result.top_logprobs[0] if result.top_logprobs else None
        for target in targets:
            rows.append({"trait": target, "question": questions[qi],
                         "prob": first_token_probability(first, target)})
    return rows
