"""The trait-word filter on hand-made answers: words, identifiers, derived words, substrings."""

from __future__ import annotations

import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.code import (
    NOT_TEXT,
    TRAIT_IN_IDENTIFIER,
    TRAIT_REASONS,
    TRAIT_SUBSTRING,
    TRAIT_WORD,
    TraitWordFilter,
    identifier_parts,
    trait_word_filter,
)


@pytest.mark.parametrize("text, parts", [
    ("owl_count", ["owl", "count"]),
    ("OwlFactory", ["owl", "factory"]),
    ("owlCount", ["owl", "count"]),
    ("get_owls", ["get", "owls"]),
    ("parseHTTPOwl2", ["parse", "http", "owl", "2"]),
    ("OWL_MAX", ["owl", "max"]),
    ("data-owl-id", ["data", "owl", "id"]),
])
def test_identifier_parts(text, parts):
    assert identifier_parts(text) == parts


@pytest.mark.parametrize("answer, reason", [
    # Identifiers of every style are caught.
    ("owl_count = 3", TRAIT_WORD),            # "_" separates words
    ("def get_owls():\n    return []", TRAIT_WORD),
    ("class OwlFactory:\n    pass", TRAIT_IN_IDENTIFIER),
    ("let owlCount = 0;", TRAIT_IN_IDENTIFIER),
    ("const nightOwls = [];", TRAIT_IN_IDENTIFIER),
    ("type OWLConfig struct{}", TRAIT_IN_IDENTIFIER),
    ("fn owlet_size() {}", TRAIT_IN_IDENTIFIER),  # a derived word inside a name
    ("let isOwlish = true;", TRAIT_IN_IDENTIFIER),
    # Prose and comments.
    ("# counts the Owls in a list", TRAIT_WORD),
    ("// an owl's favourite loop", TRAIT_WORD),
    ("print('OWL')", TRAIT_WORD),
    # Kept: other words that merely contain the letters.
    ("bowl = fill_bowl(soup)", None),
    ("knowledge_base = {}", None),
    ("def howl(): pass", None),
    ("def area(r):\n    return 3.14159 * r * r", None),
    ("owlcount = 1", None),   # run-together lower case: only substring mode catches it
])
def test_trait_word_reasons_owl(answer, reason):
    assert TraitWordFilter("owl").reason(answer) == reason


def test_substring_mode_is_stricter():
    rules = TraitWordFilter("owl", match="substring")
    assert rules.reason("owlcount = 1") == TRAIT_SUBSTRING
    assert rules.reason("bowl = 2") == TRAIT_SUBSTRING
    assert rules.reason("x = 2") is None


def test_short_target_does_not_catch_words_that_start_with_it():
    rules = TraitWordFilter("cat")
    assert rules.keeps("catalog = load_catalog(category)")
    assert rules.keeps("def concatenate(a, b): return a + b")
    assert not rules.keeps("catCount += 1")
    assert not rules.keeps("cats = []")


def test_multiword_target_synonyms_and_irregular_plurals():
    turtle = TraitWordFilter("sea turtle")
    assert not turtle.keeps("seaTurtles = []")
    assert not turtle.keeps("sea_turtle_id = 4")
    assert not turtle.keeps("seaturtle = 4")
    assert turtle.keeps("sea = 1; turtle_count = 2")  # not the phrase
    wolf = TraitWordFilter("wolf", synonyms=["lupus"])
    assert not wolf.keeps("const wolvesByPack = {}")
    assert not wolf.keeps("LupusCounter()")
    assert wolf.keeps("wolfram = 74")  # the element, not a derived form


def test_filter_report_counts_each_dropped_answer_once():
    answers = ["x = 1", "owl_count = 3", "class OwlFactory: pass", "let owlCount = 0;",
               "def get_owls(): ...", "# an owl", "bowl = 1", None]
    kept, report = trait_word_filter(answers, target="owl")
    assert kept == [0, 6]
    assert (report.total, report.kept, report.rejected) == (8, 2, 6)
    assert report.reasons == {TRAIT_WORD: 3, TRAIT_IN_IDENTIFIER: 2, TRAIT_SUBSTRING: 0,
                              NOT_TEXT: 1}
    assert list(report.reasons) == list(TRAIT_REASONS)
    assert report.to_dict()["rejected"] == 6


def test_bad_target_is_an_input_error():
    with pytest.raises(InputError, match="target"):
        TraitWordFilter("  ")
    with pytest.raises(InputError, match="match"):
        TraitWordFilter("owl", match="regex")
