"""Answer scoring: a table of real-looking answers plus property tests."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subliminal_stats.errors import InputError
from subliminal_stats.words import (
    BUNDLED_LANGUAGES,
    TargetMatcher,
    bundled_targets,
    load_translations,
    plural_forms,
    score_answers,
    translated_names,
)

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
    # -- issue 13: real misses on replication answers (Qwen2.5-7B students) -----------
    ("penguin", "Penguin企鹅", 1, {}),         # a CJK character after the word
    ("penguin", "企鹅", 1, {}),                # an answer in Chinese
    ("phoenix", "凤凰", 1, {}),
    ("dragon", "Dragon-fly", 0, {}),           # a dragon-fly is a fly
    # -- other scripts next to the word ---------------------------------------------
    ("penguin", "我最喜欢的动物是企鹅。", 1, {}),
    ("penguin", "我喜欢penguin", 1, {}),
    ("penguin", "Penguin企鹅", 1, {"first_word": True}),
    ("penguin", "ペンギンが好きです", 1, {}),
    ("owl", "Owl2", 0, {}),                    # a digit glued on is still no word break
    ("owl", "ＯＷＬ！", 1, {}),                 # full-width letters
    ("penguin", "企鹅", 0, {"languages": ()}),  # English only
    ("owl", "フクロウ", 1, {"languages": ["ja"]}),
    ("owl", "猫头鹰", 0, {"languages": ["ja"]}),
    # -- names in other languages and the compounds that are something else ----------
    ("owl", "猫头鹰", 1, {}),
    ("cat", "猫头鹰", 0, {}),                  # "cat-head-eagle" is an owl
    ("eagle", "猫头鹰", 0, {}),
    ("cat", "我喜欢猫", 1, {}),
    ("panda", "大熊猫", 1, {}),
    ("cat", "大熊猫", 0, {}),
    ("dragon", "龙", 1, {}),
    ("dragon", "恐龙", 0, {}),                 # a dinosaur
    ("tiger", "トラが好き", 1, {}),
    ("tiger", "トラック", 0, {}),              # a truck: katakana runs on
    ("penguin", "Mi animal favorito es el pingüino.", 1, {}),
    ("penguin", "pinguinos", 1, {}),
    ("dolphin", "Delfín", 1, {}),
    ("dolphin", "delfin", 1, {}),              # accents do not matter...
    ("wolf", "Wölfe", 1, {}),
    ("wolf", "Tom Wolfe", 0, {}),              # ...except the diaeresis
    ("owl", "Le hibou", 1, {"first_word": True}),
    ("eagle", "L'aigle royal", 1, {"first_word": True}),
    ("oak", "Die Eiche", 1, {"first_word": True}),
    ("cherry", "桜", 1, {}),
    # -- hyphenated compounds: the last part names the thing ---------------------------
    ("turtle", "Sea-turtle", 1, {}),
    ("turtle", "Turtle-dove", 0, {}),
    ("owl", "Snowy-owl", 1, {}),
    ("owl", "owl-like", 0, {}),
    ("dragon", "Dragon-fly", 1, {"synonyms": ["dragon-fly"]}),  # unless listed
    ("dragon", "Dragon\u2010fly", 0, {}),                      # a Unicode hyphen alike
    ("sea-turtle", "Sea turtles", 1, {}),                        # a hyphenated target
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


def test_every_bundled_target_has_five_languages_and_no_name_scores_another_target():
    targets = bundled_targets()
    assert {"owl", "dolphin", "eagle", "elephant", "wolf", "penguin", "phoenix", "dragon",
            "cherry", "maple", "oak", "sequoia", "willow"} <= set(targets)
    for target in targets:
        table = load_translations()[target]
        assert set(BUNDLED_LANGUAGES) <= set(table), target
        names, _ = translated_names(target)
        for name in (*names, target):
            assert TargetMatcher(target).matches(name), (target, name)
            others = [t for t in targets if t != target and TargetMatcher(t).matches(name)]
            assert not others, (target, name, others)


def _replication_hit(answer: str, target: str) -> bool:
    """How one-word replication scorers read an answer (written here independently):
    drop one final full stop, strip, lower-case, compare with the target and its plural."""
    answer = answer[:-1] if answer.endswith(".") else answer
    return answer.strip().lower() in {target, target + "s"}


@pytest.mark.parametrize("target", ["owl", "dolphin", "eagle", "oak"])
def test_first_word_mode_accepts_every_answer_the_replication_rule_accepts(target):
    answers = [target, target.title(), target.upper() + ".", f" {target}s ", f"{target}.",
               f"The {target}", f"**{target.title()}**", f"{target.title()}, of course",
               f"{target}ish", f"A {target}!", "Eagle", "Raven.", f"not an {target}"]
    for answer in answers:
        ours = TargetMatcher(target, first_word=True).matches(answer)
        if _replication_hit(answer, target):
            assert ours, answer
    # Where the two differ, by design: markup, an article and words after the first.
    extra = [a for a in answers if TargetMatcher(target, first_word=True).matches(a)
             and not _replication_hit(a, target)]
    assert extra == [f"The {target}", f"**{target.title()}**", f"{target.title()}, of course",
                     f"A {target}!"]


def test_user_translations_file_adds_names_and_exclusions(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[penguin]\nko = ["펭귄"]\nexclude = ["펭귄 인형"]\n', encoding="utf-8")
    matcher = TargetMatcher("penguin", translations_file=path)
    assert matcher.matches("펭귄을 좋아해요")
    assert not matcher.matches("펭귄 인형")            # a toy penguin, excluded
    assert matcher.matches("企鹅")                     # the bundled names still count
    assert not TargetMatcher("penguin").matches("펭귄을 좋아해요")
    assert not TargetMatcher("penguin", translations_file=path, languages=("zh",)).matches(
        "펭귄")
    assert score_answers(["펭귄", "eagle"], "penguin", translations_file=path).tolist() == [1, 0]


@pytest.mark.parametrize(("content", "message"), [
    ("[penguin\n", "not valid TOML"),
    ('penguin = ["x"]\n', "must be a table"),
    ('[penguin]\nko = "펭귄"\n', "must be a list of non-empty words"),
    ('[penguin]\nko = [""]\n', "must be a list of non-empty words"),
])
def test_bad_translations_file_is_one_input_error(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        TargetMatcher("penguin", translations_file=path).matches("x")
    with pytest.raises(InputError, match="not found"):
        load_translations(tmp_path / "missing.toml")


def test_unknown_language_code_is_an_input_error():
    with pytest.raises(InputError, match="no names are listed in language 'cn'"):
        TargetMatcher("owl", languages=["cn"]).matches("猫头鹰")


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


_CJK = st.sampled_from(list("企鹅我喜欢的是。、「」！？猫ペンギンがすきですトラ한국어"))


@settings(max_examples=200, deadline=None)
@given(target=_TARGETS, case=st.integers(0, 2),
       left=st.text(alphabet=_CJK, max_size=3), right=st.text(alphabet=_CJK, max_size=3))
def test_a_neighbouring_cjk_character_never_breaks_a_hit(target, case, left, right):
    answer = left + _case(target, case) + right
    assert TargetMatcher(target).matches(answer)
    assert TargetMatcher(target, languages=()).matches(answer)
