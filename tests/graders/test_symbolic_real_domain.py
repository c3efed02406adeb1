"""Real questions are compared on the real domain; what the points cannot settle goes to a person."""

import pytest
import sympy

from graders.symbolic import UNCHECKED_MESSAGE, MathSpec, compare
from graders.symbolic.realdomain import Tolerance, compare_on_real_domain

REAL = MathSpec(variables={name: "real" for name in ("x", "y", "a", "b", "c", "k", "m", "n", "t")})


def verdict(student, reference, spec=REAL):
    return compare(student, reference, spec).equivalent


# Right answers that principal branches at complex points once called wrong, and their kin.
@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("1/sqrt(x)", "sqrt(1/x)"),
        ("sqrt(x)/x", "1/sqrt(x)"),
        ("sqrt(a)/sqrt(b)", "sqrt(a/b)"),
        ("sqrt(k/m) sqrt(m/k)", "1"),
        ("sqrt(a b)", "sqrt(a) sqrt(b)"),
        ("2 pi (m/k)^(1/2)", "2 pi/(k/m)^(1/2)"),
        ("(a/b)^(3/2)", "a^(3/2)/b^(3/2)"),
        ("log(a^2 b)", "2 log(a) + log(b)"),
        ("log(a/b)", "log(a) - log(b)"),
        ("log(sqrt(x))", "log(x)/2"),
        ("log(x^3)", "3 log(x)"),
        ("log((x + 1)/(1 - x))", "-log((1 - x)/(x + 1))"),
        ("log(1 - x) - log(1 + x)", "log((1 - x)/(1 + x))"),
        # Where both sides are real they agree (odd roots of negative numbers are real);
        # under principal branches they differ only where one side is complex.
        ("6 ((x - 2)^3)^k", "6 (x - 2)^(3 k)"),
        ("(-1)^n cos(x)^n", "(-cos(x))^n"),
        ("(x^k)^2", "x^(2 k)"),
        ("(x^3)^k", "x^(3 k)"),
        ("(x^a)^b", "(x^b)^a"),
        ("(1/x)^k", "1/x^k"),
        ("sqrt(x^(2 k))", "abs(x)^k"),
        ("root(x, n)", "x^(1/n)"),
        ("(-2)^n", "(-1)^n 2^n"),
        ("x^a x^b", "x^(a + b)"),
        ("(x y)^a", "x^a y^a"),
        ("exp(a log(x))", "x^a"),
        ("(x^(1/3))^3", "x"),
        ("cbrt(x^3)", "x"),
        ("(-8)^(1/3)", "-2"),
        ("x^(2/3)", "(x^2)^(1/3)"),
        ("asin(x) + acos(x)", "pi/2"),
        ("acosh(x)", "log(x + sqrt(x^2 - 1))"),
        ("asinh(x)", "log(x + sqrt(x^2 + 1))"),
        ("atanh(x)", "log(sqrt((1 + x)/(1 - x)))"),
    ],
)
def test_right_answers_are_right_on_the_real_domain(student, reference):
    assert verdict(student, reference) is True


# Wrong answers that only real points where both are defined can show.
@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("x", "sqrt(x^2)"),
        ("x", "abs(x)"),
        ("sqrt(x)", "1/sqrt(x)"),
        ("atan(x) + atan(1/x)", "pi/2"),
        ("(-1)^n", "1"),
        ("cos(pi n)", "1"),
        ("log(x^2)", "log(x)"),
        ("x^(1/3)", "x^(1/2)"),
        ("(x - 2)^(3 k)", "(2 - x)^(3 k)"),
        ("floor(x)", "ceil(x) - 1"),
    ],
)
def test_wrong_answers_are_still_found_wrong(student, reference):
    assert verdict(student, reference) is False


# Real at points where a variable in an exponent is a fraction and a base is negative, and
# different there: 1 against -1 at x = -1, k = 1/2.
@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("(x^2)^k", "x^(2 k)"),
        ("(a^b)^c", "a^(b c)"),
        ("(x^4)^k", "x^(4 k)"),
        ("(x^6)^k", "x^(6 k)"),
        ("((x - 2)^2)^k", "(x - 2)^(2 k)"),
        ("((x + 1)^2)^k", "(x + 1)^(2 k)"),
        ("(x^2 y^2)^k", "x^(2 k) y^(2 k)"),
        ("(x^b)^(1/2)", "x^(b/2)"),
        ("(x^2)^(k/2)", "x^k"),
        ("x^k", "abs(x)^k"),
        ("(-1)^k", "cos(pi k)"),
    ],
)
def test_powers_of_negative_bases_are_compared_at_fractional_exponents(student, reference):
    assert verdict(student, reference) is False


def test_a_power_of_a_power_is_found_wrong_whatever_the_points_drawn():
    x, k = sympy.symbols("x k", real=True)
    a, b, c = sympy.symbols("a b c", real=True)
    for student, reference in [((x**2) ** k, x ** (2 * k)), ((a**b) ** c, a ** (b * c))]:
        verdicts = [compare_on_real_domain(student, reference, {}, Tolerance(), seed).verdict for seed in range(30)]
        assert verdicts == ["different"] * 30, (student, verdicts)


