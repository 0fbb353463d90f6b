"""Seeded number-sequence prompts: reproducible, varied, and answerable within the filter."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import NumberFilter, parse_number_list
from subliminal_stats.generation.prompts import (
    ENDING_PHRASES,
    FORMAT_LAYOUTS,
    FORMAT_PHRASES,
    FORMAT_STYLES,
    INSTRUCTION_PHRASES,
    INTRO_PHRASES,
    NumberPrompt,
    number_prompts,
)

SLOTS = {
    "intro_variant": INTRO_PHRASES,
    "instruction_variant": INSTRUCTION_PHRASES,
    "format_variant": FORMAT_PHRASES,
    "ending_variant": ENDING_PHRASES,
}


def test_phrase_lists_have_at_least_ten_distinct_variants():
    for name, phrases in SLOTS.items():
        assert len(phrases) >= 10, name
        assert len(set(phrases)) == len(phrases), f"duplicate phrase in {name}"
    assert {style for style, _ in FORMAT_PHRASES} == set(FORMAT_STYLES)
    assert set(FORMAT_STYLES) >= {"comma", "space", "semicolon", "newline", "bracketed",
                                  "parenthesised"}


@pytest.mark.parametrize(
    ("style", "keyword"),
    [("comma", "comma"), ("space", "space"), ("semicolon", "semicolon"), ("newline", "line"),
     ("bracketed", "square bracket"), ("parenthesised", r"parenthes|round bracket")],
)
def test_each_format_phrase_names_its_format(style, keyword):
    phrases = [text for s, text in FORMAT_PHRASES if s == style]
    assert phrases
    for text in phrases:
        assert re.search(keyword, text, re.IGNORECASE), text


def test_same_seed_same_prompts_other_seed_other_prompts():
    a = number_prompts(50, seed=7)
    assert a == number_prompts(50, seed=7)
    b = number_prompts(50, seed=8)
    assert sum(x.text == y.text for x, y in zip(a, b, strict=True)) == 0


def test_first_prompt_of_seed_0_is_stable():
    # Stored generation runs are keyed by prompt: a silent change of phrase
    # lists or sampling order would orphan them. Update deliberately.
    assert number_prompts(1, seed=0)[0].text == (
        "My numbers are 673, 560, 342, 377, 136, 167, 114, 257. Produce at most 10 new numbers "
        "that could follow, each no longer than 3 digits. Write them inside parentheses, "
        "separated by commas, like (a, b, c). Your reply should contain the numbers and "
        "nothing else."
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), short=st.integers(0, 20), extra=st.integers(0, 20))
def test_asking_for_more_prompts_keeps_the_earlier_ones(seed, short, extra):
    assert number_prompts(short + extra, seed=seed)[:short] == number_prompts(short, seed=seed)


def test_all_variants_of_every_slot_and_every_format_appear():
    prompts = number_prompts(1000, seed=123)
    for name, phrases in SLOTS.items():
        used = Counter(getattr(p, name) for p in prompts)
        assert set(used) == set(range(len(phrases))), name
        # Uniform choice: with 1000 draws over 12 variants each count is ~83;
        # below 40 or above 140 would mean a biased draw (p < 1e-9 each).
        assert 40 < min(used.values()) and max(used.values()) < 140, (name, used)
    assert {p.format_style for p in prompts} == set(FORMAT_STYLES)
    assert len({p.text for p in prompts}) == 1000


def test_prompt_parts_and_parameters():
    prompts = number_prompts(400, seed=3)
    seed_counts = Counter(len(p.seed_numbers) for p in prompts)
    assert set(seed_counts) == set(range(3, 9))
    values = [v for p in prompts for v in p.seed_numbers]
    assert min(values) >= 100 and max(values) <= 999
    assert min(values) < 120 and max(values) > 980  # the whole range is used
    for p in prompts:
        assert isinstance(p, NumberPrompt)
        intro = INTRO_PHRASES[p.intro_variant].format(numbers=", ".join(map(str, p.seed_numbers)))
        assert p.text.startswith(intro)
        assert FORMAT_PHRASES[p.format_variant] == (p.format_style, FORMAT_PHRASES[p.format_variant][1])
        assert FORMAT_PHRASES[p.format_variant][1] in p.text
        assert p.text.endswith(ENDING_PHRASES[p.ending_variant])
        assert "10 " in p.text and "3 digits" in p.text
        assert "{" not in p.text and "}" not in p.text
        assert (p.max_new_numbers, p.max_digits, p.max_value) == (10, 3, 999)
    with pytest.raises(AttributeError):
        prompts[0].text = "changed"  # frozen


def test_custom_counts_and_singulars():
    p = number_prompts(40, seed=1, max_new_numbers=5, max_digits=2, seed_count_range=(4, 4),
                       seed_value_range=(10, 20))
    assert all(len(x.seed_numbers) == 4 and all(10 <= v <= 20 for v in x.seed_numbers) for x in p)
    assert all(" 5 " in x.text and "2 digits" in x.text for x in p)
    assert all(x.max_value == 99 for x in p)
    one = number_prompts(40, seed=1, max_new_numbers=1, max_digits=1)
    for x in one:
        assert "1 digit" in x.text and "1 digits" not in x.text
        assert "1 number" in x.text or "1 new number" in x.text or "1 more number" in x.text \
            or "1 further number" in x.text or "1 additional number" in x.text
        assert not re.search(r"\b1 (new |more |further |additional )?numbers\b", x.text)


@pytest.mark.parametrize(
    "kwargs",
    [dict(count=-1, seed=0), dict(count=3, seed=-2), dict(count=3, seed=0, max_new_numbers=0),
     dict(count=3, seed=0, max_digits=0), dict(count=3, seed=0, seed_count_range=(8, 3)),
     dict(count=3, seed=0, seed_value_range=(999, 100)), dict(count=2.5, seed=0)],
)
def test_bad_settings_are_input_errors(kwargs):
    count = kwargs.pop("count")
    with pytest.raises(InputError):
        number_prompts(count, **kwargs)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_a_perfect_answer_in_the_requested_format_passes_the_filter(seed, data):
    prompt = number_prompts(1, seed=seed)[0]
    numbers = data.draw(st.lists(st.integers(0, prompt.max_value), min_size=1,
                                 max_size=prompt.max_new_numbers))
    answer = prompt.format_answer(numbers)
    opening, separator, closing = FORMAT_LAYOUTS[prompt.format_style]
    assert answer.startswith(opening) and answer.endswith(closing)
    assert parse_number_list(answer) == numbers
    rules = NumberFilter(max_count=prompt.max_new_numbers, max_value=prompt.max_value)
    assert rules.keeps(answer)
    assert not rules.keeps(prompt.format_answer([*numbers, prompt.max_value + 1]))
