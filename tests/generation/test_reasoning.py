"""Math problems (bundled and GSM8K format) and step-by-step prompts."""

from __future__ import annotations

import ast
import json
import operator
from fractions import Fraction

import pytest
from repo_paths import REPO_ROOT

from subliminal_stats.errors import InputError
from subliminal_stats.generation.reasoning import (
    FINAL_ANSWER_PHRASES,
    MathProblem,
    bundled_problems,
    load_gsm8k_jsonl,
    reasoning_prompts,
)

PROBLEMS_FILE = REPO_ROOT / "subliminal_stats" / "resources" / "math" / "problems.jsonl"

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


def _evaluate(expression: str) -> Fraction:
    """Exact arithmetic on + - * / // % and parentheses only (no eval)."""
    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression part: {ast.dump(node)}")
    return walk(ast.parse(expression, mode="eval"))


def test_bundled_answers_recomputed_from_their_expressions():
    records = [json.loads(line) for line in PROBLEMS_FILE.read_text().splitlines() if line]
    assert len(records) >= 20
    for record in records:
        value = _evaluate(record["expression"])
        assert value.denominator == 1, record["id"]
        assert int(value) == record["answer"], record["id"]
    problems = bundled_problems()
    assert [p.answer for p in problems] == [r["answer"] for r in records]
    assert len({p.id for p in problems}) == len({p.question for p in problems}) == len(problems)


def test_a_few_bundled_answers_by_hand():
    by_id = {p.id: p for p in bundled_problems()}
    # Worked by hand from the question text, independently of the stored expressions.
    assert by_id["ss-math-001"].answer == 29     # 36 crayons - 7
    assert by_id["ss-math-009"].answer == 2      # 15 slices need 2 pizzas of 8
    assert by_id["ss-math-014"].answer == 50     # 6:45 pm + 2 h 5 min = 8:50 pm
    assert by_id["ss-math-023"].answer == 4      # -4 + 11 - 3
    assert by_id["ss-math-024"].answer == 73     # 13 + 20 + 40


def test_gsm8k_loader(tmp_path):
    path = tmp_path / "mini_gsm8k.jsonl"
    lines = [
        {"question": "Ann has 3 cats and buys 2 more. How many cats?",
         "answer": "3 + 2 = <<3+2=5>>5\n#### 5"},
        {"question": "A car costs $12,500 and a bike $500. Total?",
         "answer": "12500 + 500 = 13000\n#### 13,000", "extra": 1},
        {"question": "It was 2 degrees and fell by 7. Temperature?", "answer": "#### -5"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    problems = load_gsm8k_jsonl(path)
    assert [p.answer for p in problems] == [5, 13000, -5]
    assert problems[0] == MathProblem("mini_gsm8k-1", lines[0]["question"], 5,
                                      "3 + 2 = <<3+2=5>>5")
    assert len(load_gsm8k_jsonl(path, limit=2)) == 2


@pytest.mark.parametrize("line, message", [
    ('{"question": "q", "answer": "five"}', "line 2: the answer has no '#### <number>'"),
    ('{"question": "q", "answer": "#### 2.5"}', "line 2: the final answer '2.5'"),
    ('{"question": "q"}', "line 2: needs a non-empty string 'answer'"),
    ('["q", "a"]', "line 2: expected an object"),
    ('{"question": "q", ', "line 2: not valid JSON"),
])
def test_gsm8k_loader_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok", "answer": "#### 1"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        load_gsm8k_jsonl(path)


def test_gsm8k_loader_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_gsm8k_jsonl(tmp_path / "nope.jsonl")


def test_prompts_are_seeded_and_name_the_final_answer_form():
    problems = bundled_problems()
    prompts = reasoning_prompts(problems, seed=1, repeats=3)
    assert len(prompts) == 3 * len(problems)
    assert prompts == reasoning_prompts(problems, seed=1, repeats=3)
    assert prompts != reasoning_prompts(problems, seed=2, repeats=3)
    assert [p.problem for p in prompts[:3]] == [problems[0]] * 3
    for p in prompts:
        assert p.text.startswith(p.problem.question)
        assert FINAL_ANSWER_PHRASES[p.final_answer_variant] in p.text
    assert len({p.final_answer_variant for p in prompts}) == len(FINAL_ANSWER_PHRASES)
