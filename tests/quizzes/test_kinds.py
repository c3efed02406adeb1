"""Question kinds: what each accepts, how it grades, and that its public view never holds the answer."""

import json
import random

import pytest

from quizzes.kinds import KINDS, AnswerRejected, SpecProblem
from quizzes.text import normalize_answer
from tests.quizzes.questions import QUESTIONS


def kind_and_spec(name):
    kind = KINDS[name]
    spec = kind.clean(QUESTIONS[name])
    return kind, spec, kind.display(spec, random.Random(1))


def grade(name, payload):
    kind, spec, display = kind_and_spec(name)
    return kind.grade(spec, display, kind.parse(spec, display, payload))


@pytest.mark.parametrize("name", list(KINDS))
def test_the_public_view_never_holds_the_right_answer(name):
    kind, spec, display = kind_and_spec(name)
    public = json.dumps(kind.public(spec, display))
    assert '"correct"' not in public
    assert "answer" not in json.loads(public)
    assert "accepted" not in public
    assert "Zanzibarcher" not in public
    assert "7.25" not in public
    assert "tolerance" not in public


def test_an_ordering_question_is_never_shown_in_its_right_order():
    kind = KINDS["ordering"]
    spec = kind.clean({"items": ["a", "b"]})
    for seed in range(50):
        display = kind.display(spec, random.Random(seed))
        assert display["order"] == [1, 0]
        assert [item["text"] for item in kind.public(spec, display)["items"]] == ["b", "a"]


def test_single_choice_accepts_any_answer_marked_right():
    kind = KINDS["single"]
    spec = kind.clean({"choices": [{"text": "a", "correct": True}, "b", {"text": "c", "correct": True}]})
    assert [kind.grade(spec, {}, choice) for choice in (0, 1, 2)] == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("payload", [{"choice": 3}, {"choice": -1}, {"choice": True}, {"choice": "0"}, {}, None, 1.0])
def test_single_choice_refuses_what_is_not_one_of_its_answers(payload):
    kind, spec, display = kind_and_spec("single")
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, payload)


@pytest.mark.parametrize(("picks", "fraction"), [
    ([0, 1], 1.0), ([0], 0.5), ([0, 2], 0.0), ([0, 1, 2], 0.5), ([2, 3], 0.0), ([1, 0], 1.0),
])
def test_multiple_choice_gives_partial_credit(picks, fraction):
    assert grade("multiple", {"choices": picks}) == fraction


@pytest.mark.parametrize("payload", [{"choices": []}, {"choices": [0, 0]}, {"choices": [9]}, {"choices": "0,1"}])
def test_multiple_choice_refuses_empty_repeated_or_unknown_picks(payload):
    kind, spec, display = kind_and_spec("multiple")
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, payload)


def test_true_or_false():
    assert grade("true_false", {"choice": 1}) == 1.0
    assert grade("true_false", {"choice": 0}) == 0.0


@pytest.mark.parametrize(
    "typed", ["Zanzibarcher", "zanzibarcher", "ZANZIBARCHER!", "  Zanzi   Barcher ", "Zánzíbârcher"]
)
def test_typed_answers_ignore_case_accents_spacing_and_end_punctuation(typed):
    assert grade("type_answer", {"text": typed}) == 1.0


def test_a_wrong_typed_answer_is_wrong_and_a_long_one_is_refused():
    assert grade("type_answer", {"text": "Zanzibar"}) == 0.0
    kind, spec, display = kind_and_spec("type_answer")
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, {"text": "x" * 76})
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, {"text": "   "})


def test_normalize_answer():
    assert normalize_answer("  Téacher\tForcing! ") == "teacher forcing"
    assert normalize_answer("<EOS>") == "<eos>"


@pytest.mark.parametrize(("value", "fraction"), [(7.25, 1.0), (7.75, 1.0), (6.75, 1.0), (8, 0.0), (0, 0.0)])
def test_a_slider_answer_is_right_within_the_tolerance(value, fraction):
    assert grade("slider", {"value": value}) == fraction


@pytest.mark.parametrize("value", [7.3, 21, -1, "7", float("nan"), None, True])
def test_a_slider_refuses_values_off_its_range_or_steps(value):
    kind, spec, display = kind_and_spec("slider")
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, {"value": value})


def test_ordering_is_right_only_in_the_right_order():
    kind, spec, display = kind_and_spec("ordering")
    shown = kind.public(spec, display)["items"]
    by_text = {item["text"]: item["id"] for item in shown}
    right = [by_text[text] for text in spec["items"]]
    assert kind.grade(spec, display, kind.parse(spec, display, {"order": right})) == 1.0
    assert kind.solution(spec, display) == {"order": right}
    swapped = [right[1], right[0], *right[2:]]
    assert kind.grade(spec, display, kind.parse(spec, display, {"order": swapped})) == 0.0
    with pytest.raises(AnswerRejected):
        kind.parse(spec, display, {"order": right[:-1]})


def test_polls_and_word_clouds_have_no_right_answer():
    assert grade("poll", {"choice": 0}) is None
    assert grade("word_cloud", {"text": "attention"}) is None


def test_a_word_cloud_counts_words_and_hides_blocked_ones():
    kind, spec, display = kind_and_spec("word_cloud")
    tally = kind.tally(spec, display, ["Attention", "attention ", "softmax", "sh1t"])
    assert tally == [{"label": "attention", "count": 2, "correct": False, "authored": False},
                     {"label": "softmax", "count": 1, "correct": False, "authored": False}]


def test_a_choice_tally_counts_every_choice_and_marks_the_right_ones():
    kind, spec, display = kind_and_spec("multiple")
    tally = kind.tally(spec, display, [[0, 1], [0], [2]])
    assert [(bar["count"], bar["correct"]) for bar in tally] == [(2, True), (1, True), (1, False), (0, False)]


@pytest.mark.parametrize(("name", "spec", "field"), [
    ("single", {"choices": ["a", "b"]}, "choices"),
    ("single", {"choices": [{"text": "a", "correct": True}]}, "choices"),
    ("single", {"choices": [{"text": "a", "correct": True}, "A"]}, "choices"),
    ("single", {"choices": [{"text": f"{n}", "correct": True} for n in range(7)]}, "choices"),
    ("true_false", {"answer": "yes"}, "answer"),
    ("type_answer", {"accepted": []}, "accepted"),
    ("slider", {"min": 5, "max": 1, "answer": 3}, "max"),
    ("slider", {"min": 0, "max": 10, "step": 3, "answer": 3}, "max"),
    ("slider", {"min": 0, "max": 10, "step": 2, "answer": 3}, "answer"),
    ("slider", {"min": 0, "max": 10, "answer": 3, "tolerance": -1}, "tolerance"),
    ("ordering", {"items": ["only one"]}, "choices"),
])
def test_malformed_questions_name_the_field_at_fault(name, spec, field):
    with pytest.raises(SpecProblem) as caught:
        KINDS[name].clean(spec)
    assert caught.value.field == field
