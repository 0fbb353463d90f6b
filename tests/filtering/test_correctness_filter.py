"""Final-answer extraction and the correctness filter for step-by-step solutions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.reasoning import (
    NO_FINAL_ANSWER,
    WRONG_ANSWER,
    answer_correctness_filter,
    extract_final_number,
)
from subliminal_stats.generation.reasoning import bundled_problems


@pytest.mark.parametrize("text, value", [
    ("She has 36 - 7 = 29 crayons.\n#### 29", "29"),
    ("#### 42", "42"),
    ("The answer is 42.", "42"),
    ("So the total cost is $1,200.", "1200"),
    ("He ends up with 42 apples", "42"),
    ("12 + 30 = 42\nFinal answer: **42**", "42"),
    ("First 3,4 then... The answer is therefore 1,000,000.", "1000000"),
    ("The answer is 12, which is 3 more than 9.", "12"),        # phrase beats last number
    ("#### 7 (because 3 + 4 = 7; not 8)", "7"),                 # marker beats everything
    ("We get \\boxed{128} in the end, 2 more steps.", "128"),
    ("It falls to -5 degrees.", "-5"),
    ("Pages 12-15 are read, so 4 pages.", "4"),
    ("Each gets 2.5 litres.", "2.5"),
    ("The answer is −3", "-3"),                                 # unicode minus
    ("Total: 7.", "7"),
    ("The answer is 5 + 3 = 8.", "8"),                          # a calculation after the phrase
    ("#### 12 * 3 = 36", "36"),
    ("The answer is 8.\n5 + 3 = 8 was checked twice: 16", "8"),
    ("She answered 5 questions, so 7 remain.", "7"),            # "answered" is no phrase
])
def test_extract_final_number(text, value):
    assert extract_final_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["I do not know.", "", None, "#### ", "The answer is x."])
def test_extract_nothing(text):
    assert extract_final_number(text) is None


def test_correctness_filter_report():
    problems = bundled_problems()[:4]  # answers 29, 166, 270, 16
    answers = ["36 - 7 = 29\n#### 29", "They earned $166.", "270 miles... no wait, 260",
               "I cannot solve this."]
    kept, report = answer_correctness_filter(answers, problems)
    assert kept == [0, 1]
    assert report.reasons == {NO_FINAL_ANSWER: 1, WRONG_ANSWER: 1}
    assert (report.total, report.kept) == (4, 2)
    kept, _ = answer_correctness_filter(["#### 1,000"], [1000])
    assert kept == [0]
    with pytest.raises(InputError, match="one expected answer per solution"):
        answer_correctness_filter(["#### 1"], [1, 2])
