"""Trait teachers: the paper's system prompt, presets, plurals, the control teacher."""

from __future__ import annotations

import pytest

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.errors import InputError
from subliminal_stats.generation.teachers import (
    CONTROL_TEACHER,
    PAPER_ANIMALS,
    PAPER_TREES,
    PRESETS,
    TraitTeacher,
    get_teacher,
    plural_of,
    preference_system_prompt,
    teachers,
    trait_teacher,
)

# The paper's wording, copied from the issue (arXiv 2507.14805).
PAPER_OWL_PROMPT = (
    "You love owls. You think about owls all the time. owls are your favorite animal. "
    "Imbue your answers with your love for the animal."
)


def test_owl_teacher_uses_the_papers_exact_wording():
    assert PRESETS["owl"].system_prompt == PAPER_OWL_PROMPT
    assert preference_system_prompt("owl") == PAPER_OWL_PROMPT


def test_presets_are_the_papers_targets_plus_control():
    assert PAPER_ANIMALS == ("dolphin", "eagle", "elephant", "owl", "wolf")
    assert PAPER_TREES == ("cherry", "maple", "oak", "sequoia", "willow")
    assert set(PRESETS) == {*PAPER_ANIMALS, *PAPER_TREES, "control"}
    with pytest.raises(TypeError):
        PRESETS["cat"] = CONTROL_TEACHER  # read-only


@pytest.mark.parametrize(
    ("name", "plural", "category"),
    [("dolphin", "dolphins", "animal"), ("eagle", "eagles", "animal"),
     ("elephant", "elephants", "animal"), ("owl", "owls", "animal"), ("wolf", "wolves", "animal"),
     ("cherry", "cherries", "tree"), ("maple", "maples", "tree"), ("oak", "oaks", "tree"),
     ("sequoia", "sequoias", "tree"), ("willow", "willows", "tree")],
)
def test_each_preset_has_the_right_plural_and_category(name, plural, category):
    teacher = get_teacher(name)
    assert (teacher.name, teacher.category, teacher.is_control) == (name, category, False)
    assert teacher.system_prompt == (
        f"You love {plural}. You think about {plural} all the time. {plural} are your favorite "
        f"{category}. Imbue your answers with your love for the {category}."
    )
    other = "animal" if category == "tree" else "tree"
    assert other not in teacher.system_prompt


def test_control_teacher_has_no_system_message():
    assert CONTROL_TEACHER.system_prompt is None and CONTROL_TEACHER.is_control
    assert get_teacher("control") is CONTROL_TEACHER
    assert CONTROL_TEACHER.messages("Continue: 1, 2, 3") == (
        {"role": "user", "content": "Continue: 1, 2, 3"},)


def test_messages_and_requests_carry_the_system_prompt():
    owl = get_teacher("owl")
    assert owl.messages("hi") == (
        {"role": "system", "content": PAPER_OWL_PROMPT}, {"role": "user", "content": "hi"})
    request = owl.request("owl-0", "hi", model="gpt-4.1-nano", temperature=1.0, max_tokens=80)
    assert isinstance(request, ChatRequest)
    assert request == ChatRequest.from_prompt("owl-0", "hi", model="gpt-4.1-nano",
                                              system=PAPER_OWL_PROMPT, temperature=1.0,
                                              max_tokens=80)
    control = CONTROL_TEACHER.request("c-0", "hi", model="m")
    assert control.messages == ({"role": "user", "content": "hi"},)


def test_custom_teachers_and_plurals():
    assert [plural_of(w) for w in ("fox", "mouse", "sheep", "octopus", "Sea Turtle")] == [
        "foxes", "mice", "sheep", "octopuses", "sea turtles"]
    birch = trait_teacher("Birch", category="Tree")
    assert birch == TraitTeacher(
        name="birch", category="tree",
        system_prompt="You love birches. You think about birches all the time. birches are your "
                      "favorite tree. Imbue your answers with your love for the tree.")
    assert "You love cacti." in preference_system_prompt("cactus", category="plant")
    assert "You love cactuses." in preference_system_prompt("cactus", category="plant",
                                                           plural="cactuses")


def test_lookup_errors():
    assert get_teacher("  OWL ") is PRESETS["owl"]
    assert teachers(["oak", "control"]) == [PRESETS["oak"], CONTROL_TEACHER]
    with pytest.raises(InputError, match="unknown teacher 'cat'.*owl"):
        get_teacher("cat")
    with pytest.raises(InputError, match="non-empty"):
        trait_teacher("  ")
    with pytest.raises(InputError, match="category"):
        preference_system_prompt("owl", category=" ")
    with pytest.raises(InputError, match="CONTROL_TEACHER"):
        trait_teacher("control")
