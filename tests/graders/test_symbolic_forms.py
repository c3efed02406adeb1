"""Form checks read the answer as written: expanded, factored, simplified, without decimals."""

import itertools

import pytest

from graders.symbolic import FORMS, MathSpec, form_hint, forms_of, parse
from graders.symbolic.forms import form_problems

XY = MathSpec(variables={"x": "real", "y": "real"}, definitions={"p": "exp(x)/(exp(x) + exp(y))"})


def problems(text, *forms):
    return form_problems(parse(text, XY), XY, list(forms))


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("x^2 + 2x + 1", True),
        ("1 + 2x + x^2", True),
        ("x^2/2 + x", True),
        ("1/(x + 1)", True),
        ("sin(x) + cos(x)", True),
        ("(x + 1)^2", False),
        ("x(x + 1)", False),
        ("2(x - y)", False),
        ("(x + 1)/2", False),
        ("-(x + 1)(x - 1)", False),
        ("sin((x + 1)(x - 1))", False),
    ],
)
def test_expanded_means_no_bracket_left_to_multiply_out(text, expanded):
    assert (problems(text, "expanded") == []) is expanded


@pytest.mark.parametrize(
    ("text", "factored"),
    [
        ("(x - 1)(x + 1)", True),
        ("2(x + 1)(x - 1)", True),
        ("(x + 1)^2", True),
        ("x^2 + 1", True),
        ("x (x - y)", True),
        ("-(x - 1)^3/(x + 2)", True),
        ("x^2 - 1", False),
        ("2x + 2", False),
        ("(2x + 2)(x - 1)", False),
        ("(x^2 - 1)(x + 2)", False),
        ("x^2 + 2x + 1", False),
        ("x^2 - y^2", False),
    ],
)
def test_factored_means_every_written_factor_is_irreducible(text, factored):
    assert (problems(text, "factored") == []) is factored


@pytest.mark.parametrize(
    ("text", "simplified"),
    [
        ("p - 1", True),
        ("-(exp(y))/(exp(x) + exp(y))", True),
        ("exp(x)/(exp(x) + exp(y)) - 1", True),
        ("x^2 + 2x + 1", True),
        ("(x + 1)^2", True),
        ("2x - y + 3", True),
        ("x + x", False),
        ("x - 1 + 1", False),
        ("x*1 + 0", False),
        ("2*3 x", False),
        ("-(1 - p)", False),
        ("2 x 3", False),
        ("2x (1/3)", False),
        ("x/2/3", False),
        ("(1/2) x/3", False),
        ("2x/4", False),
        ("x^(2/4)", False),
        ("2^10 x", False),
        ("-1 + p", True),
        ("(1/2) x", True),
        ("x^(-1)", True),
        ("sqrt(2)/2", True),
        ("2 sqrt(2) x/3", True),
        ("(p^2 - p)/p", False),
        ("(x^2 - 1)/(x - 1)", False),
        ("sin(x)^2 + cos(x)^2", False),
    ],
)
def test_simplified_is_kept_narrow_so_that_a_hint_is_never_a_matter_of_taste(text, simplified):
    assert (problems(text, "simplified") == []) is simplified


def test_no_decimals_finds_any_decimal():
    assert problems("x/2 + 1", "no_decimals") == []
    assert problems("0.5 x + 1", "no_decimals") == ["no_decimals"]
    assert problems("x + 1e3", "no_decimals") == ["no_decimals"]


def test_each_form_has_a_hint_and_the_worker_checks_them_within_the_time_limit():
    assert set(FORMS) == {"expanded", "factored", "simplified", "no_decimals"}
    assert forms_of("(x + 1)^2 + 0.5", XY, ["expanded", "no_decimals", "factored"]) == ["expanded", "no_decimals"]
    assert form_hint(["expanded", "no_decimals"]) == (
        "Now expand it: multiply out every bracket. "
        "Write it without decimals (as fractions such as 1/2, or sqrt(2), pi)."
    )
    with pytest.raises(ValueError, match="unknown form `tidy`"):
        forms_of("x", XY, ["tidy"])


# The same simplified sums written in every order of terms, with every spelling of a
# coefficient and of a reciprocal: none of them is "not simplified".
HALF_X = ["x/2", "(1/2)x", "(1/2)*x", "1/2*x", "x*(1/2)", "1/2 x", "0.5x"]
INVERSE_Y = ["1/y", "y^-1", "y^(-1)", "y^(- 1)"]
TWO_THIRDS_X = ["2x/3", "(2/3)x", "2/3*x", "(2x)/3", "2*(x/3)", "x*2/3"]
THREE_OVER_Y_SQUARED = ["3/y^2", "3y^-2", "3 y^(-2)", "3*(1/y^2)"]
SIMPLIFIED_SUMS = [
    [("+", ["p"]), ("-", ["1"])],
    [("-", ["x"]), ("+", ["1"])],
    [("+", HALF_X), ("-", INVERSE_Y)],
    [("-", TWO_THIRDS_X), ("+", ["3"]), ("-", THREE_OVER_Y_SQUARED)],
    [("+", INVERSE_Y)],
    [("-", HALF_X)],
    [("+", ["x^2"]), ("+", ["2x"]), ("+", ["1"])],
]


def spellings(terms):
    """Every order of the terms, every spelling of each, the signs where they belong (-1 + p, p - 1)."""
    for order in itertools.permutations(terms):
        for chosen in itertools.product(*(spelled for _sign, spelled in order)):
            (first_sign, _), *rest = order
            text = ("-" if first_sign == "-" else "") + chosen[0]
            for (sign, _), term in zip(rest, chosen[1:], strict=True):
                text += f" {sign} {term}"
            yield text


def test_the_order_of_terms_and_the_spelling_of_coefficients_are_never_not_simplified():
    family = [text for terms in SIMPLIFIED_SUMS for text in spellings(terms)]
    assert len(family) > 200
    assert [text for text in family if problems(text, "simplified")] == []


@pytest.mark.parametrize("terms", SIMPLIFIED_SUMS)
def test_an_idle_operation_or_numbers_left_to_combine_are_found_in_any_of_them(terms):
    text = next(spellings(terms))
    for unsimplified in (f"{text} + x - x", f"({text})*1", f"{text} + 0", f"({text})/1", f"({text})^1",
                         f"-(-({text}))", f"2*3*({text})/6", f"6({text})/6", f"{text} + 1 - 1"):  # fmt: skip
        assert problems(unsimplified, "simplified") == ["simplified"], unsimplified
