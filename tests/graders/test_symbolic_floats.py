"""Decimals in math answers follow a policy: exact (the default), refused, machine floats, or a tolerance."""

import pytest

from graders.symbolic import AnswerTest, MathSpec, compare

EXACT = MathSpec(variables={"x": "real", "t": "real"})
MACHINE = MathSpec(variables={"x": "real", "t": "real"}, floats="machine")
REFUSE = MathSpec(variables={"x": "real"}, floats="refuse")


def verdict(student, reference, spec=EXACT, **tolerance):
    return compare(student, reference, spec, test=AnswerTest(**tolerance)).equivalent


@pytest.mark.parametrize(
    ("student", "reference", "expected"),
    [
        ("0.5 x", "x/2", True),
        ("0.25", "1/4", True),
        ("3070", "3.07*10^3", True),
        ("3.07e3", "3070", True),
        ("50.2 - 30.0", "20.2", True),
        ("0.1 + 0.2", "0.3", True),
        ("1.5 x^2", "3x^2/2", True),
        ("0.333", "1/3", False),
        ("0.333333333333", "1/3", False),
        ("3.14159", "pi", False),
        ("2.718 x", "e x", False),
        ("2^(0.142857142857 t)", "2^(t/7)", False),
        # Equal to the last bit a double keeps, but not the same number.
        ("0.3333333333333333", "1/3", False),
        ("0.1428571428571429 x", "x/7", False),
        ("0.99999999", "99999998/99999999", False),
        ("0." + "3" * 38, "1/3", False),
        ("1e-50", "0", False),
        ("3.0e-50", "3/10^50", True),
    ],
)
def test_exact_reads_a_decimal_as_the_number_it_writes(student, reference, expected):
    assert verdict(student, reference) is expected


@pytest.mark.parametrize(
    ("student", "reference", "expected"),
    [
        ("0.5 x", "x/2", True),
        ("0.1 + 0.2", "0.3", False),
        ("435", "4.35*10^2", False),
        ("1.21", "1.1*1.1", False),
        ("50.2 - 30.0", "20.2", False),
        ("0.3333333333333333", "1/3", True),
        ("0.1 x + 0.2 x", "0.3 x", False),
        ("2.5 + 2.5", "5", True),
    ],
)
def test_machine_computes_decimals_as_a_calculator_does(student, reference, expected):
    assert verdict(student, reference, MACHINE) is expected


def test_refuse_asks_for_an_exact_answer():
    outcome = compare("0.5 x", "x/2", REFUSE)
    assert (outcome.equivalent, outcome.method) == (None, "invalid")
    assert outcome.message == (
        "decimal numbers like `0.5` are not accepted here; write an exact value such as 1/2 or sqrt(2)"
    )
    assert verdict("x/2", "x/2", REFUSE) is True


def test_a_relative_tolerance_accepts_rounded_numbers():
    assert verdict("3.1416", "pi", relative_tolerance=1e-4) is True
    assert verdict("3.14", "pi", relative_tolerance=1e-4) is False
    assert verdict("1.414 x + 0.7854", "sqrt(2) x + pi/4", relative_tolerance=1e-3) is True
    assert verdict("1.5 x", "sqrt(2) x", relative_tolerance=1e-3) is False


def test_an_absolute_tolerance_accepts_numbers_near_the_answer():
    assert verdict("0.001", "0", absolute_tolerance=0.01) is True
    assert verdict("0.1", "0", absolute_tolerance=0.01) is False


def test_significant_figures_for_a_number_round_like_a_student():
    assert verdict("3.14", "pi", significant_figures=3) is True
    assert verdict("3.15", "pi", significant_figures=3) is False
    assert verdict("3.1416", "pi", significant_figures=3) is True
    assert verdict("0.000123", "1.234e-4", significant_figures=3) is True
    assert verdict("0.000124", "1.234e-4", significant_figures=3) is False


def test_significant_figures_for_a_formula_allow_each_number_its_rounding():
    assert verdict("0.667 x^2 + 1.41", "2/3 x^2 + sqrt(2)", significant_figures=3) is True
    assert verdict("0.7 x^2 + 1.41", "2/3 x^2 + sqrt(2)", significant_figures=3) is False


def test_a_number_exactly_on_the_tolerance_boundary_is_inside():
    assert verdict("1.3", "1", absolute_tolerance=0.3) is True
    assert verdict("0.7", "1", absolute_tolerance=0.3) is True
    assert verdict("1.3 x", "x", absolute_tolerance=0.3) is False
    assert verdict("0.95", "1", relative_tolerance=0.05) is True
    assert verdict("0.9499", "1", relative_tolerance=0.05) is False
    assert verdict("1.3001", "1", absolute_tolerance=0.3) is False
