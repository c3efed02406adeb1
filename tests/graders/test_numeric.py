"""Numeric answers: tolerances, units, decimal commas and clear messages."""

import pytest

from graders.questions import check_numeric, parse_unit
from graders.questions.numeric import UnitError


def test_absolute_and_relative_tolerance():
    assert check_numeric("0.41", 0.4076, absolute_tolerance=0.005).correct
    assert not check_numeric("0.42", 0.4076, absolute_tolerance=0.005).correct
    assert check_numeric("101", 100, relative_tolerance=0.01).correct
    assert not check_numeric("102", 100, relative_tolerance=0.01).correct
    # The larger of the two allowances wins.
    assert check_numeric("0.001", 0.0, absolute_tolerance=0.01, relative_tolerance=0.01).correct


def test_a_number_may_be_a_constant_expression():
    check = check_numeric("ln(3)", 1.0986, relative_tolerance=1e-3)
    assert check.correct
    assert check.interpreted_as == r"\ln\left(3\right)"
    assert check_numeric("-log(1/3)", 1.0986, relative_tolerance=1e-3).correct
    assert check_numeric("2^-10", 1 / 1024, relative_tolerance=1e-9).correct


def test_a_decimal_comma_is_read_as_a_decimal_point():
    assert check_numeric("3,2", 3.2, relative_tolerance=1e-9).correct


def test_units_are_converted_before_comparing():
    for answer in ("3.2 ms", "3.2ms", "0.0032 s", "3.2e-3 s", "3200 µs", "3200 us", "3,2 ms"):
        assert check_numeric(answer, 3.2, unit="ms", relative_tolerance=1e-9).correct, answer
    assert check_numeric("1.5 GB/s", 1500, unit="MB/s", relative_tolerance=1e-9).correct
    assert check_numeric("2 KiB", 2048, unit="B", relative_tolerance=1e-9).correct
    assert check_numeric("1 kHz", 1000, unit="Hz", relative_tolerance=1e-9).correct


def test_unit_mistakes_get_clear_messages():
    assert (
        check_numeric("3.2", 3.2, unit="ms").message == "Could not read your answer: give a unit, for example `3.2 ms`"
    )
    assert check_numeric("3.2 GB", 3.2, unit="ms").message == (
        "Could not read your answer: `GB` does not measure the same kind of quantity as `ms`"
    )
    assert check_numeric("3.2 mss", 3.2, unit="ms").message == (
        "Could not read your answer: unknown unit `mss`; expected a unit like `ms`"
    )
    assert (
        check_numeric("3.2 s", 3.2).message
        == "Could not read your answer: this answer is a plain number: leave out the unit"
    )


def test_a_wrong_value_shows_how_it_was_read():
    check = check_numeric("3.3 ms", 3.2, unit="ms", relative_tolerance=0.01)
    assert (check.correct, check.message) == (False, "Incorrect.")
    assert check.interpreted_as == r"3.3\,\mathrm{ms}"


def test_parse_unit_knows_prefixes_and_ratios():
    assert parse_unit("ms").scale == pytest.approx(1e-3)
    assert parse_unit("GB/s").dimension == (("data", 1), ("time", -1))
    assert parse_unit("tokens/s").dimension == (("time", -1), ("token", 1))
    assert parse_unit("kHz").dimension == (("time", -1),)
    assert parse_unit("TFLOP/s").scale == pytest.approx(1e12)
    assert parse_unit("m/s^2").dimension == (("length", 1), ("time", -2))
    with pytest.raises(UnitError, match="unknown unit `parsec`"):
        parse_unit("parsec")


def test_significant_figures_accept_what_rounds_to_the_answer():
    assert check_numeric("1.41", 2**0.5, significant_figures=3).correct
    assert check_numeric("1.4142", 2**0.5, significant_figures=3).correct
    assert not check_numeric("1.42", 2**0.5, significant_figures=3).correct
    assert check_numeric("6.02e23", 6.02214076e23, significant_figures=3).correct
    assert not check_numeric("6.03e23", 6.02214076e23, significant_figures=3).correct


def test_a_right_value_with_other_figures_than_asked_gets_a_hint_not_a_penalty():
    check = check_numeric("1.4", 1.4, significant_figures=3)
    assert check.correct
    assert check.message == "Correct. Next time give it to 3 significant figures, as asked: 1.40."
    assert check_numeric("1.40", 1.4, significant_figures=3).message == "Correct."


@pytest.mark.parametrize(
    ("answer", "expected", "tolerance"),
    [
        ("1.05", 1, {"relative_tolerance": 0.05}),
        ("0.95", 1, {"relative_tolerance": 0.05}),
        ("1.1", 1, {"absolute_tolerance": 0.1}),
        ("1.3", 1, {"absolute_tolerance": 0.3}),
        ("0.7", 1, {"absolute_tolerance": 0.3}),
        ("101", 100, {"relative_tolerance": 0.01}),
        ("2.2 ms", 2, {"unit": "ms", "absolute_tolerance": 0.2}),
        ("0.1 + 0.2", 0.3, {}),
        ("3200 us", 3.2, {"unit": "ms"}),
    ],
)
def test_a_value_exactly_on_the_tolerance_boundary_is_inside(answer, expected, tolerance):
    assert check_numeric(answer, expected, **tolerance).correct


def test_a_value_just_beyond_the_boundary_is_outside():
    assert not check_numeric("1.0501", 1, relative_tolerance=0.05).correct
    assert not check_numeric("1.3001", 1, absolute_tolerance=0.3).correct
    assert not check_numeric("0.30001", 0.3).correct
