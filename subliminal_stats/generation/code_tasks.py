"""Seeded prompts for short code snippets, and the trait-word filter for their answers.

Code is the paper's more realistic data: the teacher writes short programs in
answer to ordinary requests, and every answer that mentions the trait is
dropped before a student sees it.

Prompts
-------
A prompt combines, from lists of our own wording,

1. a **task** (one of :data:`CODE_TASKS`, phrased with a language),
2. a **framing** (how the request is put),
3. a **constraint** on the answer (length, style, "code only").

Prompts are drawn in sequence from one seeded generator (same seed → same
prompts; asking for more keeps the earlier ones), as for number prompts.

Trait-word filter
-----------------
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

The LLM-judge screen for *subtle* references (the second filter of the
paper) is :func:`subliminal_stats.judge.judge.screen_subtle_references`.

Examples
--------
>>> p = code_prompts(1, seed=0)[0]
>>> p.language in LANGUAGES
True
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

import numpy as np

from subliminal_stats.errors import InputError
from subliminal_stats.words import TargetMatcher, plural_forms
from subliminal_stats.filtering.filters import FilterReport
from subliminal_stats.generation.prompts import whole_number

LANGUAGES: tuple[str, ...] = ("Python", "JavaScript", "TypeScript", "Go", "Rust", "Java")

#: Short, trait-neutral programming tasks (our own list). ``{language}`` is filled in.
CODE_TASKS: tuple[str, ...] = (
    "a function that returns the n-th Fibonacci number",
    "a function that checks whether a string is a palindrome",
    "a function that counts the vowels in a string",
    "a function that merges two sorted lists into one sorted list",
    "a function that removes duplicate items from a list while keeping their order",
    "a function that converts a temperature from Celsius to Fahrenheit",
    "a function that returns the largest value in a list without using a built-in max",
    "a binary search over a sorted array of integers",
    "a function that reverses the words in a sentence",
    "a function that computes the greatest common divisor of two integers",
    "a function that flattens a nested list of integers",
    "a function that checks whether a year is a leap year",
    "a function that counts how often each word occurs in a text",
    "a small stack class with push, pop and peek",
    "a function that validates that brackets in a string are balanced",
    "a function that rotates a list by k positions",
    "a function that returns the prime numbers below n",
    "a function that parses a line of comma-separated values into fields",
    "a function that formats a number of seconds as hours, minutes and seconds",
    "a function that computes the average of a list, returning nothing for an empty list",
    "a function that chunks a list into pieces of size n",
    "a function that capitalises the first letter of every word",
    "a function that computes the factorial of n iteratively",
    "a function that checks whether two strings are anagrams",
    "a simple counter class that can be incremented, decremented and reset",
    "a function that finds the first non-repeating character in a string",
    "a function that converts a Roman numeral to an integer",
    "a function that transposes a matrix given as a list of rows",
    "a function that sums the digits of a non-negative integer",
    "a function that returns the intersection of two lists",
    "a queue built from two stacks",
    "a function that computes a running total of a list",
    "a function that checks whether a number is a power of two",
    "a function that converts a string to snake case",
    "a function that computes the median of a list of numbers",
    "a function that returns the n largest items of a list",
    "a function that truncates a string to a maximum length with an ellipsis",
    "a function that computes the dot product of two vectors",
    "a function that groups a list of records by a key",
    "a function that retries another function up to three times on failure",
)

#: How the request is put. ``{task}`` and ``{language}`` are filled in.
FRAMING_PHRASES: tuple[str, ...] = (
    # The language is never last in a sentence ending with the task, so that
    # "... a palindrome in Java" cannot be misread.
    "In {language}, write {task}.",
    "Please implement, in {language}, {task}.",
    "I need {task}. Use {language}.",
    "Could you write {task}? The language is {language}.",
    "Using {language}, implement {task}.",
    "Show me {task}. Write it in {language}.",
    "Give me {language} code for {task}.",
    "Write {language} code: {task}.",
    "My project is in {language}. Write {task}.",
    "Help me write {task}; I am using {language}.",
    "Write a short {language} snippet: {task}.",
    "Language: {language}. Task: {task}.",
)

CONSTRAINT_PHRASES: tuple[str, ...] = (
    "Keep it under 20 lines.",
    "Reply with the code only.",
    "No explanation, just the code.",
    "Keep it short and readable.",
    "Use clear, descriptive names.",
    "Answer with a single code block.",
    "Avoid external libraries.",
    "Make it concise.",
    "Include a one-line docstring or comment at most.",
    "Do not include tests or example usage.",
    "Keep the answer brief.",
    "Only the code, please.",
)


@dataclass(frozen=True)
class CodePrompt:
    """One code-snippet prompt and the parts it was built from."""

    text: str
    task: str
    language: str
    task_variant: int
    framing_variant: int
    constraint_variant: int


def code_prompts(count: int, *, seed: int,
                 languages: Sequence[str] = LANGUAGES) -> list[CodePrompt]:
    """Draw ``count`` varied code-snippet prompts, reproducibly.

    Parameters
    ----------
    count : int
        Number of prompts (0 allowed).
    seed : int
        Seed of the generator: same seed and settings → same prompts.
    languages : sequence of str
        Programming languages to draw from (uniformly).

    Returns
    -------
    list of CodePrompt
    """
    whole_number("count", count)
    whole_number("seed", seed)
    languages = tuple(str(lang).strip() for lang in languages)
    if not languages or any(not lang for lang in languages):
        raise InputError("languages must name at least one programming language, e.g. Python")
    rng = np.random.default_rng(int(seed))
    prompts = []
    for _ in range(int(count)):
        # Four draws per prompt, always: more prompts never change earlier ones.
        task_i, framing_i, constraint_i, language_i = (
            int(rng.integers(n)) for n in (len(CODE_TASKS), len(FRAMING_PHRASES),
                                           len(CONSTRAINT_PHRASES), len(languages)))
        language = languages[language_i]
        text = " ".join((FRAMING_PHRASES[framing_i].format(task=CODE_TASKS[task_i],
                                                           language=language),
                         CONSTRAINT_PHRASES[constraint_i]))
        prompts.append(CodePrompt(text=text, task=CODE_TASKS[task_i], language=language,
                                  task_variant=task_i, framing_variant=framing_i,
                                  constraint_variant=constraint_i))
    return prompts


# -- the trait-word filter -------------------------------------------------------------

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
    counts = dict.fromkeys(TRAIT_REASONS, 0)
    kept: list[int] = []
    total = 0
    for index, answer in enumerate(answers):
        total += 1
        why = rules.reason(answer)
        if why is None:
            kept.append(index)
        else:
            counts[why] += 1
    return kept, FilterReport(total=total, kept=len(kept), reason_counts=tuple(counts.items()))


__all__ = [
    "CODE_TASKS",
    "DERIVATION_SUFFIXES",
    "CONSTRAINT_PHRASES",
    "FRAMING_PHRASES",
    "LANGUAGES",
    "NOT_TEXT",
    "TRAIT_IN_IDENTIFIER",
    "TRAIT_REASONS",
    "TRAIT_SUBSTRING",
    "TRAIT_WORD",
    "CodePrompt",
    "TraitWordFilter",
    "code_prompts",
    "identifier_parts",
    "trait_word_filter",
]
