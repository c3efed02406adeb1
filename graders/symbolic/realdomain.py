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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy
from sympy.core.function import AppliedUndef

WORKING_DIGITS = 50
CONFIRMING_DIGITS = 100
# Points with both answers defined needed for "agree", and how many candidates to try.
ENOUGH_POINTS = 12
# With a variable in an exponent, points are searched until this many agree (or the candidates
# run out, ENOUGH_POINTS still needed): the points where a negative base to a fractional power
# is real and the answers differ are rare ((a^b)^c against a^(b c)).
ENOUGH_POINTS_WITH_EXPONENTS = 120
MAX_CANDIDATES = 240
# Values beyond this are not compared (a tower like x^x^x overflows any tolerance).
MAX_MAGNITUDE = mpmath.mpf(10) ** 200
# Values closer than this (relative to the largest value met in computing them) are equal:
# far above the rounding of 50 digits, far below the 40 digits a number in an answer may have.
NOISE = mpmath.mpf(10) ** -45
# sin(10^40) needs 40 more digits to be right: arguments this large are left out.
MAX_PERIODIC_ARGUMENT = mpmath.mpf(10) ** 25


class OutsideDomain(Exception):
    """The expression is not real and finite at this point; `reason` says why ("divides by zero"),
    None when it is only too large to compare."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason


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

DIVIDES_BY_ZERO = "divides by zero"


class _Compiler:
    """Turns a sympy expression into a function of a point, once, to evaluate it at many points."""

    def __init__(self) -> None:
        self.magnitude = mpmath.mpf(0)

    def checked(self, value, reason: str | None = "is not a real number") -> mpmath.mpf:
        if isinstance(value, mpmath.mpc):
            if value.imag != 0:
                raise OutsideDomain(reason)
            value = value.real
        if not mpmath.isfinite(value):
            raise OutsideDomain(DIVIDES_BY_ZERO)
        if abs(value) > MAX_MAGNITUDE:
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
            # zoo (1/0), nan (0/0), I, oo: not a real number.
            reason = _ATOM_REASONS.get(expression, "is not a real number")

            def outside(point):
                raise OutsideDomain(reason)

            return outside
        arguments = [self.compile(argument) for argument in expression.args]
        if expression.is_Add:
            return lambda point: self.checked(mpmath.fsum(self.checked(term(point)) for term in arguments))
        if expression.is_Mul:
            return lambda point: self.checked(mpmath.fprod(self.checked(factor(point)) for factor in arguments))
        if expression.is_Pow:
            return self._power(expression, *arguments)
        function = _REAL_FUNCTIONS.get(type(expression))
        name = type(expression).__name__
        if function is None:
            function = _REAL_FUNCTIONS_BY_NAME.get(name)
        if function is None:
            raise NotNumeric
        reason = f"gives {name} a value outside its domain"
        return lambda point: self.checked(_call(function, [argument(point) for argument in arguments], reason), reason)

    def _power(self, expression: sympy.Pow, base_of: Evaluator, exponent_of: Evaluator) -> Evaluator:
        exponent = expression.exp
        odd_root = exponent.is_Rational and not exponent.is_Integer and int(exponent.q) % 2 == 1
        numerator = int(exponent.p) if exponent.is_Rational else 0

        def power(point: dict) -> mpmath.mpf:
            base = self.checked(base_of(point))
            power_value = self.checked(exponent_of(point))
            if base == 0:
                if power_value < 0:
                    raise OutsideDomain(DIVIDES_BY_ZERO)
                if power_value == 0:
                    raise OutsideDomain("raises 0 to the power 0")
                return mpmath.mpf(0)
            if abs(power_value * mpmath.log(abs(base))) > 460:
                raise OutsideDomain
            if base > 0:
                return self.checked(mpmath.power(base, power_value))
            if odd_root:
                # The real odd root: (-8)^(1/3) = -2, (-8)^(2/3) = 4.
                magnitude = mpmath.power(-base, power_value)
                return self.checked(-magnitude if numerator % 2 else magnitude)
            return self.checked(_power_of_negative(base, power_value))

        return power


def _power_of_negative(base: mpmath.mpf, power: mpmath.mpf) -> mpmath.mpf:
    """base^power for base < 0, where it is real: a whole power, or p/q in lowest terms with q odd.

    A power computed from a variable (x^(2k) at k = 1/3) is recognised as the fraction it is
    within the working precision, so that a variable exponent reads negative bases as the
    literal one does: (-8)^k at k = 1/3 is -2.
    """
    fraction = _small_fraction(power)
    if fraction is None:
        raise OutsideDomain("raises a negative number to a power that is not a fraction")
    numerator, denominator = fraction
    if denominator == 1:
        return mpmath.power(base, numerator)
    if denominator % 2 == 0:
        square_root = (numerator, denominator) == (1, 2)
        raise OutsideDomain(f"takes {'the square root' if square_root else 'an even root'} of a negative number")
    magnitude = mpmath.power(-base, mpmath.mpf(numerator) / denominator)
    return -magnitude if numerator % 2 else magnitude


# Fractions with a denominator up to this are recognised in a computed power: the sampled
# exponents have denominators up to 6, and an expression may halve or quarter them.
MAX_DENOMINATOR = 24


def _small_fraction(value: mpmath.mpf) -> tuple[int, int] | None:
    """(p, q) in lowest terms with q <= MAX_DENOMINATOR equal to `value` to the working precision, or None."""
    tolerance = mpmath.mpf(10) ** (10 - mpmath.mp.dps)
    for denominator in range(1, MAX_DENOMINATOR + 1):
        scaled = value * denominator
        numerator = mpmath.nint(scaled)
        if abs(scaled - numerator) <= tolerance * max(1, abs(scaled)):
            return int(numerator), denominator
    return None


def _call(function: Callable, values: list[mpmath.mpf], reason: str):
    try:
        return function(*values)
    except ZeroDivisionError:
        raise OutsideDomain(DIVIDES_BY_ZERO) from None
    except (ValueError, OverflowError):
        raise OutsideDomain(reason) from None


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
        raise OutsideDomain("takes the logarithm of a number that is not positive")
    return mpmath.log(value)


def _atan2(y, x):
    if x == 0 and y == 0:
        raise OutsideDomain("gives atan2 the point (0, 0)")
    return mpmath.atan2(y, x)


def _pole_free(function: Callable) -> Callable:
    # factorial and gamma grow past any tolerance quickly; so do their poles.
    def bounded(*values):
        if any(value > 150 for value in values):
            raise OutsideDomain
        return function(*values)

    return bounded


DIVIDES_ZERO_BY_ZERO = "divides zero by zero"
# Why an expression is no number at all (rather than a number that is not real).
NO_VALUE_REASONS = frozenset({DIVIDES_BY_ZERO, DIVIDES_ZERO_BY_ZERO})
_ATOM_REASONS = {
    sympy.zoo: DIVIDES_BY_ZERO,
    sympy.nan: DIVIDES_ZERO_BY_ZERO,
    sympy.I: "is an imaginary number",
    sympy.oo: "is infinite",
    -sympy.oo: "is infinite",
}
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


# A value drawn for a variable: a float, or an exact fraction (1/3 is not a binary number),
# turned into an mpmath number at the precision of each evaluation.
Draw = float | Fraction


def _draw(assumption: str, generator: random.Random, whole: bool) -> Draw:
    # A mix of scales and of whole numbers: some domains are only met at integers ((-1)^n),
    # or in a narrow band (log((1+x)/(1-x)) needs |x| < 1), and a wrong answer can hide at
    # a scale, or only at whole numbers (floor(x) + 1 against ceil(x)).
    if assumption in ("integer", "natural"):
        return float(generator.randint(1 if assumption == "natural" else -6, 8))
    kind = generator.random()
    if whole:
        value = float(generator.randint(0, 6) if assumption == "nonnegative" else generator.randint(1, 6))
    elif kind < 0.3:
        value = generator.uniform(0.02, 1.0)
    else:
        value = math.exp(generator.uniform(math.log(0.05), math.log(20.0)))
    return -value if _is_negative(assumption, generator) else value


def _draw_exponent(assumption: str, generator: random.Random, kind: list[Fraction]) -> Draw:
    if assumption in ("integer", "natural"):
        return _draw(assumption, generator, whole=True)
    value = generator.choice(kind)
    return -value if _is_negative(assumption, generator) else value


# Exponents where powers of negative bases are real, or differ from what the rules for
# positive bases say: (x^2)^k and x^(2k) differ at x = -1, k = 1/2 (a half-integer); (a^b)^c
# and a^(b c) at a = -1, b = 2, c = 1/2 (an even number and a half-integer); (x^4)^k and
# x^(4k) at k = 1/4 (a quarter); odd denominators make odd roots. Continuous draws never
# meet these points; odd whole numbers come with the whole-number points.
EXPONENT_KINDS = [
    [Fraction(2)],
    [Fraction(1, 2), Fraction(3, 2)],
    [Fraction(1, 4), Fraction(3, 4)],
    [Fraction(1, 3), Fraction(2, 3), Fraction(4, 3), Fraction(1, 5), Fraction(2, 5), Fraction(1, 6), Fraction(5, 6)],
]


def _is_negative(assumption: str, generator: random.Random) -> bool:
    return assumption == "negative" or (assumption in ("real", "nonzero") and generator.random() < 0.5)


def _exponent_symbols(*expressions: sympy.Expr) -> set[sympy.Symbol]:
    """The variables that appear in an exponent (k in x^(2k), n in root(x, n)): they are also drawn at fractions."""
    powers = [power for expression in expressions for power in expression.atoms(sympy.Pow)]
    return {symbol for power in powers for symbol in power.exp.free_symbols}


def _sample_points(
    symbols: list[sympy.Symbol], assumptions: dict[str, str], seed: int, count: int, in_exponents: set[sympy.Symbol]
) -> Iterator[dict[sympy.Symbol, Draw]]:
    """`count` points for `symbols`, each variable drawn as its assumption allows.

    Every third point puts every variable at a whole number; the others mix scales, signs and
    whole numbers. When variables appear in exponents, every other point then draws those
    again among EXPONENT_KINDS, where powers of negative bases are real.
    """
    generator = random.Random(seed)  # noqa: S311 - sample points, not secrets
    exponents = [symbol for symbol in symbols if symbol in in_exponents]
    for index in range(count):
        whole = [index % 3 == 1 or generator.random() < 0.15 for _ in symbols]
        point = {
            symbol: _draw(assumptions.get(symbol.name, "real"), generator, at_whole)
            for symbol, at_whole in zip(symbols, whole, strict=True)
        }
        if exponents and index % 2 == 1:
            # The kinds dealt out in turn from a random one, so that two exponents get two
            # kinds (b = 2 and c = 1/2) as often as one gets a kind.
            first = generator.randrange(len(EXPONENT_KINDS))
            for position, symbol in enumerate(generator.sample(exponents, len(exponents))):
                kind = EXPONENT_KINDS[(first + position) % len(EXPONENT_KINDS)]
                point[symbol] = _draw_exponent(assumptions.get(symbol.name, "real"), generator, kind)
        yield point


def _at_precision(draws: dict[sympy.Symbol, Draw]) -> dict[sympy.Symbol, mpmath.mpf]:
    return {
        symbol: mpmath.mpf(value.numerator) / value.denominator if isinstance(value, Fraction) else mpmath.mpf(value)
        for symbol, value in draws.items()
    }


def compare_on_real_domain(
    student: sympy.Expr,
    reference: sympy.Expr,
    assumptions: dict[str, str],
    tolerance: Tolerance,
    seed: int = 0,
) -> RealVerdict:
    """Do the two expressions agree at points where both are real and finite?

    "different" as soon as one point (confirmed at higher precision) disagrees; "agree" after
    ENOUGH_POINTS points that agree (more are searched when a variable is in an exponent);
    "unknown" if not enough points lie in both domains or an expression has no value (an
    undefined function).
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
        in_exponents = _exponent_symbols(student, reference) & set(symbols)
        if symbols:
            tolerance = tolerance.for_formulas()
        wanted = (ENOUGH_POINTS_WITH_EXPONENTS if in_exponents else ENOUGH_POINTS) if symbols else 1
        candidates = MAX_CANDIDATES if symbols else 1
        agreeing = 0
        for draws in _sample_points(symbols, assumptions, seed, candidates, in_exponents):
            values = _values_at(compiled, evaluators, _at_precision(draws))
            if values is None:
                continue
            if not tolerance.allows(*values):
                with mpmath.workdps(CONFIRMING_DIGITS):
                    confirmed = _values_at(compiled, evaluators, _at_precision(draws))
                    if confirmed is not None and not tolerance.allows(*confirmed):
                        witness = {symbol.name: float(value) for symbol, value in draws.items()}
                        return RealVerdict("different", agreeing, witness)
                continue
            agreeing += 1
            if agreeing >= wanted:
                return RealVerdict("agree", agreeing)
        # A narrow domain (x^a for x > 0 only) may not give as many: the usual number will do.
        if symbols and agreeing >= ENOUGH_POINTS:
            return RealVerdict("agree", agreeing)
        return RealVerdict("unknown", agreeing)