@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("log(x)", "log(-x)"),
        ("sqrt(x - 2)", "sqrt(2 - x)"),
        ("sqrt(-1 - x^2)", "sqrt(-2 - x^2)"),
    ],
)
def test_answers_with_too_few_points_in_both_domains_wait_for_a_person(student, reference):
    outcome = compare(student, reference, REAL)
    assert (outcome.equivalent, outcome.message) == (None, UNCHECKED_MESSAGE)


SQUARE_ROOT = "takes the square root of a negative number"
LOGARITHM = "takes the logarithm of a number that is not positive"


@pytest.mark.parametrize(
    ("student", "reference", "where"),
    [("1/0", "x", ""), ("0/0", "1", ""), ("x/0 + 1", "x", " anywhere"), ("1/(x - x)", "x", " anywhere")],
)
def test_an_answer_with_no_value_is_sent_back_to_fix_neither_wrong_nor_for_a_person(student, reference, where):
    outcome = compare(student, reference, REAL)
    assert (outcome.equivalent, outcome.method, outcome.message) == (
        None, "undefined", f"Your answer has no value{where}: it divides by zero. Check the denominators."
    )


@pytest.mark.parametrize(
    ("student", "reference", "where", "why"),
    [
        ("sqrt(-1)", "x", "", SQUARE_ROOT),
        ("2 sqrt(-4) x", "x", " anywhere", SQUARE_ROOT),
        ("sqrt(-1 - x^2)", "0", " anywhere", SQUARE_ROOT),
        ("(-1 - x^2)^(1/4)", "x", " anywhere", "takes an even root of a negative number"),
        ("log(-1 - x^2)", "x", " anywhere", LOGARITHM),
        ("log(0)", "1", "", LOGARITHM),
        ("acos(2 + x^2)", "x", " anywhere", "gives acos a value outside its domain"),
        ("asin(x^2 + 2)", "0", " anywhere", "gives asin a value outside its domain"),
    ],
)
def test_an_answer_that_is_nowhere_real_is_not_equivalent_and_says_why(student, reference, where, why):
    outcome = compare(student, reference, REAL)
    assert (outcome.equivalent, outcome.message) == (False, f"Your answer is not a real number{where}: it {why}.")


def test_an_answer_too_large_to_evaluate_is_not_taken_for_one_that_is_nowhere_real():
    assert compare("exp(exp(exp(x^2 + 10)))", "x", REAL).equivalent is None


def test_assumptions_choose_the_domain():
    positive = MathSpec(variables={"x": "positive"})
    negative = MathSpec(variables={"x": "negative"})
    integer = MathSpec(variables={"n": "integer"})
    natural = MathSpec(variables={"n": "natural"})
    assert verdict("x", "sqrt(x^2)", positive) is True
    assert verdict("-x", "sqrt(x^2)", negative) is True
    assert verdict("x", "sqrt(x^2)", negative) is False
    assert verdict("(-1)^(2n)", "1", integer) is True
    assert verdict("cos(pi n)", "(-1)^n", integer) is True
    assert verdict("sin(pi n)", "0", integer) is True
    assert verdict("n!/(n - 1)!", "n", natural) is True
    assert verdict("abs(x)", "x", MathSpec(variables={"x": "nonnegative"})) is True


def test_a_disagreement_is_found_at_a_point_where_both_are_real():
    x = sympy.Symbol("x", real=True)
    found = compare_on_real_domain(sympy.sqrt(x**2), x, {"x": "real"}, Tolerance())
    assert found.verdict == "different"
    assert found.witness["x"] < 0


def test_agreement_needs_enough_points_in_both_domains():
    x = sympy.Symbol("x", real=True)
    # Real only at x = 0 (never drawn): nothing to compare.
    nowhere = compare_on_real_domain(sympy.sqrt(-(x**2)), sympy.Integer(0), {"x": "real"}, Tolerance())
    assert (nowhere.verdict, nowhere.points) == ("unknown", 0)
    everywhere = compare_on_real_domain(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.Integer(1), {}, Tolerance())
    assert (everywhere.verdict, everywhere.points) == ("agree", 12)


def test_an_undefined_function_is_compared_through_concrete_ones():
    spec = MathSpec(variables={"x": "real", "y": "real"}, functions=["f", "g"])
    assert verdict("f(x)", "f(-x)", spec) is False
    assert verdict("f(x)^2", "f(x^2)", spec) is False
    assert verdict("f(x, y)", "f(y, x)", spec) is False
    assert verdict("g(f(x))", "f(g(x))", spec) is False
    assert verdict("f(x) + f(x)", "2 f(x)", spec) is True
    # Agreeing for every concrete f tried proves nothing: sympy must prove it, or a person.
    assert verdict("f(x + y)", "f(y + x)", spec) is True
    assert verdict("f(sin(x)^2 + cos(x)^2)", "f(1)", spec) in (True, None)
