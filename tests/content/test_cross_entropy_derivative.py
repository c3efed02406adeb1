"""The lecture's derivation exercise: equivalent forms accepted, sign slips named, partial credit."""


import json

import pytest

from graders import engine
from graders.code import exercise_files
from tests.content.conftest import EXERCISES

FILES = exercise_files(EXERCISES / "03-cross-entropy-derivative")

RIGHT = {
    "loss": "log(exp(z_1) + exp(z_2) + exp(z_3)) - z_1",
    "dL_dz1": "yhat_1 - 1",
    "direction_z1": "decreasing",
    "dL_dz2": "yhat_2",
    "direction_z2": "increasing",
    "dL_dz3": "yhat_3",
    "direction_z3": "increasing",
    "all_at_once": "yhat_minus_y",
}


def grade(**answers):
    verdict = engine.grade_answer(FILES, json.dumps({**RIGHT, **answers}))
    assert verdict.status == "graded"
    return verdict, {outcome.name: outcome for outcome in verdict.tests}


def test_the_exercise_passes_its_own_check():
    assert engine.test_the_tests(FILES) == []


def test_right_answers_get_every_point():
    verdict, parts = grade()
    assert verdict.score == verdict.max_score == 11
    assert all(part.message == "Correct." for part in parts.values())


@pytest.mark.parametrize(
    ("part", "answer"),
    [
        ("loss", "-log(yhat_1)"),
        ("loss", "-log(exp(z_1)/(exp(z_1)+exp(z_2)+exp(z_3)))"),
        ("dL_dz1", "p_1 - 1"),
        ("dL_dz1", "ŷ₁ - 1"),
        ("dL_dz1", "-(yhat_2 + yhat_3)"),
        ("dL_dz1", "exp(z_1)/(exp(z_1) + exp(z_2) + exp(z_3)) - 1"),
        ("dL_dz1", "-(exp(z_2) + exp(z_3))/(exp(z_1) + exp(z_2) + exp(z_3))"),
        ("dL_dz2", "exp(z_2)/(exp(z_1)+exp(z_2)+exp(z_3))"),
        ("dL_dz2", "1/(1 + exp(z_1 - z_2) + exp(z_3 - z_2))"),
        ("dL_dz3", "p_3"),
    ],
)
def test_equivalent_forms_are_accepted(part, answer):
    verdict, parts = grade(**{part: answer})
    assert parts[part].points == parts[part].max_points, parts[part].message
    assert verdict.score == 11


def test_one_minus_yhat_1_is_a_sign_slip_worth_half():
    verdict, parts = grade(dL_dz1="1 - yhat_1")
    assert (parts["dL_dz1"].points, parts["dL_dz1"].passed) == (1, False)
    assert parts["dL_dz1"].message.startswith("Check the sign: $L = \\log(e^{z_1} + e^{z_2} + e^{z_3}) - z_1$.")
    assert parts["dL_dz1"].message.endswith("so the derivative is $\\hat y_1 - 1$, not $1 - \\hat y_1$.")
    assert verdict.score == 10


def test_yhat_1_alone_is_told_about_the_missing_minus_one():
    _verdict, parts = grade(dL_dz1="p_1")
    assert parts["dL_dz1"].points == 1
    assert parts["dL_dz1"].message.startswith(
        "Almost: that is the derivative of $\\log(e^{z_1} + e^{z_2} + e^{z_3})$ alone."
    )


def test_the_sign_slip_is_recognised_in_terms_of_the_logits_too():
    _verdict, parts = grade(dL_dz1="(exp(z_2) + exp(z_3))/(exp(z_1) + exp(z_2) + exp(z_3))", dL_dz3="-ŷ₃")
    assert parts["dL_dz1"].message.startswith("Check the sign")
    assert parts["dL_dz3"].message.startswith("Check the sign")
    assert (parts["dL_dz1"].points, parts["dL_dz3"].points) == (1, 1)


def test_a_minus_one_on_a_wrong_class_is_explained():
    _verdict, parts = grade(dL_dz2="yhat_2 - 1")
    assert parts["dL_dz2"].points == 1
    assert "does not depend on $z_2$ (class 2 is not the correct class: $y_2 = 0$)" in parts["dL_dz2"].message


def test_a_chain_rule_left_halfway_gets_no_point_but_the_next_step():
    _verdict, parts = grade(dL_dz1="-1/yhat_1", dL_dz3="-yhat_1*yhat_3")
    assert (parts["dL_dz1"].points, parts["dL_dz3"].points) == (0, 0)
    assert parts["dL_dz1"].message.startswith("That is $\\partial L / \\partial \\hat y_1$. The chain rule goes on")
    assert parts["dL_dz3"].message == (
        "That is $\\partial \\hat y_1 / \\partial z_3$. The chain rule multiplies it by "
        "$\\partial L / \\partial \\hat y_1 = -1 / \\hat y_1$."
    )


def test_a_loss_with_the_wrong_sign_is_told_that_a_loss_is_not_negative():
    _verdict, parts = grade(loss="log(yhat_1)")
    assert parts["loss"].points == 0
    assert "A loss is never negative" in parts["loss"].message


def test_partial_credit_adds_up_over_the_parts():
    verdict, parts = grade(
        dL_dz1="1 - yhat_1", direction_z1="increasing", dL_dz2="0", direction_z3="decreasing",
        all_at_once="y_minus_yhat",
    )
    # 1 (loss) + 1 of 2 + 0 + 0 of 2 + 1 + 2 + 0 + 0
    assert verdict.score == 5
    assert parts["direction_z1"].message == (
        "Incorrect. $\\hat y_1 < 1$, so $\\partial L / \\partial z_1 = \\hat y_1 - 1 < 0$: "
        "$L$ goes down when $z_1$ goes up."
    )
    assert "$z_2$ appears in the denominator of $\\hat y_1$" in parts["dL_dz2"].message
    assert parts["all_at_once"].message.startswith("Incorrect. Check it with $k = 1$")


def test_an_unreadable_answer_says_so_and_scores_nothing():
    _verdict, parts = grade(dL_dz1="yhat_1 -")
    assert parts["dL_dz1"].points == 0
    assert parts["dL_dz1"].message.startswith("Could not read your answer")


def test_a_right_derivative_that_is_not_simplified_keeps_its_points_and_gets_a_hint():
    _verdict, parts = grade(dL_dz1="-(1 - yhat_1)")
    assert parts["dL_dz1"].points == 2
    assert parts["dL_dz1"].message == "Your answer is right. It can be simplified further."
    # Written with the logits, the derivative is as simple as it gets: no hint.
    _verdict, parts = grade(dL_dz1="exp(z_1)/(exp(z_1) + exp(z_2) + exp(z_3)) - 1")
    assert parts["dL_dz1"].message == "Correct."


@pytest.mark.parametrize(
    "answer", ["-1 + yhat_1", "-1 + p_1", "-1 + ŷ₁", "-1 + exp(z_1)/(exp(z_1) + exp(z_2) + exp(z_3))"]
)
def test_a_simplified_derivative_written_in_another_order_gets_no_hint(answer):
    _verdict, parts = grade(dL_dz1=answer)
    assert (parts["dL_dz1"].points, parts["dL_dz1"].message) == (2, "Correct.")
