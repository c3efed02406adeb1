"""The functions a math answer may call: how each is built in sympy, typeset, and computed in floating point.

One table, so that the parser, the preview, the exact conversion and the numeric answers can
never disagree on which names are functions. A name missing from it is read as a variable
(or refused), so every elementary function a course may use must be here: a missing `sec`
once turned `sec(2t)` into the product `sec * 2t`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy.printing.latex import greek_letters_set


@dataclass(frozen=True)
class MathFunction:
    """`build` makes the sympy expression, `compute` the float value; `latex` is a command or a template.

    A template contains `{0}` (and `{1}`) for the typeset arguments; a command such as
    `\\sec` is followed by the arguments in parentheses.
    """

    build: Callable[..., sympy.Expr]
    arities: tuple[int, ...]
    latex: str
    compute: Callable[..., float]


def _sigmoid(argument: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-argument))


def _root(radicand: sympy.Expr, degree: sympy.Expr | None = None) -> sympy.Expr:
    # A power with an exact exponent: the real-domain evaluation reads an odd root of a
    # negative number as real (root(-8, 3) = -2), as a calculus course does.
    return sympy.Pow(radicand, 1 / (sympy.Integer(2) if degree is None else degree))


def _log(argument: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    return sympy.log(argument) if base is None else sympy.log(argument) / sympy.log(base)


def _log10(argument: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    return _log(argument, sympy.Integer(10) if base is None else base)


def _float_root(radicand: float, degree: float = 2.0) -> float:
    if radicand < 0 and float(degree).is_integer() and int(degree) % 2 == 1:
        return -((-radicand) ** (1 / degree))
    if radicand < 0:
        raise ValueError("an even root of a negative number")
    return radicand ** (1 / degree)


def _float_log(argument: float, base: float | None = None) -> float:
    return math.log(argument) if base is None else math.log(argument, base)


def _float_log10(argument: float, base: float = 10.0) -> float:
    return math.log10(argument) if base == 10 else math.log(argument, base)


def _float_factorial(value: float) -> float:
    return math.gamma(value + 1)


def _float_binomial(top: float, bottom: float) -> float:
    if float(top).is_integer() and float(bottom).is_integer() and top >= 0:
        return float(math.comb(int(top), int(bottom))) if 0 <= bottom <= top else 0.0
    return math.gamma(top + 1) / (math.gamma(bottom + 1) * math.gamma(top - bottom + 1))


def _sign(value: float) -> float:
    return float((value > 0) - (value < 0))


def _operator(name: str) -> str:
    return rf"\operatorname{{{name}}}"


_F = MathFunction
# One entry per function; the other spellings are added below.
FUNCTIONS: dict[str, MathFunction] = {
    "exp": _F(sympy.exp, (1,), "e^{{{0}}}", math.exp),
    # log(x, b), lg(x, b) (STACK) and logbase(x, b) are the logarithm of x in base b.
    "log": _F(_log, (1, 2), r"\log", _float_log),
    "ln": _F(sympy.log, (1,), r"\ln", math.log),
    "lg": _F(_log10, (1, 2), r"\lg", _float_log10),
    "logbase": _F(_log, (2,), r"\log", _float_log),
    "log10": _F(_log10, (1,), r"\log_{{10}}\left({0}\right)", math.log10),
    "log2": _F(lambda argument: _log(argument, sympy.Integer(2)), (1,), r"\log_{{2}}\left({0}\right)", math.log2),
    "sqrt": _F(sympy.sqrt, (1,), r"\sqrt{{{0}}}", lambda value: _float_root(value, 2)),
    "cbrt": _F(
        lambda value: _root(value, sympy.Integer(3)), (1,), r"\sqrt[3]{{{0}}}", lambda value: _float_root(value, 3)
    ),
    "root": _F(_root, (1, 2), "", _float_root),
    "abs": _F(sympy.Abs, (1,), r"\left|{0}\right|", abs),
    "sign": _F(sympy.sign, (1,), _operator("sgn"), _sign),
    "floor": _F(sympy.floor, (1,), r"\left\lfloor {0} \right\rfloor", lambda value: float(math.floor(value))),
    "ceiling": _F(sympy.ceiling, (1,), r"\left\lceil {0} \right\rceil", lambda value: float(math.ceil(value))),
    "factorial": _F(sympy.factorial, (1,), "", _float_factorial),
    "binomial": _F(sympy.binomial, (2,), r"\binom{{{0}}}{{{1}}}", _float_binomial),
    "gamma": _F(sympy.gamma, (1,), r"\Gamma", math.gamma),
    "erf": _F(sympy.erf, (1,), _operator("erf"), math.erf),
    "sin": _F(sympy.sin, (1,), r"\sin", math.sin),
    "cos": _F(sympy.cos, (1,), r"\cos", math.cos),
    "tan": _F(sympy.tan, (1,), r"\tan", math.tan),
    "sec": _F(sympy.sec, (1,), r"\sec", lambda value: 1 / math.cos(value)),
    "csc": _F(sympy.csc, (1,), r"\csc", lambda value: 1 / math.sin(value)),
    "cot": _F(sympy.cot, (1,), r"\cot", lambda value: math.cos(value) / math.sin(value)),
    "asin": _F(sympy.asin, (1,), r"\arcsin", math.asin),
    "acos": _F(sympy.acos, (1,), r"\arccos", math.acos),
    "atan": _F(sympy.atan, (1,), r"\arctan", math.atan),
    "asec": _F(sympy.asec, (1,), _operator("arcsec"), lambda value: math.acos(1 / value)),
    "acsc": _F(sympy.acsc, (1,), _operator("arccsc"), lambda value: math.asin(1 / value)),
    "acot": _F(sympy.acot, (1,), _operator("arccot"), lambda value: math.atan(1 / value) if value else math.pi / 2),
    "atan2": _F(sympy.atan2, (2,), _operator("atan2"), math.atan2),
    "sinh": _F(sympy.sinh, (1,), r"\sinh", math.sinh),
    "cosh": _F(sympy.cosh, (1,), r"\cosh", math.cosh),
    "tanh": _F(sympy.tanh, (1,), r"\tanh", math.tanh),
    "sech": _F(sympy.sech, (1,), _operator("sech"), lambda value: 1 / math.cosh(value)),
    "csch": _F(sympy.csch, (1,), _operator("csch"), lambda value: 1 / math.sinh(value)),
    "coth": _F(sympy.coth, (1,), r"\coth", lambda value: math.cosh(value) / math.sinh(value)),
    "asinh": _F(sympy.asinh, (1,), _operator("arsinh"), math.asinh),
    "acosh": _F(sympy.acosh, (1,), _operator("arcosh"), math.acosh),
    "atanh": _F(sympy.atanh, (1,), _operator("artanh"), math.atanh),
    "asech": _F(sympy.asech, (1,), _operator("arsech"), lambda value: math.acosh(1 / value)),
    "acsch": _F(sympy.acsch, (1,), _operator("arcsch"), lambda value: math.asinh(1 / value)),
    "acoth": _F(sympy.acoth, (1,), _operator("arcoth"), lambda value: math.atanh(1 / value)),
    "sigmoid": _F(_sigmoid, (1,), r"\sigma", lambda value: 1 / (1 + math.exp(-value))),
    "max": _F(sympy.Max, (2, 3, 4, 5, 6), r"\max", max),
    "min": _F(sympy.Min, (2, 3, 4, 5, 6), r"\min", min),
}
# Other spellings of the same functions: Maxima's and STACK's (signum, cosec, cosech), sympy's
# (Abs, ceiling, Max), LaTeX's and the textbooks' (arcsin, arsinh, tg, binom, Gamma).
_SYNONYMS = {
    "Abs": "abs", "sgn": "sign", "signum": "sign", "ceil": "ceiling", "binom": "binomial",
    "Gamma": "gamma", "Max": "max", "Min": "min", "cosec": "csc", "cotan": "cot", "tg": "tan",
    "ctg": "cot", "cosech": "csch",
}  # fmt: skip
for _synonym, _name in _SYNONYMS.items():
    FUNCTIONS[_synonym] = FUNCTIONS[_name]
# Every inverse under every prefix in use: asin, arcsin; asinh, arsinh (ISO 80000-2), arcsinh;
# and so for each spelling above (acosec, arccosec, arcosech, arccsch, arcctg...).
_INVERSE_PREFIXES = {
    **dict.fromkeys(("sin", "cos", "tan", "sec", "csc", "cot"), ("a", "arc")),
    **dict.fromkeys(("sinh", "cosh", "tanh", "sech", "csch", "coth"), ("a", "ar", "arc")),
}
for _forward, _prefixes in _INVERSE_PREFIXES.items():
    _spellings = [_forward, *(synonym for synonym, name in _SYNONYMS.items() if name == _forward)]
    for _prefix, _spelling in itertools.product(_prefixes, _spellings):
        FUNCTIONS.setdefault(_prefix + _spelling, FUNCTIONS["a" + _forward])
# Written log(x, b), lg(x, b) or logbase(x, b): typeset as log_b(x).
BASED_LOGARITHMS = frozenset({"log", "lg", "logbase"})
# Built-in names that are also Greek letters: a part may declare them as variables (gamma in
# a layer norm), and a name used alone, never called, is that variable.
LETTER_NAMES = frozenset(name for name in FUNCTIONS if name.lower() in greek_letters_set)
