"""Every function a course may use is known by name, previewed, computed exactly and in floating point."""

import itertools
import math
import time

import mpmath
import pytest
import sympy

from graders.symbolic import MathInputError, MathSpec, compare, interpret, parse, to_float, to_sympy
from graders.symbolic.batch import check_answer_record
from graders.symbolic.functions import FUNCTIONS
from graders.symbolic.parsing import infer_names
from graders.symbolic.realdomain import _Compiler

X = MathSpec(variables={"x": "real", "y": "real", "n": "integer", "t": "real"})
# A point inside every function's real domain (acosh needs > 1, atanh < 1, asech in (0, 1]...).
ARGUMENTS = {1: ["0.6"], 2: ["0.6", "0.35"], 3: ["0.6", "0.35", "0.2"]}
# By function, so that every spelling of one (acosh, arcosh, arccosh) gets the same point.
DOMAIN_POINT = {"acosh": ["1.7"], "asec": ["1.7"], "acsc": ["1.7"], "acoth": ["1.7"], "binomial": ["6", "2"],
                "root": ["0.6", "3"], "log": ["0.6", "3"], "lg": ["0.6", "3"], "logbase": ["0.6", "3"]}  # fmt: skip


def arguments_of(name):
    for function, arguments in DOMAIN_POINT.items():
        if FUNCTIONS[function] is FUNCTIONS[name]:
            return arguments
    return ARGUMENTS[min(FUNCTIONS[name].arities)]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_is_read_previewed_and_computed_the_same_three_ways(name):
    text = f"{name}({', '.join(arguments_of(name))})"
    assert interpret(text, X)
    parsed = parse(text, X)
    exact = to_sympy(parsed, X)
    with mpmath.workdps(30):
        real_domain = _Compiler().compile(exact)({})
    assert float(real_domain) == pytest.approx(to_float(parsed), rel=1e-12)
    assert float(sympy.N(exact)) == pytest.approx(to_float(parsed), rel=1e-12)


@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("sec(2t)", "1/cos(2t)"),
        ("csc(x)", "1/sin(x)"),
        ("cosec(x)", "csc(x)"),
        ("cot(x)", "cos(x)/sin(x)"),
        ("1 + cot(x)^2", "csc(x)^2"),
        ("csc(6x)^2 (1 - cos(6x)^2)", "1"),
        ("asec(x)", "acos(1/x)"),
        ("arccot(x)", "atan(1/x)"),
        ("sech(x)", "1/cosh(x)"),
        ("csch(x)", "1/sinh(x)"),
        ("coth(x)", "cosh(x)/sinh(x)"),
        ("asinh(x)", "log(x + sqrt(x^2 + 1))"),
        ("arsinh(x)", "asinh(x)"),
        ("acosh(x)", "log(x + sqrt(x^2 - 1))"),
        ("atanh(x)", "log((1 + x)/(1 - x))/2"),
        ("acoth(x)", "atanh(1/x)"),
        ("log(x, 2)", "ln(x)/ln(2)"),
        ("lg(x)", "log10(x)"),
        ("log2(8)", "3"),
        ("root(x, 3)", "cbrt(x)"),
        ("root(x)", "sqrt(x)"),
        ("abs(x y)", "abs(x) abs(y)"),
        ("floor(-x)", "-ceil(x)"),
        ("n!/(n - 1)!", "n"),
        ("factorial(n + 1)", "(n + 1) n!"),
        ("binomial(n, 2)", "n (n - 1)/2"),
        ("binom(6, 3)", "20"),
        ("sign(x) abs(x)", "x"),
        ("max(x, y) + min(x, y)", "x + y"),
        ("sin^2(x) + cos^2(x)", "1"),
        ("%e^(%pi x)", "exp(pi x)"),
    ],
)
def test_functions_beyond_the_basic_ones_are_known_and_compared(student, reference):
    assert compare(student, reference, X).equivalent is True


