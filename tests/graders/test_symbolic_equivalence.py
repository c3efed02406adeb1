"""Equivalence is decided by sympy and random points, inside a worker process with a hard time limit."""

import time

import pytest

from graders.symbolic import (
    UNCHECKED_MESSAGE,
    AnswerTest,
    MathInputError,
    MathSpec,
    compare,
    decide_equivalence,
    equivalence,
)

LOGITS = MathSpec(
    variables={"z_1": "real", "z_2": "real", "z_3": "real"},
    definitions={f"yhat_{k}": f"exp(z_{k})/(exp(z_1)+exp(z_2)+exp(z_3))" for k in (1, 2, 3)},
)
XY = MathSpec(variables={"x": "real", "y": "real"})
POSITIVE = MathSpec(variables={"x": "positive", "y": "positive"})
# sympy needs seconds on tan(5x) against its expansion (simplify, then equals, both give up).
TAN_5X = "(tan(x)^5 - 10*tan(x)^3 + 5*tan(x))/(5*tan(x)^4 - 10*tan(x)^2 + 1)"


def test_equal_expressions_are_equivalent():
    assert compare("(x+1)^2", "x^2 + 2x + 1", XY).equivalent is True
    assert compare("sin(x)^2 + cos(x)^2", "1", XY).equivalent is True


def test_different_expressions_are_not():
    outcome = compare("(x-1)^2", "x^2 - 1", XY)
    assert outcome.equivalent is False
    assert outcome.message == ""
    assert outcome.interpreted_as == r"\left(x - 1\right)^{2}"


def test_assumptions_change_the_answer():
    assert compare("x", "sqrt(x^2)", XY).equivalent is False
    assert compare("x", "sqrt(x^2)", POSITIVE).equivalent is True
    assert compare("log(x) + log(y)", "log(x*y)", POSITIVE).equivalent is True


def test_an_answer_may_use_the_definitions_or_what_they_stand_for():
    for answer in (
        "yhat_1 - 1",
        "exp(z_1)/(exp(z_1)+exp(z_2)+exp(z_3)) - 1",
        "-(exp(z_2)+exp(z_3))/(exp(z_1)+exp(z_2)+exp(z_3))",
        "-(yhat_2 + yhat_3)",
    ):
        assert compare(answer, "yhat_1 - 1", LOGITS).equivalent is True, answer
    assert compare("1 - yhat_1", "yhat_1 - 1", LOGITS).equivalent is False


def test_an_unreadable_answer_is_not_judged_and_says_why():
    outcome = compare("x +", "x", XY)
    assert (outcome.equivalent, outcome.method) == (None, "invalid")
    assert outcome.message == "the expression ends with `+`: something is missing after it"


def test_an_unreadable_reference_is_the_authors_mistake():
    with pytest.raises(MathInputError):
        compare("x", "x +", XY)


def test_random_points_decide_when_sympy_cannot():
    # Same decision without the worker: tan(5x) is only recognised numerically.
    assert decide_equivalence(TAN_5X, "tan(5x)", MathSpec(variables={"x": "real"})) == (True, "numeric")


def test_a_slow_check_is_killed_and_answers_none_quickly():
    # An undefined function has no value at a point, so only sympy could decide, and it is slow.
    spec = MathSpec(variables={"x": "real"}, functions=["f"])
    started = time.perf_counter()
    outcome = compare(f"f(x) ({TAN_5X})", "f(x) tan(5x)", spec, time_limit=0.05)
    elapsed = time.perf_counter() - started
    assert (outcome.equivalent, outcome.method, outcome.message) == (None, "timeout", UNCHECKED_MESSAGE)
    assert r"\tan\left(x\right)^{5}" in outcome.interpreted_as
    # Left alone, sympy takes several seconds on this one.
    assert elapsed < 2.0
    # The next check gets a fresh worker and works.
    assert compare("x + x", "2x", spec).equivalent is True


def test_points_that_agree_decide_without_waiting_for_a_slow_proof():
    spec = MathSpec(variables={"x": "real"})
    started = time.perf_counter()
    outcome = compare(TAN_5X, "tan(5x)", spec, time_limit=1.0)
    assert (outcome.equivalent, outcome.method, outcome.message) == (True, "numeric", "")
    assert time.perf_counter() - started < 2.0
    # A wrong answer is still found wrong by the points, whatever sympy would have made of it.
    assert compare(TAN_5X, "tan(3x)", spec, time_limit=1.0).equivalent is False


def test_the_worker_is_a_separate_process_that_is_really_killed():
    spec = MathSpec(variables={"x": "real"}, functions=["f"])
    compare("x", "x", spec)
    first = equivalence._worker._process
    compare(f"f(x) ({TAN_5X})", "f(x) tan(5x)", spec, time_limit=0.3)
    assert first.poll() is not None
    assert equivalence._worker._process is not first


