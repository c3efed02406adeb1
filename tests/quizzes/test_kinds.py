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


def as_shown(display, payload):
    """A payload written with the author's indices, as a phone sends it: with the positions it showed them at."""
    order = display.get("order")
    if order is None or not isinstance(payload, dict):
        return payload
    if "choice" in payload:
        return {"choice": order.index(payload["choice"])}
    return {"choices": [order.index(index) for index in payload["choices"]]}


def grade(name, payload):
    kind, spec, display = kind_and_spec(name)
    return kind.grade(spec, display, kind.parse(spec, display, as_shown(display, payload)))


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
    tally = kind.tally(spec, display, [[0, 1], [0], [2]])  # stored answers: the author's indices
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


@pytest.mark.parametrize("name", ["single", "multiple", "poll"])
def test_choices_are_shown_in_the_order_drawn_for_the_game(name):
    kind = KINDS[name]
    spec = kind.clean({"choices": [{"text": text, "correct": text == "a"} for text in "abcdef"]})
    orders = {tuple(kind.display(spec, random.Random(seed))["order"]) for seed in range(40)}
    assert len(orders) > 30  # 720 orders of six: forty games almost never repeat one
    display = {"order": [3, 0, 5, 1, 4, 2]}
    assert [choice["text"] for choice in kind.public(spec, display)["choices"]] == list("dafbec")
    assert [choice["id"] for choice in kind.public(spec, display)["choices"]] == [0, 1, 2, 3, 4, 5]


def test_an_answer_is_taken_at_the_position_shown_and_stored_in_the_authors_order():
    kind = KINDS["single"]
    spec = kind.clean({"choices": ["a", "b", {"text": "c", "correct": True}, "d"]})
    display = {"order": [2, 0, 3, 1]}  # c, a, d, b
    assert kind.parse(spec, display, {"choice": 0}) == 2
    assert kind.grade(spec, display, 2) == 1.0
    assert kind.solution(spec, display) == {"correct": [0]}
    assert kind.describe(spec, display, 2) == "c"
    tally = kind.tally(spec, display, [2, 2, 1])
    assert [(bar["label"], bar["count"]) for bar in tally] == [("a", 0), ("b", 1), ("c", 2), ("d", 0)]
    shown = kind.shown_bars(spec, display, tally)
    assert [(bar["label"], bar["count"]) for bar in shown] == [("c", 2), ("a", 0), ("d", 0), ("b", 1)]


def test_multiple_choice_picks_are_mapped_back_from_the_positions_shown():
    kind = KINDS["multiple"]
    spec = kind.clean({"choices": [{"text": "T5", "correct": True}, "BERT", {"text": "BART", "correct": True}]})
    display = {"order": [1, 2, 0]}  # BERT, BART, T5
    assert kind.parse(spec, display, {"choices": [2, 1]}) == [0, 2]
    assert kind.solution(spec, display) == {"correct": [1, 2]}


def test_a_question_can_pin_the_order_of_its_choices():
    kind = KINDS["single"]
    spec = kind.clean({"choices": ["All of these", {"text": "None of these", "correct": True}], "shuffle": False})
    assert spec["shuffle"] is False
    for seed in range(20):
        assert kind.display(spec, random.Random(seed)) == {"order": [0, 1]}
    with pytest.raises(SpecProblem) as caught:
        kind.clean({"choices": ["a", {"text": "b", "correct": True}], "shuffle": "no"})
    assert caught.value.field == "shuffle"


def test_shuffling_is_the_default_and_is_not_stored():
    assert "shuffle" not in KINDS["single"].clean({"choices": ["a", {"text": "b", "correct": True}], "shuffle": True})


def test_true_or_false_is_never_shuffled():
    kind = KINDS["true_false"]
    spec = kind.clean({"answer": True})
    for seed in range(20):
        display = kind.display(spec, random.Random(seed))
        assert [choice["text"] for choice in kind.public(spec, display)["choices"]] == ["True", "False"]


def test_a_game_from_before_shuffling_shows_the_authors_order():
    kind = KINDS["single"]
    spec = kind.clean({"choices": [{"text": "a", "correct": True}, "b"]})
    assert [choice["text"] for choice in kind.public(spec, {})["choices"]] == ["a", "b"]
    assert kind.parse(spec, {}, {"choice": 0}) == 0
    assert kind.solution(spec, {}) == {"correct": [0]}
