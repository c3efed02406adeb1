"""Generated identities: a right answer in another form is never called wrong, a wrong one never right.

Hypothesis builds random expressions f of x and y; f against expand(f), f + 0*g and
f*(x+1)/(x+1) must never come back "not equivalent", and f + 1 and 2*f (for f not zero)
must never come back "equivalent". Undecided is allowed: it goes to a person.
"""

import re

import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graders.symbolic import MathSpec, compare, parse, to_sympy

SPEC = MathSpec(variables={"x": "real", "y": "real"})
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

leaves = st.sampled_from(["x", "y", "2", "3", "1/2", "pi", "(x + 1)", "(y - 2)"])


def combine(children):
    unary = st.tuples(
        st.sampled_from(["sin", "cos", "exp", "log", "sqrt", "abs", "atan", "sinh", "tanh", "sec", "asinh"]), children
    ).map(lambda pair: f"{pair[0]}({pair[1]})")
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda triple: f"({triple[0]} {triple[1]} {triple[2]})"
    )
    power = st.tuples(children, st.sampled_from(["2", "3", "-1", "(1/2)"])).map(lambda pair: f"({pair[0]})^{pair[1]}")
    return unary | binary | power


expressions = st.recursive(leaves, combine, max_leaves=6)


def as_answer(expression: sympy.Expr) -> str:
    """sympy's printout in the syntax students type."""
    text = str(expression).replace("Abs(", "abs(")
    return re.sub(r"\bE\b", "e", text)


def usable(text: str) -> sympy.Expr:
    expression = to_sympy(parse(text, SPEC), SPEC)
    assume(not expression.has(sympy.zoo, sympy.nan, sympy.I, sympy.oo))
    return expression


def never_wrong(student: str, reference: str) -> None:
    outcome = compare(student, reference, SPEC, time_limit=2.0)
    assert outcome.equivalent is not False, (student, reference, outcome)


def never_right(student: str, reference: str) -> None:
    outcome = compare(student, reference, SPEC, time_limit=2.0)
    assert outcome.equivalent is not True, (student, reference, outcome)


@SETTINGS
@given(expressions)
def test_an_expression_and_its_expansion_are_never_called_different(text):
    expression = usable(text)
    expanded = sympy.expand(expression)
    assume(len(str(expanded)) < 400)
    never_wrong(as_answer(expanded), text)


@SETTINGS
@given(expressions, expressions)
def test_adding_zero_times_anything_is_never_called_different(text, other):
    usable(text)
    # Zero times something that is not a number (1/(x - x)) is not zero.
    usable(other)
    never_wrong(f"{text} + 0*{other}", text)


@SETTINGS
@given(expressions)
def test_multiplying_by_one_written_as_a_fraction_is_never_called_different(text):
    usable(text)
    never_wrong(f"({text})*(x + 1)/(x + 1)", text)


@SETTINGS
@given(expressions)
def test_one_more_is_never_called_equal(text):
    usable(text)
    never_right(f"{text} + 1", text)


@SETTINGS
@given(expressions)
def test_twice_a_nonzero_expression_is_never_called_equal(text):
    expression = usable(text)
    assume(compare(text, "0", SPEC).equivalent is False)
    assume(sympy.simplify(expression) != 0)
    never_right(f"2*({text})", text)
