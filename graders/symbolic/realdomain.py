"""Comparing two answers on the real domain: their values at points where both are real and finite.

Random complex points once decided real questions: `1/sqrt(x)` and `sqrt(1/x)` take different
principal branches at x < 0, so a correct answer was called wrong. Here an expression is
evaluated the way a real-analysis course reads it: every intermediate value must be real and
finite (`sqrt(k/m) * sqrt(m/k)` is not evaluated where k/m < 0, although its product would be
real there), and an odd root of a negative number is real (`(-8)^(1/3)` is -2). Points are
searched, using each variable's assumption, until enough of them lie in both domains; where
too few do, the caller must not decide "wrong".

Values are computed with mpmath at 50 significant digits, so that two answers that are
equal agree far beyond the tolerance of any float policy; a disagreement is confirmed at 100
digits before it is believed. Without a tolerance, values that differ by more than the noise
of that arithmetic (10^-45 of the largest value met) differ: a decimal is the exact number it
writes, so 0.3333333333333333 is not 1/3.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import sympy
from sympy.core.function import AppliedUndef

WORKING_DIGITS = 50
CONFIRMING_DIGITS = 100
# Points with both answers defined needed for "agree", and how many candidates to try.
ENOUGH_POINTS = 12
MAX_CANDIDATES = 240
# Values beyond this are not compared (a tower like x^x^x overflows any tolerance).
MAX_MAGNITUDE = mpmath.mpf(10) ** 200
# Values closer than this (relative to the largest value met in computing them) are equal:
# far above the rounding of 50 digits, far below the 40 digits a number in an answer may have.
NOISE = mpmath.mpf(10) ** -45
# sin(10^40) needs 40 more digits to be right: arguments this large are left out.
MAX_PERIODIC_ARGUMENT = mpmath.mpf(10) ** 25


class OutsideDomain(Exception):
    """The expression is not real and finite at this point."""


class NotNumeric(Exception):
    """The expression has no value at any point (an undefined function f, say)."""


@dataclass
class Tolerance:
    """When two values count as equal: within `relative` of the larger, or `absolute`, or `significant_figures`.

    `significant_figures` n: a number rounds to the reference at n figures (within half a
    unit of the reference's n-th figure); a formula's values may differ by 5 * 10^-n of
    their size, the most that rounding each number in it to n figures changes them (its value
    at a point is not itself rounded: 1.41 x for sqrt(2) x is right at x = 0.3). Rounding
    noise of the 50-digit evaluation is always allowed, scaled by the largest value met.
    """

    relative: float = 0.0
    absolute: float = 0.0
    significant_figures: int = 0

    def for_formulas(self) -> Tolerance:
        if not self.significant_figures:
            return self
        relative = max(self.relative, 5 * 10.0 ** (-self.significant_figures))
        return Tolerance(relative=relative, absolute=self.absolute)

    def allows(
        self, student: mpmath.mpf, reference: mpmath.mpf, size: mpmath.mpf, magnitude: mpmath.mpf
    ) -> bool:
        """Are the values equal enough? `size` is the sum of the sizes of their terms (a relative
        tolerance near a zero of x - 1 is relative to x and 1, not to their tiny difference);
        `magnitude` the largest value met, for the noise of the arithmetic."""
        difference = abs(student - reference)
        noise = NOISE * magnitude
        # The tolerances as the decimals the author wrote (0.3, not the binary 0.29999...),
        # and the noise on top: a value on the boundary is inside.
        relative, absolute = mpmath.mpf(repr(self.relative)), mpmath.mpf(repr(self.absolute))
        allowed = max(relative * max(abs(student), abs(reference), size), absolute)
        if self.significant_figures and reference != 0:
            exponent = int(mpmath.floor(mpmath.log10(abs(reference))))
            allowed = max(allowed, mpmath.mpf(10) ** (exponent - self.significant_figures + 1) / 2)
        return difference <= allowed + noise


# The value of an expression at a point ({symbol: value}); raises OutsideDomain.
Evaluator = Callable[[dict], mpmath.mpf]


class _Compiler:
    """Turns a sympy expression into a function of a point, once, to evaluate it at many points."""

    def __init__(self) -> None:
        self.magnitude = mpmath.mpf(0)

    def checked(self, value) -> mpmath.mpf:
        if isinstance(value, mpmath.mpc):
            if value.imag != 0:
                raise OutsideDomain
            value = value.real
        if not mpmath.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise OutsideDomain
        magnitude = abs(value)
        if magnitude > self.magnitude:
            self.magnitude = magnitude
        return value

    def compile(self, expression: sympy.Basic) -> Evaluator:
        if expression.is_Integer or expression.is_Rational:
            numerator, denominator = int(expression.p), int(expression.q)
            return lambda point: mpmath.mpf(numerator) / denominator
        if expression.is_Float:
            binary = expression._mpf_
            return lambda point: mpmath.mpf(binary)
        if expression.is_Symbol:
            return lambda point: point[expression]
        if expression is sympy.pi:
            return lambda point: +mpmath.pi
        if expression is sympy.E:
            return lambda point: +mpmath.e
        if expression.is_number and expression.is_NumberSymbol:
            return lambda point: self.checked(mpmath.mpf(str(expression.evalf(mpmath.mp.dps))))
        if isinstance(expression, AppliedUndef) or isinstance(expression, sympy.Derivative):
            raise NotNumeric
        if expression.is_Atom:
            # I, zoo, nan, oo: not a real number.
            def outside(point):
                raise OutsideDomain

            return outside
        arguments = [self.compile(argument) for argument in expression.args]
        if expression.is_Add:
            return lambda point: self.checked(mpmath.fsum(self.checked(term(point)) for term in arguments))
        if expression.is_Mul:
            return lambda point: self.checked(mpmath.fprod(self.checked(factor(point)) for factor in arguments))
        if expression.is_Pow:
            return self._power(expression, *arguments)
        function = _REAL_FUNCTIONS.get(type(expression))
        if function is None:
            name = type(expression).__name__
            function = _REAL_FUNCTIONS_BY_NAME.get(name)
        if function is None:
            raise NotNumeric
        return lambda point: self.checked(_call(function, [argument(point) for argument in arguments]))

    def _power(self, expression: sympy.Pow, base_of: Evaluator, exponent_of: Evaluator) -> Evaluator:
        exponent = expression.exp
        odd_root = exponent.is_Rational and not exponent.is_Integer and int(exponent.q) % 2 == 1
        numerator = int(exponent.p) if exponent.is_Rational else 0

        def power(point: dict) -> mpmath.mpf:
            base = self.checked(base_of(point))
            power_value = self.checked(exponent_of(point))
            if base == 0:
                if power_value <= 0:
                    raise OutsideDomain
                return mpmath.mpf(0)
            if abs(power_value * mpmath.log(abs(base))) > 460:
                raise OutsideDomain
            if base > 0:
                return self.checked(mpmath.power(base, power_value))
            if odd_root:
                # The real odd root: (-8)^(1/3) = -2, (-8)^(2/3) = 4.
                magnitude = mpmath.power(-base, power_value)
                return self.checked(-magnitude if numerator % 2 else magnitude)
            if power_value == mpmath.floor(power_value):
                return self.checked(mpmath.power(base, int(power_value)))
            raise OutsideDomain

        return power


def _call(function: Callable, values: list[mpmath.mpf]):
    try:
        return function(*values)
    except (ZeroDivisionError, ValueError, OverflowError):
        raise OutsideDomain from None


def _periodic(function: Callable) -> Callable:
    def bounded(value):
        if abs(value) > MAX_PERIODIC_ARGUMENT:
            raise OutsideDomain
        return function(value)

    return bounded


def _exp(value):
    if value > 460:
        raise OutsideDomain
    return mpmath.exp(value)


def _log(value):
    if value <= 0:
        raise OutsideDomain
    return mpmath.log(value)


def _atan2(y, x):
    if x == 0 and y == 0:
        raise OutsideDomain
    return mpmath.atan2(y, x)


def _pole_free(function: Callable) -> Callable:
    # factorial and gamma grow past any tolerance quickly; so do their poles.
    def bounded(*values):
        if any(value > 150 for value in values):
            raise OutsideDomain
        return function(*values)

    return bounded


_REAL_FUNCTIONS: dict[type, Callable] = {
    sympy.exp: _exp,
    sympy.log: _log,
    sympy.sin: _periodic(mpmath.sin),
    sympy.cos: _periodic(mpmath.cos),
    sympy.tan: _periodic(mpmath.tan),
    sympy.sec: _periodic(mpmath.sec),
    sympy.csc: _periodic(mpmath.csc),
    sympy.cot: _periodic(mpmath.cot),
    sympy.asin: mpmath.asin,
    sympy.acos: mpmath.acos,
    sympy.atan: mpmath.atan,
    sympy.asec: mpmath.asec,
    sympy.acsc: mpmath.acsc,
    sympy.acot: mpmath.acot,
    sympy.atan2: _atan2,
    sympy.sinh: mpmath.sinh,
    sympy.cosh: mpmath.cosh,
    sympy.tanh: mpmath.tanh,
    sympy.sech: mpmath.sech,
    sympy.csch: mpmath.csch,
    sympy.coth: mpmath.coth,
    sympy.asinh: mpmath.asinh,
    sympy.acosh: mpmath.acosh,
    sympy.atanh: mpmath.atanh,
    sympy.asech: mpmath.asech,
    sympy.acsch: mpmath.acsch,
    sympy.acoth: mpmath.acoth,
    sympy.Abs: abs,
    sympy.sign: mpmath.sign,
    sympy.floor: mpmath.floor,
    sympy.ceiling: mpmath.ceil,
    sympy.factorial: _pole_free(mpmath.factorial),
    sympy.binomial: _pole_free(mpmath.binomial),
    sympy.gamma: _pole_free(mpmath.gamma),
    sympy.erf: mpmath.erf,
    sympy.Max: max,
    sympy.Min: min,
}
_REAL_FUNCTIONS_BY_NAME = {function.__name__: implementation for function, implementation in _REAL_FUNCTIONS.items()}


@dataclass
class RealVerdict:
    """`verdict`: "different", "agree" or "unknown"; `points`: how many points had both answers defined."""

    verdict: str
    points: int = 0
    # A point where they differ, as {name: value} (for messages and tests).
    witness: dict | None = None


def _draw(assumption: str, generator: random.Random, whole: bool) -> mpmath.mpf:
    # A mix of scales and of whole numbers: some domains are only met at integers ((-1)^n),
    # or in a narrow band (log((1+x)/(1-x)) needs |x| < 1), and a wrong answer can hide at
    # a scale, or only at whole numbers (floor(x) + 1 against ceil(x)).
    if assumption in ("integer", "natural"):
        return mpmath.mpf(generator.randint(1 if assumption == "natural" else -6, 8))
    kind = generator.random()
    if whole:
        value = float(generator.randint(0, 6) if assumption == "nonnegative" else generator.randint(1, 6))
    elif kind < 0.3:
        value = generator.uniform(0.02, 1.0)
    else:
        value = math.exp(generator.uniform(math.log(0.05), math.log(20.0)))
    negative = assumption == "negative" or (assumption in ("real", "nonzero") and generator.random() < 0.5)
    return mpmath.mpf(-value if negative else value)


def compare_on_real_domain(
    student: sympy.Expr,
    reference: sympy.Expr,
    assumptions: dict[str, str],
    tolerance: Tolerance,
    seed: int = 0,
) -> RealVerdict:
    """Do the two expressions agree at points where both are real and finite?

    "different" as soon as one point (confirmed at higher precision) disagrees; "agree" after
    ENOUGH_POINTS points that agree; "unknown" if not enough points lie in both domains or
    an expression has no value (an undefined function).
    """
    with mpmath.workdps(WORKING_DIGITS):
        try:
            compiled = [_Compiler(), _Compiler()]
            evaluators = [
                [compiler.compile(term) for term in sympy.Add.make_args(expression)]
                for compiler, expression in zip(compiled, (student, reference), strict=True)
            ]
        except NotNumeric:
            return RealVerdict("unknown")
        symbols = sorted(student.free_symbols | reference.free_symbols, key=lambda symbol: symbol.name)
        generator = random.Random(seed)  # noqa: S311 - sample points, not secrets
        if symbols:
            tolerance = tolerance.for_formulas()
        wanted = ENOUGH_POINTS if symbols else 1
        candidates = MAX_CANDIDATES if symbols else 1
        agreeing = 0
        for index in range(candidates):
            # Every third point puts every variable at a whole number; the others mix.
            whole = [index % 3 == 1 or generator.random() < 0.15 for _ in symbols]
            point = {
                symbol: _draw(assumptions.get(symbol.name, "real"), generator, at_whole)
                for symbol, at_whole in zip(symbols, whole, strict=True)
            }
            values = _values_at(compiled, evaluators, point)
            if values is None:
                continue
            if not tolerance.allows(*values):
                with mpmath.workdps(CONFIRMING_DIGITS):
                    confirmed = _values_at(compiled, evaluators, point)
                    if confirmed is not None and not tolerance.allows(*confirmed):
                        witness = {symbol.name: float(value) for symbol, value in point.items()}
                        return RealVerdict("different", agreeing, witness)
                continue
            agreeing += 1
            if agreeing >= wanted:
                return RealVerdict("agree", agreeing)
        return RealVerdict("unknown", agreeing)


def _values_at(
    compiled: list[_Compiler], evaluators: list[list[Evaluator]], point: dict
) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf, mpmath.mpf] | None:
    """(student, reference, size of their terms, largest value met), or None outside a domain."""
    for compiler in compiled:
        compiler.magnitude = mpmath.mpf(0)
    try:
        terms = [
            [compiler.checked(term(point)) for term in side]
            for compiler, side in zip(compiled, evaluators, strict=True)
        ]
        student, reference = (
            compiler.checked(mpmath.fsum(side)) for compiler, side in zip(compiled, terms, strict=True)
        )
    except OutsideDomain:
        return None
    size = max(mpmath.fsum(abs(term) for term in side) for side in terms)
    magnitude = max(compiler.magnitude for compiler in compiled)
    return student, reference, size, magnitude
