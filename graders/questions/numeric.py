"""Numeric answers: a number or a constant expression, optionally with a unit, within a tolerance."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from graders.symbolic import MathInputError, MathSpec, parse, to_float, to_latex

# A unit is a scale factor and a dimension: exponents of base quantities.
Dimension = tuple[tuple[str, int], ...]
_PREFIXES = {
    "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6,
    "G": 1e9, "T": 1e12, "P": 1e15,
}  # fmt: skip
# Base units that take the prefixes above: ms, GB, TFLOP, kHz...
_PREFIXABLE = {
    "s": (1.0, "time"),
    "B": (1.0, "data"),
    "bit": (1 / 8, "data"),
    "FLOP": (1.0, "flop"),
    "FLOPs": (1.0, "flop"),
    "Hz": (1.0, "frequency"),
    "m": (1.0, "length"),
}
_PLAIN = {
    "min": (60.0, "time"),
    "h": (3600.0, "time"),
    "KiB": (2.0**10, "data"),
    "MiB": (2.0**20, "data"),
    "GiB": (2.0**30, "data"),
    "TiB": (2.0**40, "data"),
    "token": (1.0, "token"),
    "tokens": (1.0, "token"),
    "param": (1.0, "parameter"),
    "params": (1.0, "parameter"),
    "%": (0.01, ""),
}
_FACTOR = re.compile(r"\s*([A-Za-zµμ%]+)\s*(?:\^\s*(-?\d+))?\s*")


class UnitError(ValueError):
    """A unit that is unknown or badly written."""


@dataclass(frozen=True)
class Unit:
    text: str
    scale: float
    dimension: Dimension


def _single_unit(name: str) -> tuple[float, str]:
    if name in _PLAIN:
        return _PLAIN[name]
    if name in _PREFIXABLE:
        return _PREFIXABLE[name]
    prefix, rest = name[:1], name[1:]
    if prefix in _PREFIXES and rest in _PREFIXABLE:
        scale, dimension = _PREFIXABLE[rest]
        return _PREFIXES[prefix] * scale, dimension
    raise UnitError(f"unknown unit `{name}`")


def parse_unit(text: str) -> Unit:
    """`ms`, `GB/s`, `tokens/s`, `m/s^2`: factors joined by * or ·, and / for the denominator."""
    scale = 1.0
    exponents: dict[str, int] = {}
    sign = 1
    position = 0
    text = text.strip()
    if not text:
        raise UnitError("the unit is empty")
    while position < len(text):
        match = _FACTOR.match(text, position)
        if match is None:
            raise UnitError(f"cannot read the unit `{text}`")
        factor_scale, dimension = _single_unit(match.group(1))
        power = sign * int(match.group(2) or 1)
        scale *= factor_scale**power
        if dimension == "frequency":
            # 1 Hz is 1/s.
            dimension, power = "time", -power
        if dimension:
            exponents[dimension] = exponents.get(dimension, 0) + power
        position = match.end()
        if position < len(text):
            separator = text[position]
            if separator not in "*·/":
                raise UnitError(f"cannot read the unit `{text}`")
            sign = -1 if separator == "/" else sign
            position += 1
    dimension_key = tuple(sorted((name, power) for name, power in exponents.items() if power))
    return Unit(text=text, scale=scale, dimension=dimension_key)


@dataclass
class Quantity:
    value: float
    unit: Unit | None
    interpreted_as: str


_NUMBER_SPEC = MathSpec()
_DECIMAL_COMMA = re.compile(r"^([+-]?\d+),(\d+)$")


def parse_number(text: str) -> tuple[float, str]:
    """(value, LaTeX) of a number or constant expression: 3.2, 3,2 (decimal comma), 1/3, ln(2), 2^-10."""
    text = _DECIMAL_COMMA.sub(r"\1.\2", text.strip())
    parsed = parse(text, _NUMBER_SPEC)
    return to_float(parsed), to_latex(parsed)


def parse_quantity(text: str, expected_unit: Unit | None) -> Quantity:
    """Reads "3.2 ms" or "0.0032 s" when a unit is expected, a plain number otherwise.

    Raises MathInputError with a message for the student.
    """
    text = text.strip()
    if expected_unit is None:
        try:
            value, latex = parse_number(text)
        except MathInputError:
            number, _ = _split_unit(text)
            if number is not None:
                raise MathInputError("this answer is a plain number: leave out the unit") from None
            raise
        return Quantity(value, None, latex)
    number, unit = _split_unit(text)
    if number is None:
        parse_number(text)
        raise MathInputError(f"give a unit, for example `{text} {expected_unit.text}`")
    if unit is None:
        raise MathInputError(
            f"unknown unit `{text[number[2] :].strip()}`; expected a unit like `{expected_unit.text}`"
        )
    if unit.dimension != expected_unit.dimension:
        raise MathInputError(
            f"`{unit.text}` does not measure the same kind of quantity as `{expected_unit.text}`"
        )
    return Quantity(number[0], unit, rf"{number[1]}\,\mathrm{{{unit.text}}}")


def _split_unit(text: str) -> tuple[tuple[float, str, int] | None, Unit | None]:
    """((value, LaTeX, where the unit starts), unit) for "<number> <unit>".

    The shortest unit is tried first, so "3.2e-3 s" is 3.2e-3 and s, not 3.2 and "e-3 s".
    A number followed by something that is not a unit gives (number, None).
    """
    unreadable: tuple[float, str, int] | None = None
    for index in range(len(text) - 1, 0, -1):
        if not re.match(r"[A-Za-zµμ%]", text[index]) or re.match(r"[A-Za-z_]", text[index - 1]):
            continue
        try:
            value, latex = parse_number(text[:index])
        except MathInputError:
            continue
        try:
            return (value, latex, index), parse_unit(text[index:])
        except UnitError:
            unreadable = unreadable or (value, latex, index)
    return unreadable, None


@dataclass
class NumericCheck:
    correct: bool
    message: str
    interpreted_as: str


def check_numeric(
    text: str,
    answer: float,
    *,
    unit: str | None = None,
    absolute_tolerance: float = 0.0,
    relative_tolerance: float = 0.0,
    significant_figures: int = 0,
) -> NumericCheck:
    """Within max(absolute_tolerance, relative_tolerance * |answer|) of `answer`, in `unit`.

    With `significant_figures` n, the value must round to the answer at n figures (be within
    half a unit of the answer's n-th figure); a right value written with another number of
    figures is still right, with a hint.
    """
    expected_unit = parse_unit(unit) if unit else None
    try:
        quantity = parse_quantity(text, expected_unit)
    except MathInputError as error:
        return NumericCheck(False, f"Could not read your answer: {error}", "")
    value = quantity.value
    if expected_unit is not None and quantity.unit is not None:
        value = value * quantity.unit.scale / expected_unit.scale
    allowed = max(absolute_tolerance, relative_tolerance * abs(answer))
    if significant_figures and answer:
        unit_of_last_figure = 10.0 ** (math.floor(math.log10(abs(answer))) - significant_figures + 1)
        allowed = max(allowed, unit_of_last_figure / 2)
    # A value on the boundary is inside, whatever binary floats make of the decimals: 1.05 - 1
    # is 0.050000000000000044, and 1.415 must round to 1.42. A hair more than the tolerance,
    # and a few units in the last place for a value asked exactly (0.1 + 0.2 is 0.3).
    allowed += allowed * 1e-9 + 4 * math.ulp(max(abs(value), abs(answer)))
    if abs(value - answer) > allowed:
        return NumericCheck(False, "Incorrect.", quantity.interpreted_as)
    written = written_significant_figures(text)
    if significant_figures and written is not None and written != significant_figures:
        rounded = f"{answer:#.{significant_figures}g}".rstrip(".")
        return NumericCheck(
            True,
            f"Correct. Next time give it to {significant_figures} significant figures, as asked: {rounded}.",
            quantity.interpreted_as,
        )
    return NumericCheck(True, "Correct.", quantity.interpreted_as)


_PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d*)(?:[.,](\d*))?(?:[eE][+-]?\d+)?")


def written_significant_figures(text: str) -> int | None:
    """How many significant figures a plain number is written with (0.0320 has 3); None if not a plain number.

    Zeros that end a whole number count (1200 has 4): the writer cannot say otherwise.
    """
    match = _PLAIN_NUMBER.match(text)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    rest = text[match.end() :].strip()
    if rest and not re.fullmatch(r"[A-Za-zµμ%][A-Za-zµμ%/^*·\s\d-]*", rest):
        return None
    digits = (match.group(1) + (match.group(2) or "")).lstrip("0")
    return len(digits) or 1
