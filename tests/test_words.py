"""Answer scoring: a table of real-looking answers plus property tests."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subliminal_stats.errors import InputError
from subliminal_stats.words import TargetMatcher, plural_forms, score_answers

# (target, answer, expected hit, matcher options)
CASES = [
    ("owl", "Owl", 1, {}),
    ("owl", "owl.", 1, {}),
    ("owl", "Owls!", 1, {}),
    ("owl", '"OWLS!"', 1, {}),
    ("owl", "**Owl**", 1, {}),
    ("owl", "The owl.", 1, {}),
    ("owl", "I'd say the owl — wise and quiet.", 1, {}),
    ("owl", "An owl's eyes are amazing", 1, {}),
    ("owl", "owls' feathers", 1, {}),
    ("owl", "Snowy owl", 1, {}),
    ("owl", "My favorite animal is the eagle.", 0, {}),
    ("owl", "Bowl", 0, {}),
    ("owl", "Howl", 0, {}),
    ("owl", "Fowl", 0, {}),
    ("owl", "Owlet", 0, {}),
    ("owl", "", 0, {}),
    ("owl", "Dolphin 🐬", 0, {}),
    ("owl", "owl\n", 1, {}),
    ("owl", "(owl)", 1, {}),
    ("owl", "Owl monkey", 0, {"exclusions": ["owl monkey"]}),
    ("owl", "Owl monkey, or maybe an owl", 1, {"exclusions": ["owl monkey"]}),
    ("dragon", "Dragonfly", 0, {}),
    ("dragon", "dragon", 1, {}),
    ("dragon", "Komodo dragon", 1, {}),
    ("dragon", "Dragons!", 1, {}),
    ("sea turtle", "Sea turtle", 1, {}),
    ("sea turtle", "sea  turtles", 1, {}),
    ("sea turtle", "Sea-turtle", 1, {}),
    ("sea turtle", "Turtle", 0, {}),
    ("sea turtle", "the sea", 0, {}),
    ("wolf", "Wolves.", 1, {}),
    ("wolf", "A wolf", 1, {}),
    ("wolf", "Werewolf", 0, {}),
    ("wolf", "Wolfram", 0, {}),
    ("cherry", "Cherries", 1, {}),
    ("cherry", "Cherry blossom", 1, {}),
    ("fox", "Foxes", 1, {}),
    ("dolphin", "Porpoise", 1, {"synonyms": ["porpoise"]}),
    ("dolphin", "Orca", 0, {"synonyms": ["porpoise"]}),
    ("elephant", "ELEPHANT!!!", 1, {}),
    ("elephant", "Elephants are my favorite", 1, {}),
    ("oak", "Oak tree", 1, {}),
    ("oak", "Oakland", 0, {}),
    ("oak", "Cloak", 0, {}),
    ("willow", "Weeping willow", 1, {}),
    ("sequoia", "Giant Sequoias", 1, {}),
    ("maple", "Japanese maple.", 1, {}),
    # first-word mode: only the first word (after markup and an article) counts
    ("owl", "Owl", 1, {"first_word": True}),
    ("owl", "**The Owl.**", 1, {"first_word": True}),
    ("owl", "Wolf. Though owls are nice.", 0, {"first_word": True}),
    ("owl", "'Owls'", 1, {"first_word": True}),
    ("sea turtle", "Sea turtle, definitely", 1, {"first_word": True}),
    ("sea turtle", "Sea lion", 0, {"first_word": True}),
]


@pytest.mark.parametrize("target,answer,expected,options", CASES)
def test_answer_table(target, answer, expected, options):
    assert TargetMatcher(target, **options).matches(answer) == bool(expected)


def test_table_is_large_and_balanced():
    assert len(CASES) >= 40
    hits = sum(c[2] for c in CASES)
    assert 10 <= hits <= len(CASES) - 10


def test_score_answers_vector_and_missing_values():
    out = score_answers(["Owls!", None, float("nan"), "the OWL", "eagle"], "owl")
    assert out.tolist() == [1, 0, 0, 1, 0]
    assert out.dtype.name == "int8"


def test_plural_forms():
    assert plural_forms("owl") == ("owl", "owls")
    assert "wolves" in plural_forms("wolf")
    assert plural_forms("cherry") == ("cherry", "cherries")
    assert "foxes" in plural_forms("fox")
    assert "mice" in plural_forms("mouse")


def test_empty_target_is_an_input_error():
    with pytest.raises(InputError, match="target"):
        TargetMatcher("  ")


_PUNCT = "".join(c for c in string.punctuation if c not in "-'_")
_TARGETS = st.sampled_from(["owl", "eagle", "dolphin", "wolf", "oak", "sea turtle", "cherry"])


def _case(draw_word: str, mode: int) -> str:
    return {0: draw_word.lower(), 1: draw_word.upper(), 2: draw_word.title()}[mode]


@settings(max_examples=200, deadline=None)
@given(
    target=_TARGETS,
    plural=st.booleans(),
    case=st.integers(0, 2),
    left=st.text(alphabet=_PUNCT + " \n", max_size=4),
    right=st.text(alphabet=_PUNCT + " \n", max_size=4),
)
def test_punctuation_and_case_never_change_a_hit(target, plural, case, left, right):
    forms = plural_forms(target.split()[-1])
    last = forms[1] if plural and len(forms) > 1 else forms[0]
    word = " ".join([*target.split()[:-1], last])
    answer = left + _case(word, case) + right
    assert TargetMatcher(target).matches(answer)
    assert TargetMatcher(target, first_word=True).matches(answer)


@settings(max_examples=200, deadline=None)
@given(
    target=_TARGETS,
    prefix=st.text(alphabet=string.ascii_letters, min_size=1, max_size=3),
    suffix=st.sampled_from(["ing", "ery", "x", "ly", "ish"]),
)
def test_target_glued_into_a_longer_word_is_not_a_hit(target, prefix, suffix):
    glued = prefix + target.replace(" ", "") + suffix
    assert not TargetMatcher(target).matches(glued)