def nowhere_real(student: sympy.Expr, reference: sympy.Expr, assumptions: dict[str, str], seed: int = 0) -> str:
    """Why the student's expression is not a real number anywhere, when the reference is one at
    enough points ("divides by zero"); "" when it is real somewhere (the first point usually
    says so), or the reference is not, or it is only too large to evaluate.

    An answer such as 1/0, sqrt(-1) or acos(2 + x^2) is not equal to a reference that has real
    values: it is wrong, not a question for a person.
    """
    with mpmath.workdps(WORKING_DIGITS):
        try:
            compiled = [_Compiler(), _Compiler()]
            evaluators = [[compiled[0].compile(student)], [compiled[1].compile(reference)]]
        except NotNumeric:
            return ""
        symbols = sorted(student.free_symbols | reference.free_symbols, key=lambda symbol: symbol.name)
        reasons: list[str | None] = []
        reference_real = 0
        count = MAX_CANDIDATES if symbols else 1
        for draws in _sample_points(symbols, assumptions, seed, count, _exponent_symbols(student, reference)):
            point = _at_precision(draws)
            student_value, why_not = _value_of(compiled[0], evaluators[0], point)
            if student_value is not None:
                return ""
            reasons.append(why_not)
            reference_real += _value_of(compiled[1], evaluators[1], point)[0] is not None
    if reference_real < (ENOUGH_POINTS if symbols else 1) or None in reasons:
        return ""
    return Counter(reasons).most_common(1)[0][0] or ""


