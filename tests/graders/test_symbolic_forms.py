"""Form checks read the answer as written: expanded, factored, simplified, without decimals."""

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