def test_a_typical_check_is_fast_once_the_worker_is_warm():
    compare("x", "x", XY)
    started = time.perf_counter()
    assert compare("exp(x+y)", "exp(x) exp(y)", XY).equivalent is True
    assert compare("1 - yhat_1", "yhat_1 - 1", LOGITS).equivalent is False
    assert time.perf_counter() - started < 2.0


def test_sympy_may_prove_what_the_points_cannot_settle():
    spec = MathSpec(variables={"x": "real"}, functions=["f"])
    outcome = compare("f(x) sin(x)^2 + f(x) cos(x)^2", "f(x)", spec)
    assert (outcome.equivalent, outcome.method) == (True, "simplify")


def test_an_antiderivative_is_right_up_to_a_constant():
    antiderivative = AnswerTest(kind="antiderivative")
    for answer in ("x^2/2 + sin(x)", "x^2/2 + sin(x) + C", "(x^2 + 1)/2 + sin(x)", "x^2/2 + sin(x) - 4"):
        assert compare(answer, "x^2/2 + sin(x)", XY, test=antiderivative).equivalent is True, answer
    assert compare("log(abs(x))", "log(x)", XY, test=antiderivative).equivalent is True
    assert compare("x^2/2 + C x", "x^2/2", XY, test=antiderivative).equivalent is False
    assert compare("x^2/2 + y", "x^2/2", XY, test=antiderivative).equivalent is False
    # Without the test, a constant is a mistake (and C is not even a name here).
    assert compare("x^2/2 + 1", "x^2/2", XY).equivalent is False


@pytest.mark.parametrize("answer", ["x^2/2", "x^2/2 + C", "x^2/2 + K", "x^2/2 + c", "x^2/2 + 5", "(x^2 + 1)/2 + k"])
def test_a_constant_in_the_answer_key_is_a_constant_not_a_variable(answer):
    spec = MathSpec(variables={"x": "real", "C": "real"})
    assert compare(answer, "x^2/2 + C", spec, test=AnswerTest(kind="antiderivative")).equivalent is True


def test_an_antiderivative_may_differ_by_any_term_free_of_the_variable():
    antiderivative = AnswerTest(kind="antiderivative")
    logs = MathSpec(variables={"x": "positive", "k": "positive", "c": "real"})
    assert compare("ln(k x)", "ln(x) + c", logs, test=antiderivative).equivalent is True
    assert compare("ln(k x^2)", "ln(x) + c", logs, test=antiderivative).equivalent is False
    trigonometric = MathSpec(variables={"x": "real", "k": "real", "c": "real"})
    assert compare("2 sin(x) cos(x) + k", "sin(2x) + c", trigonometric, test=antiderivative).equivalent is True
    with_constant = MathSpec(variables={"x": "real", "C": "real"})
    assert compare("x^2 + C", "x^2/2 + C", with_constant, test=antiderivative).equivalent is False
    # Only a declared variable of integration: a parameter may be part of the constant.
    parameter = MathSpec(variables={"x": "real", "a": "real"})
    of_x = AnswerTest(kind="antiderivative", variable="x")
    assert compare("a x^2/2 + a", "a x^2/2", parameter, test=of_x).equivalent is True
    assert compare("a x^2/2 + x", "a x^2/2", parameter, test=of_x).equivalent is False
    # Without one, every declared variable that is not a constant letter is one.
    assert compare("a x^2/2 + a", "a x^2/2", parameter, test=antiderivative).equivalent is False
    # All of them constant letters: the reference's own variable (k in k^2/2 + C).
    constant_letters = MathSpec(variables={"k": "real", "C": "real"})
    assert compare("k^2/2 + 3", "k^2/2 + C", constant_letters, test=antiderivative).equivalent is True
    assert compare("k^2", "k^2/2 + C", constant_letters, test=antiderivative).equivalent is False


def test_a_substitution_equivalent_answer_says_which_names_it_read():
    substitution = AnswerTest(kind="substitution")
    outcome = compare("a^2 + b", "x^2 + y", XY, test=substitution)
    assert (outcome.equivalent, outcome.message) == (True, "Right, reading a as x, b as y.")
    swapped = compare("y^2 + x", "x^2 + y", XY, test=substitution)
    assert (swapped.equivalent, swapped.message) == (True, "Right, reading x as y, y as x.")
    assert compare("a^3 + b", "x^2 + y", XY, test=substitution).equivalent is False
    assert compare("a^2 + b + c", "x^2 + y", XY, test=substitution).equivalent is False
    # Another spelling of a declared name is that name, not a new one to rename.
    logits = MathSpec(variables={"z_1": "real", "z_2": "real"})
    assert compare("z1^2 + z2", "z_1^2 + z_2", logits, test=substitution).message == ""
    assert compare("z1^2 + w", "z_1^2 + z_2", logits, test=substitution).message == "Right, reading w as z_2."
