"""The parser and the checker fuzzed: any input gets a verdict or a clear message, within the time limit."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders.symbolic import MathInputError, MathSpec, compare, equivalence, forms_of, interpret

SPEC = MathSpec(variables={"x": "real", "n": "integer"}, functions=["f"])
TIME_LIMIT = 1.0
# The worker's answer, or its kill, must come within the limit and this much more (the time of
# the start of a new worker after a kill is not counted: `warm` waits for it first).
SLACK = 1.5

pieces = st.sampled_from(
    ["x", "n", "f", "2", "0", "10", "0.5", "1e300", "pi", "e", "sin", "sec", "asinh", "log", "sqrt", "floor",
     "exp", "binomial", "root", "abs", "max", "(", ")", "(", ")", "+", "-", "*", "/", "^", "!", ",", " ", "^-1",
     "99", "9^9", "x^x^x"]
)  # fmt: skip
texts = st.lists(pieces, max_size=14).map("".join)
# Readable expressions that stress the evaluation: towers, factorials, huge arguments, poles.
atoms = st.sampled_from(["x", "n", "1", "3", "1/3", "100", "pi", "-x", "f(x)"])
nasty = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.tuples(st.sampled_from(["exp", "log", "tan", "sec", "floor", "sqrt", "acosh", "factorial"]), children).map(
            lambda pair: f"{pair[0]}({pair[1]})"
        ),
        st.tuples(children, st.sampled_from(["^", "*", "/", "-", "+"]), children).map(
            lambda triple: f"({triple[0]}){triple[1]}({triple[2]})"
        ),
    ),
    max_leaves=7,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def readable(text: str) -> bool:
    """Whether the text is an expression; if not, the refusal must say why."""
    try:
        interpret(text, SPEC)
    except MathInputError as error:
        refusal = str(error)
    else:
        return True
    assert refusal, f"{text!r} was refused without a reason"
    return False


def checked_in_time(student: str, reference: str) -> None:
    equivalence._worker.warm()
    started = time.perf_counter()
    outcome = compare(student, reference, SPEC, time_limit=TIME_LIMIT)
    assert outcome.equivalent in (True, False, None)
    if outcome.method == "invalid":
        assert outcome.message
    assert time.perf_counter() - started < TIME_LIMIT + SLACK


@FUZZ
@given(texts, texts)
def test_any_text_gets_a_verdict_or_a_message_in_time(student, reference):
    if not readable(reference):
        reference = "x"
    checked_in_time(student, reference)


@FUZZ
@given(nasty, nasty)
def test_expressions_that_overflow_or_have_poles_get_a_verdict_in_time(student, reference):
    if readable(student) and readable(reference):
        checked_in_time(student, reference)


@FUZZ
@given(nasty)
def test_form_checks_answer_or_give_up_in_time(text):
    if not readable(text):
        return
    equivalence._worker.warm()
    started = time.perf_counter()
    problems = forms_of(text, SPEC, ["expanded", "factored", "simplified"], time_limit=TIME_LIMIT)
    assert problems is None or set(problems) <= {"expanded", "factored", "simplified"}
    assert time.perf_counter() - started < TIME_LIMIT + SLACK