# One side's terms at a point, and their sum.
Terms = tuple[list[mpmath.mpf], mpmath.mpf]


def _value_of(compiler: _Compiler, side: list[Evaluator], point: dict) -> tuple[Terms | None, str | None]:
    """(terms, None), or (None, why not: None when only too large to compare)."""
    compiler.magnitude = mpmath.mpf(0)
    try:
        terms = [compiler.checked(term(point)) for term in side]
        return (terms, compiler.checked(mpmath.fsum(terms))), None
    except OutsideDomain as outside:
        return None, outside.reason


def _compared(
    compiled: list[_Compiler], student: Terms, reference: Terms
) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """(student, reference, size of their terms, largest value met), as Tolerance.allows takes them."""
    size = max(mpmath.fsum(abs(term) for term in terms) for terms, _total in (student, reference))
    return student[1], reference[1], size, max(compiler.magnitude for compiler in compiled)


def _values_at(
    compiled: list[_Compiler], evaluators: list[list[Evaluator]], point: dict
) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf, mpmath.mpf] | None:
    """Both sides at a point, as `_compared` gives them, or None outside a domain."""
    student, _ = _value_of(compiled[0], evaluators[0], point)
    if student is None:
        return None
    reference, _ = _value_of(compiled[1], evaluators[1], point)
    if reference is None:
        return None
    return _compared(compiled, student, reference)


def why_not_real(expression: sympy.Expr, assumptions: dict[str, str], seed: int = 0) -> str:
    """Why an expression has no real value, as "divides by zero": the most common reason at the
    sample points, best read from the expression as written (sqrt(-1), not sympy's I)."""
    reasons: list[str] = []
    with mpmath.workdps(WORKING_DIGITS):
        compiler = _Compiler()
        try:
            evaluator = [compiler.compile(expression)]
        except NotNumeric:
            return ""
        symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
        count = ENOUGH_POINTS if symbols else 1
        for draws in _sample_points(symbols, assumptions, seed, count, _exponent_symbols(expression)):
            value, reason = _value_of(compiler, evaluator, _at_precision(draws))
            if value is None and reason:
                reasons.append(reason)
    return Counter(reasons).most_common(1)[0][0] if reasons else ""
