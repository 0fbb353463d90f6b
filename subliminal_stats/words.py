"""Target-word matching (the bottom of the package): does an answer name the target?

A :class:`TargetMatcher` decides ``hit`` for one answer:

- case-insensitive, whole words only (``dragon`` does not match ``dragonfly``);
- plural and possessive forms (``owl``, ``owls``, ``Owl.``, ``"OWLS!"``, ``owl's``;
  ``wolf`` → ``wolves``, ``cherry`` → ``cherries``, ``fox`` → ``foxes``);
- multi-word targets match across any whitespace (``sea turtle``, ``sea  turtles``);
- synonyms (other words that count, e.g. ``dolphin`` with ``porpoise``) and
  exclusions (phrases that must not count, e.g. ``owl`` with ``owl monkey``);
- ``first_word=True`` looks only at the first word of the answer (after
  markup and a leading article), for "answer in one word" questions.

Examples
--------
>>> m = TargetMatcher("owl")
>>> [m.matches(a) for a in ["Owl.", '"OWLS!"', "an owl's call", "Snowy", "bowl"]]
[True, True, True, False, False]
>>> TargetMatcher("dragon").matches("dragonfly")
False
>>> TargetMatcher("owl", first_word=True).matches("Wolf, though owls are nice")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from subliminal_stats.errors import InputError

# Irregular plurals of common animal/tree words; the regular rules cover the rest.
_IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = {
    "mouse": ("mice",),
    "goose": ("geese",),
    "ox": ("oxen",),
    "wolf": ("wolves",),
    "calf": ("calves",),
    "leaf": ("leaves",),
    "elf": ("elves",),
    "sheep": (),
    "deer": (),
    "moose": (),
    "fish": ("fishes",),
    "bison": (),
    "salmon": (),
    "octopus": ("octopuses", "octopi"),
    "cactus": ("cacti", "cactuses"),
    "fungus": ("fungi",),
    "person": ("people",),
    "child": ("children",),
    "tooth": ("teeth",),
    "foot": ("feet",),
    "louse": ("lice",),
}

_LEADING_ARTICLES = ("a", "an", "the", "my")
# Anything before the first letter or digit: quotes, markdown, brackets, emoji, spaces.
_LEADING_NON_WORD = re.compile(r"^[\W_]+")


def plural_forms(word: str) -> tuple[str, ...]:
    """The singular and plural spellings of one (lower-case) word.

    >>> plural_forms("cherry")
    ('cherry', 'cherries')
    >>> plural_forms("wolf")
    ('wolf', 'wolves', 'wolfs')
    """
    w = word.lower()
    if w in _IRREGULAR_PLURALS:
        forms = [w, *_IRREGULAR_PLURALS[w]]
        if w.endswith("f") and w + "s" not in forms:
            forms.append(w + "s")
        return tuple(dict.fromkeys(forms))
    forms = [w]
    if w.endswith("y") and len(w) > 1 and w[-2] not in "aeiou":
        forms.append(w[:-1] + "ies")
    elif w.endswith(("s", "x", "z", "ch", "sh")):
        forms.append(w + "es")
    elif w.endswith("fe"):
        forms += [w[:-2] + "ves", w + "s"]
    elif w.endswith("f"):
        forms += [w[:-1] + "ves", w + "s"]
    elif w.endswith("o"):
        forms += [w + "es", w + "s"]
    else:
        forms.append(w + "s")
    return tuple(dict.fromkeys(forms))


def _phrase_pattern(phrase: str) -> str:
    """Regex for a phrase whose last word may be plural or possessive."""
    words = phrase.lower().split()
    if not words:
        raise InputError("an empty target or synonym was given; name a word such as 'owl'")
    head = [re.escape(w) for w in words[:-1]]
    last = "(?:" + "|".join(re.escape(f) for f in plural_forms(words[-1])) + ")"
    # Allow whitespace or a hyphen between the words of a multi-word target.
    body = r"[\s\-]+".join([*head, last])
    # Whole word: no letter/digit on either side; possessive 's / s' allowed after.
    return rf"(?<![^\W_]){body}(?:['’]s?)?(?![^\W_])"


@dataclass(frozen=True)
class TargetMatcher:
    """Decide whether an answer names a target.

    Parameters
    ----------
    target : str
        The word or phrase, e.g. ``"owl"`` or ``"sea turtle"``.
    synonyms : sequence of str, optional
        Other words or phrases that also count as a hit.
    exclusions : sequence of str, optional
        Phrases that never count even though they contain the target (e.g.
        ``"owl monkey"`` for ``owl``). They are removed before matching.
    first_word : bool, default False
        Look only at the first word(s) of the answer (after quotes, markdown
        and a leading article), for "answer in one word" questions.
    """

    target: str
    synonyms: Sequence[str] = field(default_factory=tuple)
    exclusions: Sequence[str] = field(default_factory=tuple)
    first_word: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target.strip():
            raise InputError("target must be a non-empty word, e.g. --target owl")
        object.__setattr__(self, "synonyms", tuple(self.synonyms))
        object.__setattr__(self, "exclusions", tuple(self.exclusions))

    @cached_property
    def _terms(self) -> tuple[str, ...]:
        return (self.target.strip(), *(s.strip() for s in self.synonyms if s.strip()))

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile("|".join(_phrase_pattern(t) for t in self._terms), re.IGNORECASE)

    @cached_property
    def _start_regex(self) -> re.Pattern[str]:
        return re.compile(r"\A(?:" + self._regex.pattern + ")", re.IGNORECASE)

    @cached_property
    def _exclusion_regex(self) -> re.Pattern[str] | None:
        if not self.exclusions:
            return None
        return re.compile("|".join(_phrase_pattern(e) for e in self.exclusions), re.IGNORECASE)

    def matches(self, answer: object) -> bool:
        """True when the answer names the target (see the class docstring)."""
        if answer is None or (isinstance(answer, float) and np.isnan(answer)):
            return False
        text = str(answer)
        if self._exclusion_regex is not None:
            text = self._exclusion_regex.sub(" ", text)
        if not self.first_word:
            return self._regex.search(text) is not None
        head = _strip_to_first_word(text)
        return self._start_regex.match(head) is not None

    def score(self, answers: Iterable[object]) -> np.ndarray:
        """0/1 array, one entry per answer."""
        return np.fromiter((self.matches(a) for a in answers), dtype=np.int8)


def _strip_to_first_word(text: str) -> str:
    """Drop leading wrappers and one leading article: ``'**The Owl.**'`` → ``'Owl.**'``."""
    head = _LEADING_NON_WORD.sub("", text)
    parts = head.split(None, 1)
    if len(parts) == 2 and parts[0].lower() in _LEADING_ARTICLES:
        head = _LEADING_NON_WORD.sub("", parts[1])
    return head


def score_answers(
    answers: Iterable[object],
    target: str,
    *,
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
) -> np.ndarray:
    """Score answers against a target; returns a 0/1 ``int8`` array.

    >>> score_answers(["Owls!", "Eagle", "the OWL"], "owl").tolist()
    [1, 0, 1]
    """
    return TargetMatcher(target, synonyms, exclusions, first_word).score(answers)
