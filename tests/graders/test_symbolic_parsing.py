"""Math answers are read through an allow-list: what is refused, what is accepted, and how it is shown."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.symbolic import MathInputError, MathSpec, interpret, parse, spec_problems

LOGITS = MathSpec(
    variables={"z_1": "real", "z_2": "real", "z_3": "real"},
    definitions={f"yhat_{k}": f"exp(z_{k})/(exp(z_1)+exp(z_2)+exp(z_3))" for k in (1, 2, 3)},
    aliases={"yhat_1": ["p1"]},
)
XY = MathSpec(variables={"x": "real", "y": "real"})


def refused(text, spec=XY):
    with pytest.raises(MathInputError) as error:
        interpret(text, spec)
    return str(error.value)


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ("__import__('os').system('ls')", "`'` is not allowed"),
        ('__import__("os")', '`"` is not allowed'),
        ("x.__class__", "`.` is only allowed inside a number"),
        ("().__class__.__bases__", "`.` is only allowed inside a number"),
        ("lambda: 1", "`:` is not allowed"),
        ("[x for x in y]", "`[` is not allowed"),
        ("{x: 1}", "`{` is not allowed"),
        ("x if y else 1", "unknown name `if`"),
        ("exec", "unknown name `exec`"),
        ("eval(x)", "`eval` is not a function here"),
        ("open", "unknown name `open`"),
        ("x; y", "`;` is not allowed"),
        ("x @ y", "`@` is not allowed"),
        ("(x, y)", "a list of values"),
        ("x and y", "unknown name `and`"),
    ],
)
def test_code_is_refused_with_a_reason(attack, message):
    assert message in refused(attack)


def test_comparisons_are_refused_with_a_hint():
    assert refused("x == 1") == ("`==` is not allowed here: write only the expression, e.g. `x + 1`, not `y = x + 1`")
    assert "`=` is not allowed here" in refused("y = x + 1")


@pytest.mark.parametrize("tower", ["9**9**9**9", "9^9^9^9", "10^(10^10)", "x^(9^9)"])
def test_huge_exponents_are_refused_at_once(tower):
    started = time.perf_counter()
    assert "too large" in refused(tower)
    assert time.perf_counter() - started < 0.5


def test_huge_exact_numbers_are_refused():
    assert "more than 1000 digits" in refused("2^10000")
    assert "too large" in refused("1e400")
    assert "too long" in refused("1" * 50)
    assert interpret("2^1000", XY) == "2^{1000}"


def test_long_input_and_deep_nesting_are_refused():
    assert "too long" in refused("x+" * 300 + "x")
    assert "nested parentheses" in refused("(" * 25 + "x" + ")" * 25)
    assert "nested too deeply" in refused("-" * 100 + "x")


def test_unbalanced_parentheses_are_named():
    assert refused("(x + 1") == "unbalanced parentheses: a `(` is never closed"
    assert refused("x + 1)") == "unbalanced parentheses: a `)` has no matching `(`"


def test_incomplete_expressions_say_where():
    assert refused("x +") == "the expression ends with `+`: something is missing after it"
    assert refused("* x") == "the expression starts with `*`: something is missing before it"
    assert refused("x * / y") == "`*` followed by `/`: something is missing between them"
    assert refused("") == "the answer is empty"


def test_unknown_names_list_what_can_be_used():
    assert refused("q", LOGITS) == "unknown name `q`; you can use z_1, z_2, z_3, yhat_1, yhat_2, yhat_3"
    assert refused("xy") == "unknown name `xy`; did you mean x*y?"
    assert refused("sinn") == "unknown name `sinn`; did you mean sin?"


def test_functions_need_parentheses_and_the_right_number_of_arguments():
    assert refused("sin x") == "`sin` is a function: write it with parentheses, e.g. sin(x)"
    assert refused("max(x)") == "`max` takes 2 to 6 argument(s), not 1"
    assert refused("exp(x, y)") == "`exp` takes 1 argument(s), not 2"


def test_caret_is_power_and_products_can_be_implicit():
    assert interpret("x^2", XY) == interpret("x**2", XY) == "x^{2}"
    assert interpret("2x", XY) == r"2 \cdot x"
    assert interpret("2 z_1", LOGITS) == r"2 \cdot z_{1}"
    assert interpret("x(y+1)", XY) == r"x \cdot \left(y + 1\right)"
    assert interpret("(x+1)(y-1)", XY) == r"\left(x + 1\right) \cdot \left(y - 1\right)"
    assert interpret("x y", XY) == r"x \cdot y"
    assert interpret("2sin(x)", XY) == r"2 \cdot \sin\left(x\right)"


def test_the_preview_shows_how_ambiguous_input_was_read():
    assert interpret("1/2x", XY) == r"\frac{1}{2} \cdot x"
    assert interpret("-x^2", XY) == "- x^{2}"
    assert interpret("(-x)^2", XY) == r"\left(- x\right)^{2}"
    assert interpret("x - (y - x)", XY) == r"x - \left(y - x\right)"
    assert interpret("x * -y", XY) == r"x \cdot \left(- y\right)"
    assert interpret("x^y^2", XY) == "x^{y^{2}}"
    assert interpret("e^x + pi", XY) == r"e^{x} + \pi"


def test_subscripts_and_hats_are_spelled_many_ways():
    expected = interpret("yhat_1 - z_1", LOGITS)
    assert expected == r"\hat{y}_{1} - z_{1}"
    for spelling in ("yhat1 - z1", "y_hat_1 - z_{1}", "ŷ_1 - z₁", "ŷ₁ - z_1", "p1 - z_1", "p_1 - z1"):
        assert interpret(spelling, LOGITS) == expected, spelling


def test_unicode_operators_are_read():
    assert interpret("x² \u2212 2·x \u00d7 y ÷ 3", XY) == r"x^{2} - \frac{2 \cdot x \cdot y}{3}"


def test_floats_can_be_refused():
    exact = MathSpec(variables={"x": "real"}, allow_floats=False)
    assert "decimal numbers like `0.5` are not accepted" in refused("0.5x", exact)
    assert interpret("x/2", exact) == r"\frac{x}{2}"
    assert interpret("0.5x", XY) == r"0.5 \cdot x"


def test_names_that_are_python_keywords_are_just_names():
    spec = MathSpec(variables={"lambda": "positive", "x": "real"})
    assert interpret("lambda x", spec) == r"\lambda \cdot x"


def test_interpret_is_fast_enough_for_every_keystroke():
    text = "exp(z_1)/(exp(z_1)+exp(z_2)+exp(z_3)) - 1"
    interpret(text, LOGITS)
    started = time.perf_counter()
    for _ in range(100):
        interpret(text, LOGITS)
    assert (time.perf_counter() - started) / 100 < 0.005


def test_parsed_answers_name_only_what_the_spec_declares():
    parsed = parse("yhat_1 - exp(z_2) + pi", LOGITS)
    assert sorted(parsed.names.values()) == [
        ("builtin", "exp"),
        ("constant", "pi"),
        ("definition", "yhat_1"),
        ("variable", "z_2"),
    ]


def test_spec_problems_name_the_key():
    spec = MathSpec(variables={"z_1": "real", "z1": "real", "exp": "real"}, aliases={"nothing": ["n"]})
    problems = dict(spec_problems(spec))
    assert problems[("variables", "z1")] == "`z1` clashes with `z_1` (underscores are ignored)"
    assert problems[("variables", "exp")] == "`exp` is a built-in name; choose another"
    assert problems[("aliases", "nothing")] == "`nothing` is not a declared variable, definition or function"
    assert spec_problems(MathSpec(variables={"x": "real"}, aliases={"x": ["exp"]})) == [
        (("aliases", "x", 0), "`exp` is a built-in name; choose another")
    ]
    assert spec_problems(MathSpec(variables={"w": "complex"})) == [
        (
            ("variables", "w"),
            "unknown assumption `complex`; use one of real, positive, negative, nonnegative, nonzero, integer, natural",
        )
    ]


def test_definitions_must_parse_and_not_go_in_circles():
    broken = MathSpec(variables={"x": "real"}, definitions={"a": "x +"})
    assert spec_problems(broken) == [
        (("definitions", "a"), "the expression ends with `+`: something is missing after it")
    ]
    circle = MathSpec(variables={"x": "real"}, definitions={"a": "b + x", "b": "a"})
    assert spec_problems(circle) == [(("definitions",), "the definitions refer to each other in a circle")]


def read_or_refuse(text):
    try:
        return interpret(text, XY)
    except MathInputError as error:
        return str(error)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xyz_12.e^*/+-() ,=[]'a", max_size=60) | st.text(max_size=40))
def test_any_text_is_either_read_or_refused_with_a_message(text):
    started = time.perf_counter()
    # Any other exception (SyntaxError, RecursionError, KeyError...) fails the test.
    assert read_or_refuse(text)
    assert time.perf_counter() - started < 0.5


def test_maxima_constants_are_read_and_the_imaginary_unit_is_refused_with_a_reason():
    assert interpret("%e^(%pi x)", XY) == r"e^{\pi \cdot x}"
    assert refused("%i x") == "`%i` is the imaginary unit: complex numbers are not used here, only real ones"
    assert refused("%phi") == "`%phi` is not known here (of Maxima's constants, %pi and %e are: or write pi and e)"
    assert refused("1 + i") == (
        "unknown name `i` (complex numbers are not used here: it is not the imaginary unit); you can use x, y"
    )


def test_a_builtin_named_like_a_greek_letter_may_be_declared_and_then_is_the_variable():
    layer_norm = MathSpec(variables={"gamma": "real", "x": "real"})
    assert spec_problems(layer_norm) == []
    assert interpret("gamma(x + 1)", layer_norm) == r"\gamma \cdot \left(x + 1\right)"
    assert interpret("gamma^2(x + 1)", layer_norm) == r"\gamma^{2} \cdot \left(x + 1\right)"
    assert interpret("gamma(x + 1)", XY) == r"\Gamma\left(x + 1\right)"
    assert spec_problems(MathSpec(variables={"sin": "real"})) == [
        (("variables", "sin"), "`sin` is a built-in name; choose another")
    ]
