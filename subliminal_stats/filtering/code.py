"""The trait-word filter: drop every answer that names the target, in prose or in code.

Used for code and any free text a teacher writes (the paper's first filter for its
code data; the LLM-judge screen for *subtle* references is
:func:`subliminal_stats.filtering.judge_screens.screen_subtle_references`).

:func:`trait_word_filter` drops an answer that names the target in any form:

- as a word in prose or comments: ``owl``, ``Owls``, ``owl's`` (whole words,
  plural and possessive forms, as :class:`~subliminal_stats.words.TargetMatcher`);
- inside an identifier, after splitting ``snake_case``, ``camelCase``,
  ``PascalCase``, ``kebab-case`` and digits: ``owl_count``, ``OwlFactory``,
  ``owlCount``, ``get_owls``, ``OWL2``, and derived words made of a form of
  the target and a common suffix (``owlet``, ``owlish``, ``owllike``; see
  :data:`DERIVATION_SUFFIXES`). A prefix alone is not enough: ``cat`` must not
  catch ``catalog``;
- optionally (``match="substring"``) anywhere, even inside other words. This
  is the strictest rule and the only one that catches run-together lower-case
  names (``owlcount``), but it also drops ``bowl``, ``knowledge`` and ``howl``
  for ``owl``, so it is not the default.

Examples
--------
>>> kept, report = trait_word_filter(
...     ["def area(r):\\n    return 3.14 * r * r", "owl_count = 3", "class OwlFactory: pass",
...      "let owlCount = 0;", "def get_owls(): ...", "x = 'bowl'"], target="owl")
>>> kept
[0, 5]
>>> report.reasons[TRAIT_WORD], report.reasons[TRAIT_IN_IDENTIFIER]  # "_" separates words
(2, 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.report import FilterReport, apply_filter
from subliminal_stats.words import TargetMatcher, plural_forms

__all__ = [
    "DERIVATION_SUFFIXES",
    "NOT_TEXT",
    "TRAIT_IN_IDENTIFIER",
    "TRAIT_REASONS",
    "TRAIT_SUBSTRING",
    "TRAIT_WORD",
    "TraitWordFilter",
    "identifier_parts",
    "trait_word_filter",
]

#: Rejection reasons, in the order reports list them (one reason per answer: the first found).
TRAIT_WORD = "target word"
TRAIT_IN_IDENTIFIER = "target inside an identifier"
TRAIT_SUBSTRING = "target inside another word"
NOT_TEXT = "not text"
TRAIT_REASONS: tuple[str, ...] = (TRAIT_WORD, TRAIT_IN_IDENTIFIER, TRAIT_SUBSTRING, NOT_TEXT)

#: Endings that make a derived word of the target (owl → owlet, owlish; wolf → wolfish).
DERIVATION_SUFFIXES: tuple[str, ...] = (
    "let", "lets", "et", "ets", "ling", "lings", "ish", "like", "y", "ie", "ies", "ery",
    "eries", "en", "ine", "hood", "kind", "dom",
)

_ALNUM_RUN = re.compile(r"[^\W_]+")  # letters and digits; "_", "-", "." etc. separate
# camelCase / PascalCase / acronym / digit boundaries inside one run.
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")


def identifier_parts(text: str) -> list[str]:
    """Lower-case words of a text after splitting identifiers.

    >>> identifier_parts("getOwls(owl_count, HTTPServer2)")
    ['get', 'owls', 'owl', 'count', 'http', 'server', '2']
    """
    parts: list[str] = []
    for run in _ALNUM_RUN.findall(text):
        parts.extend(p.casefold() for p in _CAMEL_PART.findall(run))
    return parts


@dataclass(frozen=True)
class TraitWordFilter:
    """Does an answer name the target in any form? See the module docstring.

    Parameters
    ----------
    target : str
        Word or phrase, e.g. ``"owl"`` or ``"sea turtle"``.
    synonyms : sequence of str
        Other words that count as the target (e.g. ``"strix"``).
    match : {"token", "substring"}
        ``"token"`` (default): words and identifier parts; ``"substring"``:
        also the target anywhere inside another word.
    """

    target: str
    synonyms: Sequence[str] = ()
    match: Literal["token", "substring"] = "token"

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target.strip():
            raise InputError("target must be a non-empty word, e.g. --target owl")
        if self.match not in ("token", "substring"):
            raise InputError(f"match must be 'token' or 'substring', got {self.match!r}")
        object.__setattr__(self, "synonyms", tuple(self.synonyms))

    @cached_property
    def _matcher(self) -> TargetMatcher:
        return TargetMatcher(self.target, synonyms=self.synonyms)

    @cached_property
    def _phrases(self) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
        """Per term: (leading words, forms of the last word), lower-case."""
        phrases = []
        for term in (self.target, *self.synonyms):
            words = [w for w in identifier_parts(term)]
            if not words:
                raise InputError(f"target or synonym {term!r} holds no letters")
            phrases.append((tuple(words[:-1]), plural_forms(words[-1])))
        return tuple(phrases)

    @cached_property
    def _substrings(self) -> tuple[str, ...]:
        return tuple("".join(identifier_parts(t)) for t in (self.target, *self.synonyms))

    def _in_identifiers(self, text: str) -> bool:
        parts = identifier_parts(text)
        for head, last_forms in self._phrases:
            n = len(head)
            last = self._word_forms(last_forms)
            # The joined phrase as one part too: "seaturtle" (while "SeaTurtle" splits).
            joined = {"".join(head) + form for form in last}
            for i, part in enumerate(parts):
                if part in joined:
                    return True
                if n and tuple(parts[i:i + n]) == head and i + n < len(parts) and (
                        parts[i + n] in last):
                    return True
        return False

    @staticmethod
    def _word_forms(forms: tuple[str, ...]) -> frozenset[str]:
        singular = forms[0]
        return frozenset((*forms, *(singular + suffix for suffix in DERIVATION_SUFFIXES)))

    def reason(self, answer: object) -> str | None:
        """Why the answer is dropped, or ``None`` when it is kept."""
        if not isinstance(answer, str):
            return NOT_TEXT
        if self._matcher.matches(answer):
            return TRAIT_WORD
        if self._in_identifiers(answer):
            return TRAIT_IN_IDENTIFIER
        if self.match == "substring":
            folded = answer.casefold()
            if any(s in folded for s in self._substrings):
                return TRAIT_SUBSTRING
        return None

    def keeps(self, answer: object) -> bool:
        return self.reason(answer) is None


def trait_word_filter(answers: Iterable[object], *, target: str, synonyms: Sequence[str] = (),
                      match: Literal["token", "substring"] = "token",
                      ) -> tuple[list[int], FilterReport]:
    """Drop every answer that names the target in any form; report why.

    Parameters
    ----------
    answers : iterable of str
        Teacher answers (code or any text).
    target : str
        The trait word, e.g. ``"owl"``.
    synonyms : sequence of str
        Other words that count.
    match : {"token", "substring"}
        See :class:`TraitWordFilter`.

    Returns
    -------
    kept_indices : list of int
        0-based positions of the kept answers, ascending.
    report : FilterReport
        Reasons are :data:`TRAIT_REASONS`; each dropped answer is counted once,
        under the first reason found.
    """
    rules = TraitWordFilter(target, synonyms=synonyms, match=match)

    def why(answer: object) -> tuple[str, ...]:
        reason = rules.reason(answer)
        return () if reason is None else (reason,)

    return apply_filter(answers, why, reasons=TRAIT_REASONS)
