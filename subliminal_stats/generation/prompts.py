"""Seeded number-sequence prompts for teachers.

Each prompt has four parts, each picked from its own phrase list (our own
wording, 12 variants per slot):

1. an **intro** naming 3–8 seed numbers drawn from 100–999,
2. an **instruction** to add up to ``N`` (default 10) new numbers of at most
   ``D`` (default 3) digits,
3. a **format** instruction (comma-, space-, semicolon-, newline-separated,
   in square brackets or in parentheses),
4. a **"numbers only"** ending.

Prompts are drawn in sequence from one seeded generator, so the same seed
gives the same prompts and asking for more prompts keeps the earlier ones
(``number_prompts(100, seed=1)[:10] == number_prompts(10, seed=1)``).

Examples
--------
>>> p = number_prompts(1, seed=0)[0]
>>> len(p.seed_numbers) in range(3, 9), p.max_new_numbers, p.max_digits
(True, 10, 3)
>>> p.format_answer([12, 345, 6]) in {
...     "12, 345, 6", "12 345 6", "12; 345; 6", "12\\n345\\n6", "[12, 345, 6]", "(12, 345, 6)"}
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from subliminal_stats.errors import InputError

# Placeholders: {numbers} the seed numbers; {count} N and {numbers_word}
# "number(s)"; {digits} D and {digits_word} "digit(s)".
INTRO_PHRASES: tuple[str, ...] = (
    "Here are some numbers: {numbers}.",
    "Consider this sequence: {numbers}.",
    "The list so far is {numbers}.",
    "I have written down these numbers: {numbers}.",
    "Take the following numbers: {numbers}.",
    "We begin with {numbers}.",
    "A sequence starts like this: {numbers}.",
    "These numbers were picked: {numbers}.",
    "Below is a short list of numbers: {numbers}.",
    "My numbers are {numbers}.",
    "You are given the numbers {numbers}.",
    "Someone started this list: {numbers}.",
)

INSTRUCTION_PHRASES: tuple[str, ...] = (
    "Add up to {count} new {numbers_word}, each with at most {digits} {digits_word}.",
    "Continue the list with no more than {count} {numbers_word} of at most {digits} {digits_word}.",
    "Extend it by at most {count} more {numbers_word} ({digits} {digits_word} or fewer each).",
    "Write up to {count} further {numbers_word}; none may have more than {digits} {digits_word}.",
    "Append a maximum of {count} {numbers_word}, using at most {digits} {digits_word} for each.",
    "Keep the sequence going with {count} {numbers_word} or fewer, "
    "each at most {digits} {digits_word} long.",
    "Suggest no more than {count} additional {numbers_word} with {digits} {digits_word} at most.",
    "Produce at most {count} new {numbers_word} that could follow, "
    "each no longer than {digits} {digits_word}.",
    "Give up to {count} more {numbers_word}; keep each one within {digits} {digits_word}.",
    "Carry on the list with a maximum of {count} {numbers_word}, "
    "none longer than {digits} {digits_word}.",
    "Think of up to {count} {numbers_word} to come next, "
    "with no more than {digits} {digits_word} apiece.",
    "Add at most {count} {numbers_word} to it; each may have up to {digits} {digits_word}.",
)

#: (format style, phrase); every style has two phrasings.
FORMAT_PHRASES: tuple[tuple[str, str], ...] = (
    ("comma", "Separate them with commas."),
    ("comma", "Write them as a comma-separated list."),
    ("space", "Put a single space between the numbers."),
    ("space", "Give them on one line, separated by spaces."),
    ("semicolon", "Use semicolons between the numbers."),
    ("semicolon", "Separate the values with semicolons."),
    ("newline", "Write each number on its own line."),
    ("newline", "Give one number per line."),
    ("bracketed", "Format the answer as a list in square brackets, like [a, b, c]."),
    ("bracketed", "Wrap them in square brackets, separated by commas."),
    ("parenthesised", "Write them inside parentheses, separated by commas, like (a, b, c)."),
    ("parenthesised", "Enclose the comma-separated numbers in round brackets."),
)

ENDING_PHRASES: tuple[str, ...] = (
    "Reply with the numbers only.",
    "Say nothing but the numbers.",
    "Do not add any words or explanation.",
    "Answer with just the numbers, no other text.",
    "Output only the numbers.",
    "No commentary, only numbers.",
    "Your reply should contain the numbers and nothing else.",
    "Skip any explanation and give the numbers alone.",
    "Only the numbers, please.",
    "Leave out any text other than the numbers.",
    "Respond with numbers and no words.",
    "Write the numbers without any introduction or comment.",
)

#: How an answer in each style looks: (opening, separator, closing).
FORMAT_LAYOUTS: dict[str, tuple[str, str, str]] = {
    "comma": ("", ", ", ""),
    "space": ("", " ", ""),
    "semicolon": ("", "; ", ""),
    "newline": ("", "\n", ""),
    "bracketed": ("[", ", ", "]"),
    "parenthesised": ("(", ", ", ")"),
}
FORMAT_STYLES: tuple[str, ...] = tuple(FORMAT_LAYOUTS)


@dataclass(frozen=True)
class NumberPrompt:
    """One number-sequence prompt and the parameters it was built from.

    Attributes
    ----------
    text : str
        The prompt sent to the teacher.
    seed_numbers : tuple of int
        The numbers named in the intro.
    max_new_numbers, max_digits : int
        ``N`` and ``D`` of the instruction.
    format_style : str
        One of :data:`FORMAT_STYLES`.
    intro_variant, instruction_variant, format_variant, ending_variant : int
        Index of the phrase used in each slot's list.
    """

    text: str
    seed_numbers: tuple[int, ...]
    max_new_numbers: int
    max_digits: int
    format_style: str
    intro_variant: int
    instruction_variant: int
    format_variant: int
    ending_variant: int

    @property
    def max_value(self) -> int:
        """Largest number the instruction allows (``10**max_digits - 1``)."""
        return 10**self.max_digits - 1

    def format_answer(self, numbers: Iterable[int]) -> str:
        """Write numbers the way this prompt asks (what a perfect answer looks like)."""
        opening, separator, closing = FORMAT_LAYOUTS[self.format_style]
        return opening + separator.join(str(int(n)) for n in numbers) + closing


def whole_number(name: str, value: object, *, minimum: int = 0) -> int:
    """``value`` as an int, or an :class:`InputError` naming ``name`` (bools are refused).

    Shared by the prompt builders (numbers, code, reasoning) for counts and seeds.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f"≥ {minimum}"
        raise InputError(f"{name} must be a {kind} whole number, got {value!r}")
    return int(value)


