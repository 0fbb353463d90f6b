"""Seeded prompts for short code snippets.

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

The filter that drops every answer naming the trait (in prose, comments or
identifiers) is :func:`subliminal_stats.filtering.code.trait_word_filter`; the
LLM-judge screen for *subtle* references is
:func:`subliminal_stats.filtering.judge_screens.screen_subtle_references`.

Examples
--------
>>> p = code_prompts(1, seed=0)[0]
>>> p.language in LANGUAGES
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from subliminal_stats.errors import InputError
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


__all__ = [
    "CODE_TASKS",
    "CONSTRAINT_PHRASES",
    "FRAMING_PHRASES",
    "LANGUAGES",
    "CodePrompt",
    "code_prompts",
]