# The spellings of courses, of CAS graders (Maxima and STACK), of sympy and of LaTeX.
@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("signum(-3)", "-1"),
        ("sgn(x) abs(x)", "x"),
        ("signum(x)", "sign(x)"),
        ("cosech(x)", "1/sinh(x)"),
        ("sech(x) cosh(x)", "1"),
        ("coth(x) tanh(x)", "1"),
        ("acosec(x)", "asin(1/x)"),
        ("arccosec(x)", "asin(1/x)"),
        ("arcsec(x)", "acos(1/x)"),
        ("acot(x)", "atan(1/x)"),
        ("acosech(x)", "asinh(1/x)"),
        ("arcosech(x)", "asinh(1/x)"),
        ("arccsch(x)", "asinh(1/x)"),
        ("arsech(x)", "acosh(1/x)"),
        ("arccoth(x)", "atanh(1/x)"),
        ("arcosh(x)", "acosh(x)"),
        ("gamma(x + 1)", "x!"),
        ("Gamma(n + 1)", "factorial(n)"),
        ("log(x, 3)", "ln(x)/ln(3)"),
        ("lg(x)", "ln(x)/ln(10)"),
        ("lg(x, 3)", "ln(x)/ln(3)"),
        ("lg(1/8, 2)", "-3"),
        ("logbase(x, 3)", "log(x)/log(3)"),
        ("exp(ln(x))", "x"),
        ("sqrt(x^2)", "Abs(x)"),
        ("root(x, 5)", "x^(1/5)"),
        ("floor(x)", "-ceiling(-x)"),
        ("ceil(x)", "ceiling(x)"),
        ("factorial(n)", "n!"),
        ("binomial(n, 2)", "binom(n, 2)"),
        ("erf(-x)", "-erf(x)"),
        ("tg(x)", "tan(x)"),
        ("ctg(x)", "cot(x)"),
        ("Max(x, y)", "max(x, y)"),
    ],
)
def test_every_standard_spelling_of_a_function_is_known(student, reference):
    assert compare(student, reference, X).equivalent is True


TRIGONOMETRIC = ["sin", "cos", "tan", "sec", "csc", "cot"]
HYPERBOLIC = [f"{name}h" for name in TRIGONOMETRIC]


@pytest.mark.parametrize("forward", TRIGONOMETRIC + HYPERBOLIC)
def test_every_spelling_of_a_function_has_its_inverse_under_every_prefix(forward):
    # asin and arcsin; asinh, arsinh and arcsinh; acosec, arccosec, arcosech...
    spellings = [name for name in FUNCTIONS if FUNCTIONS[name] is FUNCTIONS[forward]]
    prefixes = ["a", "arc", *(["ar"] if forward in HYPERBOLIC else [])]
    for spelling, prefix in itertools.product(spellings, prefixes):
        assert to_float(parse(f"{prefix}{spelling}({spelling}(0.6))", X)) == pytest.approx(0.6), prefix + spelling


@pytest.mark.parametrize(
    ("student", "reference"),
    [
        ("sec(x)", "cos(x)"),
        ("asinh(x)", "log(x + sqrt(x^2 - 1))"),
        ("floor(x) + 1", "ceil(x)"),
        ("n!", "n"),
        ("lg(x)", "ln(x)"),
        ("coth(x)", "tanh(x)"),
    ],
)
def test_and_told_apart_when_they_differ(student, reference):
    assert compare(student, reference, X).equivalent is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("speed(x)", "`speed` is not a function here; write `*` for a product, e.g. `x*(...)`"),
        ("sinn(x)", "`sinn` is not a function here; did you mean sin?"),
        ("secc(t)", "`secc` is not a function here; did you mean sec?"),
        ("xy(x + 1)", "`xy` is not a function here; did you mean x*y*(...)?"),
        ("sin x", "`sin` is a function: write it with parentheses, e.g. sin(x)"),
        ("sin^2 x", "write the power after the argument: sin(x)^2"),
        ("sin^-1(x)", "`sin^-...` is ambiguous: write asin(x) for the inverse function, or sin(x)^(-1) for 1/sin(x)"),
        ("x!!", "`!!` is not supported; write factorial(factorial(n)) if you mean that"),
        ("!x", "`!` (factorial) must follow a number, a name or a closing parenthesis"),
        ("binomial(x)", "`binomial` takes 2 argument(s), not 1"),
        ("log(x, 2, 3)", "`log` takes 1 or 2 argument(s), not 3"),
    ],
)
def test_a_call_that_cannot_be_read_is_refused_with_what_to_write(text, message):
    with pytest.raises(MathInputError) as error:
        parse(text, X)
    assert str(error.value) == message