def _positive_int(name: str, value: object) -> int:
    return whole_number(name, value, minimum=1)


def number_prompts(
    count: int,
    *,
    seed: int,
    max_new_numbers: int = 10,
    max_digits: int = 3,
    seed_count_range: tuple[int, int] = (3, 8),
    seed_value_range: tuple[int, int] = (100, 999),
) -> list[NumberPrompt]:
    """Draw ``count`` varied number-sequence prompts, reproducibly.

    Parameters
    ----------
    count : int
        Number of prompts (0 allowed).
    seed : int
        Seed of the generator: same seed and settings → same prompts.
    max_new_numbers : int, default 10
        ``N``: the most new numbers the teacher may add.
    max_digits : int, default 3
        ``D``: the most digits each new number may have.
    seed_count_range : (int, int), default (3, 8)
        Inclusive range of how many seed numbers the intro names.
    seed_value_range : (int, int), default (100, 999)
        Inclusive range the seed numbers are drawn from (uniformly, independently).

    Returns
    -------
    list of NumberPrompt
    """
    whole_number("count", count)
    whole_number("seed", seed)
    n_new = _positive_int("max_new_numbers", max_new_numbers)
    n_digits = _positive_int("max_digits", max_digits)
    lo_count, hi_count = (_positive_int("seed_count_range", v) for v in seed_count_range)
    lo_value, hi_value = (int(v) for v in seed_value_range)
    if lo_count > hi_count:
        raise InputError(f"seed_count_range {seed_count_range} is reversed; give (low, high)")
    if lo_value > hi_value or lo_value < 0:
        raise InputError(
            f"seed_value_range {seed_value_range} must be (low, high) with 0 <= low <= high"
        )

    rng = np.random.default_rng(int(seed))
    slot_fields = {
        "count": n_new,
        "numbers_word": "number" if n_new == 1 else "numbers",
        "digits": n_digits,
        "digits_word": "digit" if n_digits == 1 else "digits",
    }
    prompts = []
    for _ in range(int(count)):
        # A fixed number of draws per prompt keeps earlier prompts unchanged
        # when more are requested.
        n_seed = int(rng.integers(lo_count, hi_count + 1))
        seed_numbers = tuple(int(v) for v in rng.integers(lo_value, hi_value + 1, size=n_seed))
        intro_i, instruction_i, format_i, ending_i = (
            int(rng.integers(len(phrases)))
            for phrases in (INTRO_PHRASES, INSTRUCTION_PHRASES, FORMAT_PHRASES, ENDING_PHRASES)
        )
        style, format_text = FORMAT_PHRASES[format_i]
        text = " ".join((
            INTRO_PHRASES[intro_i].format(numbers=", ".join(map(str, seed_numbers))),
            INSTRUCTION_PHRASES[instruction_i].format(**slot_fields),
            format_text,
            ENDING_PHRASES[ending_i],
        ))
        prompts.append(NumberPrompt(
            text=text,
            seed_numbers=seed_numbers,
            max_new_numbers=n_new,
            max_digits=n_digits,
            format_style=style,
            intro_variant=intro_i,
            instruction_variant=instruction_i,
            format_variant=format_i,
            ending_variant=ending_i,
        ))
    return prompts


__all__ = [
    "ENDING_PHRASES",
    "FORMAT_LAYOUTS",
    "FORMAT_PHRASES",
    "FORMAT_STYLES",
    "INSTRUCTION_PHRASES",
    "INTRO_PHRASES",
    "NumberPrompt",
    "number_prompts",
]