def test_a_declared_variable_before_a_parenthesis_is_still_a_product():
    assert interpret("x(y + 1)", X) == r"x \cdot \left(y + 1\right)"


def test_factorials_are_written_with_an_exclamation_mark_too():
    assert interpret("n!", X) == "n!"
    assert interpret("(n + 1)!/n!", X) == r"\frac{\left(n + 1\right)!}{n!}"
    assert interpret("2x!", X) == r"2 \cdot x!"
    assert interpret("3!x", X) == r"3! \cdot x"
    assert to_float(parse("3!", X)) == 6
    assert to_float(parse("-3!", X)) == -6


@pytest.mark.parametrize("huge", ["1000!", "factorial(10^4)", "binomial(10^6, 500000)", "(200!)^10"])
def test_huge_factorials_are_refused_at_once(huge):
    started = time.perf_counter()
    with pytest.raises(MathInputError, match="too large"):
        parse(huge, X)
    assert time.perf_counter() - started < 0.1
    assert to_float(parse("170!", X)) == pytest.approx(math.factorial(170))


def test_names_always_called_are_taken_for_functions_when_nothing_is_declared():
    assert infer_names("f(x) + g(x, y)", "f(y)") == ({"x", "y"}, {"f", "g"})
    # x is also used alone: x(x + 1) is a product.
    assert infer_names("x(x + 1)") == ({"x"}, set())
    assert infer_names("sec(t)") == ({"t"}, set())


@pytest.mark.parametrize(
    ("student", "reference"),
    [("signum(-3)", "-1"), ("cosech(x)", "1/sinh(x)"), ("gamma(x+1)", "x!"), ("acosec(x)", "asin(1/x)")],
)
def test_check_answers_knows_every_standard_function_without_a_declaration(student, reference):
    assert check_answer_record({"student": student, "reference": reference})["equivalent"] is True


def test_check_answers_takes_a_name_for_a_function_only_if_the_reference_calls_it():
    assert check_answer_record({"student": "f(x) + f(x)", "reference": "2 f(x)"})["equivalent"] is True
    for student, reference in [("sgnum(-3)", "-1"), ("g(x)", "f(x)"), ("foo(x) + 1", "x + 1")]:
        record = check_answer_record({"student": student, "reference": reference, "expected": False})
        name = student.split("(")[0]
        # Refused with the parser's message, never judged "not equivalent".
        assert (record["equivalent"], record["method"], record["as_expected"]) == (None, "invalid", False)
        assert record["message"].startswith(f"`{name}` is not a function here")


def test_check_answers_tells_undeclared_names_apart_by_their_spelling():
    # Nobody declared them: x1 and x_1 are two variables, as CAS graders read them.
    for student, reference in [("x1", "x_1"), ("a1 + b", "a_1 + b"), ("2 yhat1", "yhat_1 + y_hat_1")]:
        record = check_answer_record({"student": student, "reference": reference})
        assert (record["equivalent"], record.get("error")) == (False, None), (student, reference)
    assert check_answer_record({"student": "x_1 + x1", "reference": "x1 + x_1"})["equivalent"] is True
    assert check_answer_record({"student": "x1", "reference": "x_2"})["equivalent"] is False


def test_check_answers_reads_another_spelling_of_a_declared_name_as_that_name():
    for student, reference in [("x1", "x_1"), ("a1 + b", "a_1 + b")]:
        variables = [name for name in ("x_1", "a_1", "b") if name in reference]
        record = check_answer_record({"student": student, "reference": reference, "variables": variables})
        assert (record["equivalent"], record.get("error")) == (True, None), (student, reference)


def test_check_answers_reads_sec_as_the_secant_and_f_as_a_function():
    record = check_answer_record({"student": "sec(2*t)", "reference": "1/cos(2*t)"})
    assert (record["equivalent"], record["interpreted_as"]) == (True, r"\sec\left(2 \cdot t\right)")
    assert check_answer_record({"student": "f(x) + f(x)", "reference": "2 f(x)"})["equivalent"] is True
    assert check_answer_record({"student": "x(x + 1)", "reference": "x^2 + x"})["equivalent"] is True
