"""Math answers: parsed through an AST allow-list, previewed as LaTeX, compared under a hard time limit."""

from __future__ import annotations

import ast
import atexit
import difflib
import functools
import itertools
import json
import math
import os
import random
import re
import select
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sympy

MAX_INPUT_LENGTH = 500
MAX_PARENTHESES_DEPTH = 20
MAX_TREE_DEPTH = 60
MAX_NUMBER_LENGTH = 40
# A numeric exponent above this is refused: 9^9^9 or x^(10^9) would stall sympy.
MAX_EXPONENT = 10_000
# Exact numbers with more digits than this (2^10000 has 3011) are refused.
MAX_DIGITS = 1000
DEFAULT_TIME_LIMIT = 3.0

ASSUMPTIONS: dict[str, dict[str, bool]] = {
    "real": {"real": True},
    "positive": {"positive": True},
    "nonnegative": {"nonnegative": True},
    "integer": {"integer": True},
}
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}


def _sigmoid(argument: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-argument))


# name -> (sympy builder, allowed argument counts, LaTeX command, float implementation)
BUILTIN_FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], tuple[int, ...], str, Callable[..., float]]] = {
    "exp": (sympy.exp, (1,), r"\exp", math.exp),
    "log": (sympy.log, (1, 2), r"\log", math.log),
    "ln": (sympy.log, (1,), r"\ln", math.log),
    "sqrt": (sympy.sqrt, (1,), r"\sqrt", math.sqrt),
    "sin": (sympy.sin, (1,), r"\sin", math.sin),
    "cos": (sympy.cos, (1,), r"\cos", math.cos),
    "tan": (sympy.tan, (1,), r"\tan", math.tan),
    "sinh": (sympy.sinh, (1,), r"\sinh", math.sinh),
    "cosh": (sympy.cosh, (1,), r"\cosh", math.cosh),
    "tanh": (sympy.tanh, (1,), r"\tanh", math.tanh),
    "asin": (sympy.asin, (1,), r"\arcsin", math.asin),
    "acos": (sympy.acos, (1,), r"\arccos", math.acos),
    "atan": (sympy.atan, (1,), r"\arctan", math.atan),
    "arcsin": (sympy.asin, (1,), r"\arcsin", math.asin),
    "arccos": (sympy.acos, (1,), r"\arccos", math.acos),
    "arctan": (sympy.atan, (1,), r"\arctan", math.atan),
    "abs": (sympy.Abs, (1,), "abs", abs),
    "sigmoid": (_sigmoid, (1,), r"\sigma", lambda value: 1 / (1 + math.exp(-value))),
    "max": (sympy.Max, (2, 3, 4, 5, 6), r"\max", max),
    "min": (sympy.Min, (2, 3, 4, 5, 6), r"\min", min),
}


class MathInputError(ValueError):
    """An answer (or an author's expression) that cannot be read; the message says why and what to do."""


@dataclass
class MathSpec:
    """What an answer may mention.

    `variables` maps a name to an assumption (see ASSUMPTIONS). `definitions` maps a name to
    an expression over the other names: an answer may use it, and it is replaced by its
    expression before comparing. `aliases` maps a declared name to other spellings a student
    may type; `z1`, `z_1`, `z_{1}` and `ŷ_1` for `yhat_1` are recognised without aliases.
    `functions` are undefined functions (f, g). With `allow_floats` false, decimals are refused.
    """

    variables: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)
    allow_floats: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    def declared_names(self) -> list[str]:
        return [*self.variables, *self.definitions, *self.functions]


# What a name in an answer stands for: (kind, canonical name). Kinds: variable, definition,
# function (declared, undefined), builtin, constant.
Resolved = tuple[str, str]


def _name_key(name: str) -> str:
    # z_1, z1 and z__1 are one name; so are y_hat_1 and yhat1.
    return name.replace("_", "")


def _lookup_table(spec: MathSpec) -> dict[str, Resolved]:
    table: dict[str, Resolved] = {}
    for kind, names in (
        ("variable", spec.variables),
        ("definition", spec.definitions),
        ("function", spec.functions),
    ):
        for name in names:
            table[_name_key(name)] = (kind, name)
            table[name] = (kind, name)
    for name, spellings in spec.aliases.items():
        target = table.get(name)
        if target is None:
            continue
        for spelling in spellings:
            table[spelling] = target
            table[_name_key(spelling)] = target
    return table


def spec_problems(spec: MathSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Mistakes in an author's spec, as (key path, message), e.g. (("definitions", "yhat_1"), "...")."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    identifier = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
    seen: dict[str, tuple[str, str]] = {}
    for section, names in (
        ("variables", spec.variables),
        ("definitions", spec.definitions),
        ("functions", spec.functions),
    ):
        for index, name in enumerate(names):
            path: tuple[str | int, ...] = (section, index) if section == "functions" else (section, name)
            if not isinstance(name, str) or not identifier.match(name):
                problems.append((path, f"`{name}` is not a name: use letters, digits and _"))
                continue
            if name in BUILTIN_FUNCTIONS or name in CONSTANTS:
                problems.append((path, f"`{name}` is a built-in name; choose another"))
            key = _name_key(name)
            if key in seen:
                problems.append((path, f"`{name}` clashes with `{seen[key][1]}` (underscores are ignored)"))
            seen[key] = (section, name)
    for name, spellings in spec.aliases.items():
        if _name_key(name) not in seen:
            problems.append(
                (("aliases", name), f"`{name}` is not a declared variable, definition or function")
            )
            continue
        if not isinstance(spellings, list) or not all(isinstance(spelling, str) for spelling in spellings):
            problems.append((("aliases", name), "aliases are a list of strings"))
            continue
        for index, spelling in enumerate(spellings):
            if not identifier.match(spelling):
                problems.append((("aliases", name, index), f"`{spelling}` is not a name"))
            elif _name_key(spelling) in seen and seen[_name_key(spelling)][1] != name:
                other = seen[_name_key(spelling)][1]
                problems.append((("aliases", name, index), f"`{spelling}` already means `{other}`"))
    if problems:
        # Names that are not names: parsing the definitions would only add noise.
        return problems
    for name, assumption in spec.variables.items():
        if assumption not in ASSUMPTIONS:
            choices = ", ".join(ASSUMPTIONS)
            problems.append((("variables", name), f"unknown assumption `{assumption}`; use one of {choices}"))
    for name, text in spec.definitions.items():
        try:
            parse(text, spec)
        except MathInputError as error:
            problems.append((("definitions", name), str(error)))
    if not problems and _definition_order(spec) is None:
        problems.append((("definitions",), "the definitions refer to each other in a circle"))
    return problems


# ---------------------------------------------------------------------------------------------
# Reading the text: normalise, tokenise, insert implicit products, then ast.parse.

_REPLACEMENTS = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash
    "\u00d7": "*",  # multiplication sign
    "·": "*",
    "⋅": "*",
    "\u2217": "*",  # asterisk operator
    "÷": "/",
    "π": "pi",
    "√": "sqrt",
    "\u00a0": " ",
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<comparison>==|!=|<=|>=|=|<|>)
      | (?P<operator>\*\*|[-+*/^(),])
    """,
    re.VERBOSE,
)


def _normalise(text: str) -> str:
    text = "".join(_REPLACEMENTS.get(character, character) for character in text)
    text = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda match: "^" + match.group().translate(_SUPERSCRIPTS), text)
    text = re.sub(r"[₀₁₂₃₄₅₆₇₈₉]+", lambda match: "_" + match.group().translate(_SUBSCRIPTS), text)
    # ŷ (precomposed or y + combining circumflex) is spelled yhat.
    text = unicodedata.normalize("NFD", text)
    text = re.sub("([A-Za-z])\u0302", r"\1hat", text)
    text = unicodedata.normalize("NFC", text)
    # z_{1} as in LaTeX.
    return re.sub(r"_\{(\w+)\}", r"_\1", text)


@dataclass
class _Token:
    kind: str  # number, name, operator
    text: str
    position: int  # in the normalised text


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            character = text[position]
            if character == ".":
                raise MathInputError("`.` is only allowed inside a number such as 0.5")
            raise MathInputError(f"`{character}` is not allowed in a math answer")
        kind = match.lastgroup or ""
        if kind == "comparison":
            raise MathInputError(
                f"`{match.group()}` is not allowed here: "
                "write only the expression, e.g. `x + 1`, not `y = x + 1`"
            )
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _unknown_name_message(name: str, table: dict[str, Resolved], spec: MathSpec) -> str:
    declared = spec.declared_names()
    message = f"unknown name `{name}`"
    # A product written without a sign: xy for x*y.
    split = _split_into_names(name, table)
    if split:
        return f"{message}; did you mean {'*'.join(split)}?"
    close = difflib.get_close_matches(name, [*declared, *BUILTIN_FUNCTIONS, *CONSTANTS], n=1, cutoff=0.75)
    if close:
        return f"{message}; did you mean {close[0]}?"
    if declared:
        return f"{message}; you can use {', '.join(declared)}"
    return f"{message}; this answer has no variables"


def _split_into_names(name: str, table: dict[str, Resolved]) -> list[str] | None:
    # Shortest split of `name` into declared names and constants, by dynamic programming.
    known = {spelling for spelling, resolved in table.items() if resolved[0] in ("variable", "definition")}
    known |= set(CONSTANTS)
    best: list[list[str] | None] = [None] * (len(name) + 1)
    best[0] = []
    for end in range(1, len(name) + 1):
        for start in range(end):
            previous = best[start]
            if previous is not None and name[start:end] in known:
                candidate = [*previous, name[start:end]]
                if best[end] is None or len(candidate) < len(best[end] or []):
                    best[end] = candidate
    result = best[len(name)]
    return result if result and len(result) > 1 else None


@dataclass
class ParsedAnswer:
    """A validated expression: its AST uses placeholder names n0, n1... listed in `names`."""

    text: str
    tree: ast.expr
    names: dict[str, Resolved]


def parse(text: str, spec: MathSpec) -> ParsedAnswer:
    """Read `text` as a math expression allowed by `spec`, or raise MathInputError saying why."""
    if not isinstance(text, str):
        raise MathInputError("the answer must be text")
    if len(text) > MAX_INPUT_LENGTH:
        raise MathInputError(
            f"the answer is too long ({len(text)} characters; the limit is {MAX_INPUT_LENGTH})"
        )
    normalised = _normalise(text).strip()
    if not normalised:
        raise MathInputError("the answer is empty")
    tokens = _tokenise(normalised)
    table = _lookup_table(spec)
    pieces: list[str] = []
    names: dict[str, Resolved] = {}
    placeholders: dict[Resolved, str] = {}
    depth = 0
    previous: _Token | None = None
    previous_resolved: Resolved | None = None
    for index, token in enumerate(tokens):
        resolved: Resolved | None = None
        if token.kind == "name":
            resolved = _resolve(token.text, table, spec)
        if token.kind == "number" and len(token.text) > MAX_NUMBER_LENGTH:
            raise MathInputError(f"the number `{token.text[:12]}...` is too long")
        if token.kind == "number" and not spec.allow_floats and re.search(r"[.eE]", token.text):
            raise MathInputError(
                f"decimal numbers like `{token.text}` are not accepted here; "
                "write an exact value such as 1/2 or sqrt(2)"
            )
        starts_operand = token.kind in ("number", "name") or token.text == "("
        if previous is not None and starts_operand:
            ends_operand = previous.kind == "number" or previous.text == ")"
            if (
                previous.kind == "name"
                and previous_resolved
                and previous_resolved[0] not in ("builtin", "function")
            ):
                ends_operand = True
            if previous.kind == "number" and token.kind == "number":
                raise MathInputError(
                    f"two numbers in a row: `{previous.text} {token.text}`; is an operator missing?"
                )
            if ends_operand:
                pieces.append("*")
        if resolved and resolved[0] in ("builtin", "function"):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is None or following.text != "(":
                raise MathInputError(
                    f"`{token.text}` is a function: write it with parentheses, e.g. {token.text}(x)"
                )
        if token.text == "(":
            depth += 1
            if depth > MAX_PARENTHESES_DEPTH:
                raise MathInputError(f"too many nested parentheses (the limit is {MAX_PARENTHESES_DEPTH})")
        elif token.text == ")":
            depth -= 1
            if depth < 0:
                raise MathInputError("unbalanced parentheses: a `)` has no matching `(`")
        if resolved is not None:
            placeholder = placeholders.setdefault(resolved, f"n{len(placeholders)}")
            names[placeholder] = resolved
            pieces.append(placeholder)
        elif token.text == "^":
            pieces.append("**")
        else:
            pieces.append(token.text)
        previous, previous_resolved = token, resolved
    if depth > 0:
        raise MathInputError("unbalanced parentheses: a `(` is never closed")
    source = " ".join(pieces)
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise MathInputError(_syntax_message(tokens)) from None
    _Validator(names, spec).check(tree)
    return ParsedAnswer(text=text, tree=tree, names=names)


def _resolve(name: str, table: dict[str, Resolved], spec: MathSpec) -> Resolved:
    if name in table:
        return table[name]
    if _name_key(name) in table:
        return table[_name_key(name)]
    if name in BUILTIN_FUNCTIONS:
        return ("builtin", name)
    if name in CONSTANTS:
        return ("constant", name)
    raise MathInputError(_unknown_name_message(name, table, spec))


def _syntax_message(tokens: list[_Token]) -> str:
    binary = {"*", "/", "^", "**"}
    if tokens[-1].text in {*binary, "+", "-", ","}:
        return f"the expression ends with `{tokens[-1].text}`: something is missing after it"
    if tokens[0].text in {*binary, ","}:
        return f"the expression starts with `{tokens[0].text}`: something is missing before it"
    for first, second in itertools.pairwise(tokens):
        if first.text in {*binary, "+", "-", "(", ","} and second.text in {*binary, ")", ","}:
            return f"`{first.text}` followed by `{second.text}`: something is missing between them"
    return "this is not a complete expression; check the operators and parentheses"


_REFUSED_NODES = {
    ast.Compare: "comparisons are not allowed here",
    ast.BoolOp: "`and` / `or` are not allowed here",
    ast.Tuple: "a list of values like (a, b) is not an expression; commas only separate function arguments",
    ast.Attribute: "`.` is only allowed inside a number",
    ast.Subscript: "square brackets are not allowed",
    ast.Lambda: "`lambda` is not allowed",
}


class _Validator:
    """Walks the AST allowing only numbers, known names, + - * / ** and calls of known functions.

    It also bounds numeric powers by estimating them in floating point before any exact
    arithmetic happens, so 9^9^9^9 is refused in microseconds.
    """

    def __init__(self, names: dict[str, Resolved], spec: MathSpec) -> None:
        self.names = names
        self.spec = spec

    def check(self, tree: ast.expr) -> None:
        self._visit(tree, 0)

    # Returns (value, log10 of |value|) for constant subtrees, None otherwise.
    def _visit(self, node: ast.AST, depth: int) -> tuple[float, float] | None:
        if depth > MAX_TREE_DEPTH:
            raise MathInputError(
                f"the expression is nested too deeply (the limit is {MAX_TREE_DEPTH} levels)"
            )
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            kind, name = self.names[node.id]
            if kind == "constant":
                value = float(CONSTANTS[name])
                return value, math.log10(value)
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._visit(node.operand, depth + 1)
            if operand is None:
                return None
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return sign * operand[0], operand[1]
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow
        ):
            left = self._visit(node.left, depth + 1)
            right = self._visit(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                return self._power(left, right)
            if left is None or right is None:
                return None
            return _estimate(node.op, left, right)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        for node_type, message in _REFUSED_NODES.items():
            if isinstance(node, node_type):
                raise MathInputError(message)
        raise MathInputError("this kind of expression is not allowed in a math answer")

    def _constant(self, node: ast.Constant) -> tuple[float, float]:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise MathInputError("only numbers and names are allowed")
        value = float(node.value)
        if not math.isfinite(value) or abs(value) > 1e300:
            raise MathInputError("a number in this answer is too large")
        return value, math.log10(abs(value)) if value else -math.inf

    def _power(
        self, base: tuple[float, float] | None, exponent: tuple[float, float] | None
    ) -> tuple[float, float] | None:
        if exponent is not None and not abs(exponent[0]) <= MAX_EXPONENT:
            raise MathInputError(f"an exponent is too large (the limit is {MAX_EXPONENT})")
        if base is None or exponent is None:
            return None
        digits = abs(exponent[0] * base[1])
        if not digits <= MAX_DIGITS:
            raise MathInputError(f"a number in this answer is too large (more than {MAX_DIGITS} digits)")
        try:
            value = math.pow(base[0], exponent[0])
        except (OverflowError, ValueError):
            value = math.inf
        return value, exponent[0] * base[1]

    def _call(self, node: ast.Call, depth: int) -> None:
        if not isinstance(node.func, ast.Name) or self.names[node.func.id][0] not in ("builtin", "function"):
            raise MathInputError("only named functions such as exp(x) can be called")
        kind, name = self.names[node.func.id]
        if node.keywords or any(isinstance(argument, ast.Starred) for argument in node.args):
            raise MathInputError(f"`{name}` takes plain arguments")
        if kind == "builtin":
            arities = BUILTIN_FUNCTIONS[name][1]
            if len(node.args) not in arities:
                expected = " or ".join(str(count) for count in arities[:2])
                if len(arities) > 2:
                    expected = f"{arities[0]} to {arities[-1]}"
                raise MathInputError(f"`{name}` takes {expected} argument(s), not {len(node.args)}")
        elif not node.args:
            raise MathInputError(f"`{name}` needs an argument")
        for argument in node.args:
            self._visit(argument, depth + 1)
        # Function values are never folded: exp(1000) stays exp(1000).
        return None


def _estimate(
    operator: ast.operator, left: tuple[float, float], right: tuple[float, float]
) -> tuple[float, float]:
    # (value, log10 |value|) of a constant sum, difference, product or quotient; an upper
    # bound on the magnitude is enough to refuse huge powers of it.
    if isinstance(operator, ast.Mult):
        return left[0] * right[0], left[1] + right[1]
    if isinstance(operator, ast.Div):
        return (left[0] / right[0] if right[0] else math.inf), left[1] - right[1]
    value = left[0] + right[0] if isinstance(operator, ast.Add) else left[0] - right[0]
    return value, max(left[1], right[1]) + math.log10(2)


# ---------------------------------------------------------------------------------------------
# From a validated tree: LaTeX for the preview, sympy for comparing, a float for numeric answers.


def interpret(text: str, spec: MathSpec) -> str:
    """LaTeX of the answer exactly as it was read (2x shown as 2 \\cdot x); raises MathInputError."""
    return to_latex(parse(text, spec))


def to_latex(parsed: ParsedAnswer) -> str:
    return _Latex(parsed.names).render(parsed.tree)[0]


# Precedences for deciding where the preview needs parentheses.
_SUM, _NEGATION, _PRODUCT, _POWER, _ATOM = 1, 2, 3, 4, 5


class _Latex:
    def __init__(self, names: dict[str, Resolved]) -> None:
        self.names = names

    def _wrapped(self, node: ast.AST, minimum: int) -> str:
        text, precedence = self.render(node)
        return rf"\left({text}\right)" if precedence < minimum else text

    def render(self, node: ast.AST) -> tuple[str, int]:
        if isinstance(node, ast.Constant):
            return _number_latex(node.value), _ATOM
        if isinstance(node, ast.Name):
            kind, name = self.names[node.id]
            if kind == "constant":
                return (r"\pi" if name == "pi" else "e"), _ATOM
            return _symbol_latex(name), _ATOM
        if isinstance(node, ast.UnaryOp):
            operand = self._wrapped(node.operand, _POWER if isinstance(node.op, ast.USub) else _ATOM)
            return (f"- {operand}" if isinstance(node.op, ast.USub) else operand), _NEGATION
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        return self._call(node), _ATOM

    def _binary(self, node: ast.BinOp) -> tuple[str, int]:
        if isinstance(node.op, ast.Div):
            # A fraction reads as one block, except as the base of a power.
            return rf"\frac{{{self.render(node.left)[0]}}}{{{self.render(node.right)[0]}}}", _POWER
        if isinstance(node.op, ast.Pow):
            return f"{self._wrapped(node.left, _ATOM)}^{{{self.render(node.right)[0]}}}", _POWER
        if isinstance(node.op, ast.Mult):
            return (
                rf"{self._wrapped(node.left, _NEGATION)} \cdot {self._wrapped(node.right, _POWER)}",
                _PRODUCT,
            )
        sign = "+" if isinstance(node.op, ast.Add) else "-"
        return f"{self.render(node.left)[0]} {sign} {self._wrapped(node.right, _PRODUCT)}", _SUM

    def _call(self, node: ast.Call) -> str:
        assert isinstance(node.func, ast.Name)
        kind, name = self.names[node.func.id]
        arguments = ", ".join(self.render(argument)[0] for argument in node.args)
        if kind == "function":
            return rf"{_symbol_latex(name)}\left({arguments}\right)"
        command = BUILTIN_FUNCTIONS[name][2]
        if name == "sqrt":
            return rf"\sqrt{{{arguments}}}"
        if name == "abs":
            return rf"\left|{arguments}\right|"
        if name == "exp":
            return rf"e^{{{arguments}}}"
        return rf"{command}\left({arguments}\right)"


@functools.lru_cache(maxsize=1024)
def _symbol_latex(name: str) -> str:
    # sympy spells yhat_1 as \hat{y}_{1} and lambda as \lambda.
    return sympy.latex(sympy.Symbol(name))


def _number_latex(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


def _symbols(spec: MathSpec) -> dict[str, sympy.Symbol]:
    symbols = {
        name: sympy.Symbol(name, **ASSUMPTIONS[assumption]) for name, assumption in spec.variables.items()
    }
    symbols.update({name: sympy.Symbol(name) for name in spec.definitions})
    return symbols


def to_sympy(parsed: ParsedAnswer, spec: MathSpec) -> sympy.Expr:
    """The sympy expression of a validated answer (defined names stay as symbols)."""
    symbols = _symbols(spec)

    def build(node: ast.AST) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            text = repr(node.value)
            return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Rational(text)
        if isinstance(node, ast.Name):
            kind, name = parsed.names[node.id]
            return CONSTANTS[name] if kind == "constant" else symbols[name]
        if isinstance(node, ast.UnaryOp):
            operand = build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left, right = build(node.left), build(node.right)
            operations = {
                ast.Add: lambda: left + right,
                ast.Sub: lambda: left - right,
                ast.Mult: lambda: left * right,
                ast.Div: lambda: left / right,
                ast.Pow: lambda: left**right,
            }
            return operations[type(node.op)]()
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        kind, name = parsed.names[node.func.id]
        arguments = [build(argument) for argument in node.args]
        if kind == "function":
            return sympy.Function(name)(*arguments)
        return BUILTIN_FUNCTIONS[name][0](*arguments)

    return build(parsed.tree)


def to_float(parsed: ParsedAnswer) -> float:
    """The value of an answer without variables, in floating point (bounded time: no exact arithmetic)."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            kind, name = parsed.names[node.id]
            if kind != "constant":
                raise MathInputError(f"`{name}` is not a number: this answer must be a number")
            return float(CONSTANTS[name])
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
            return math.pow(left, right)
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        kind, name = parsed.names[node.func.id]
        if kind != "builtin":
            raise MathInputError(f"`{name}` is not a known function: this answer must be a number")
        return float(BUILTIN_FUNCTIONS[name][3](*(value(argument) for argument in node.args)))

    try:
        result = value(parsed.tree)
    except ZeroDivisionError:
        raise MathInputError("this answer divides by zero") from None
    except (ValueError, OverflowError):
        raise MathInputError("this answer has no finite real value (e.g. log of a negative number)") from None
    if not math.isfinite(result):
        raise MathInputError("this answer has no finite value")
    return result


def _definition_order(spec: MathSpec) -> list[str] | None:
    # Definitions in an order where each one only uses those before it; None if circular.
    uses: dict[str, set[str]] = {}
    for name, text in spec.definitions.items():
        parsed = parse(text, spec)
        uses[name] = {resolved[1] for resolved in parsed.names.values() if resolved[0] == "definition"}
    order: list[str] = []
    while len(order) < len(uses):
        ready = [name for name in uses if name not in order and uses[name] <= set(order)]
        if not ready:
            return None
        order.extend(ready)
    return order


def expand_definitions(expression: sympy.Expr, spec: MathSpec) -> sympy.Expr:
    """Replaces every defined name by its expression (definitions may use earlier definitions)."""
    order = _definition_order(spec)
    if order is None:
        raise MathInputError("the definitions refer to each other in a circle")
    symbols = _symbols(spec)
    for name in reversed(order):
        replacement = to_sympy(parse(spec.definitions[name], spec), spec)
        expression = expression.xreplace({symbols[name]: replacement})
    return expression


# ---------------------------------------------------------------------------------------------
# Equivalence: decided in a worker process that is killed when it runs out of time.

UNCHECKED_MESSAGE = "Your answer could not be checked; try a simpler form."


@dataclass
class Equivalence:
    """Whether an answer equals a reference. `equivalent` is None when it could not be decided."""

    equivalent: bool | None
    # How it was decided: identical, numeric, simplify, equals, timeout, undecided, invalid.
    method: str
    interpreted_as: str = ""
    message: str = ""


def _sample_value(assumption: str, generator: random.Random) -> sympy.Expr:
    if assumption == "integer":
        return sympy.Integer(generator.choice([-5, -4, -3, -2, 2, 3, 4, 5]))
    if assumption in ("positive", "nonnegative"):
        return sympy.Float(generator.uniform(0.1, 3.0), 30)
    return sympy.Float(generator.choice([-1, 1]) * generator.uniform(0.1, 2.5), 30)


def _numeric_verdict(student: sympy.Expr, reference: sympy.Expr, spec: MathSpec, seed: int) -> str:
    """ "different", "agree" or "unknown", from the values at random points allowed by the assumptions."""
    generator = random.Random(seed)  # noqa: S311 - sample points, not secrets
    symbols = sorted(student.free_symbols | reference.free_symbols, key=lambda symbol: symbol.name)
    agreeing = 0
    for _ in range(16):
        point = {
            symbol: _sample_value(spec.variables.get(symbol.name, "real"), generator) for symbol in symbols
        }
        values = []
        for expression in (student, reference):
            value = expression.evalf(30, subs=point)
            if not value.is_number or value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                break
            values.append(complex(value))
        if len(values) < 2:
            continue
        difference = abs(values[0] - values[1])
        if difference > 1e-10 * max(1.0, abs(values[0]), abs(values[1])):
            return "different"
        agreeing += 1
        if agreeing == 8:
            return "agree"
    return "unknown"


def decide_equivalence(
    student_text: str, reference_text: str, spec: MathSpec, seed: int = 0
) -> tuple[bool | None, str]:
    """(equivalent, method) with no time limit: run it through `compare`, which has one."""
    student = expand_definitions(to_sympy(parse(student_text, spec), spec), spec)
    reference = expand_definitions(to_sympy(parse(reference_text, spec), spec), spec)
    difference = student - reference
    if difference == 0:
        return True, "identical"
    numeric = _numeric_verdict(student, reference, spec, seed)
    if numeric == "different":
        return False, "numeric"
    if sympy.simplify(difference) == 0:
        return True, "simplify"
    decided = difference.equals(0)
    if decided is not None:
        return bool(decided), "equals"
    if numeric == "agree":
        return True, "numeric"
    return None, "undecided"


# The worker limits its own memory so that an exploding simplification fails there, not here.
WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_START_TIMEOUT = 30.0


class EquivalenceWorker:
    """A child Python process that decides equivalences one at a time, killed if it is too slow.

    sympy can run for minutes inside one call, and a thread cannot be stopped; killing a
    process is the only limit that always holds. The child is started once and reused; after
    a kill a new one is started straight away so that the next check finds it warm.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._ready = False
        self._buffer = b""
        self._lock = threading.Lock()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "graders.symbolic"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            close_fds=True,
        )
        self._owner_pid = os.getpid()
        self._ready = False
        self._buffer = b""

    def _read_line(self, timeout: float) -> bytes | None:
        assert self._process is not None
        assert self._process.stdout is not None
        deadline = time.monotonic() + timeout
        descriptor = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([descriptor], [], [], remaining)
            if readable:
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    return b""
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ensure_ready(self) -> None:
        # A process inherited through fork belongs to the parent: start our own.
        if self._process is None or self._process.poll() is not None or self._owner_pid != os.getpid():
            self._start()
        if not self._ready:
            if self._read_line(WORKER_START_TIMEOUT) != b'{"ready": true}':
                self.stop()
                raise RuntimeError("the equivalence worker did not start")
            self._ready = True

    def request(self, payload: dict, time_limit: float) -> dict | None:
        """The worker's answer to `payload`, or None if it took longer than `time_limit` seconds."""
        with self._lock:
            self._ensure_ready()
            assert self._process is not None
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(payload).encode() + b"\n")
            self._process.stdin.flush()
            line = self._read_line(time_limit)
            if line:
                return json.loads(line)
            # Too slow (or it died): kill it, and start the next one now so that it is warm.
            self.stop()
            self._start()
            return None

    def stop(self) -> None:
        if self._process is not None and self._owner_pid == os.getpid():
            self._process.kill()
            self._process.wait()
        self._process = None


_worker = EquivalenceWorker()
atexit.register(_worker.stop)


def compare(
    student_text: str, reference_text: str, spec: MathSpec, *, time_limit: float = DEFAULT_TIME_LIMIT
) -> Equivalence:
    """Is the student's answer equal to the reference for every value the assumptions allow?

    An unreadable answer is not equivalent (method "invalid", message says why). An unreadable
    reference raises MathInputError: that is the author's mistake. Running out of time or
    undecidable gives equivalent=None with UNCHECKED_MESSAGE.
    """
    parse(reference_text, spec)
    try:
        interpreted_as = interpret(student_text, spec)
    except MathInputError as error:
        return Equivalence(False, "invalid", message=str(error))
    response = _worker.request(
        {"student": student_text, "reference": reference_text, "spec": spec.to_dict()}, time_limit
    )
    if response is None:
        return Equivalence(None, "timeout", interpreted_as, UNCHECKED_MESSAGE)
    if response["equivalent"] is None:
        return Equivalence(None, response["method"], interpreted_as, UNCHECKED_MESSAGE)
    return Equivalence(response["equivalent"], response["method"], interpreted_as)


def _serve() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    print('{"ready": true}', flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            equivalent, method = decide_equivalence(
                request["student"], request["reference"], MathSpec(**request["spec"])
            )
        except Exception:
            # Whatever sympy raises on an odd expression, the answer is "could not decide".
            equivalent, method = None, "undecided"
        print(json.dumps({"equivalent": equivalent, "method": method}), flush=True)


# ---------------------------------------------------------------------------------------------
# Batch checking of answer files: one JSON object per line.

_BATCH_KEYS = {"id", "student", "reference", "variables", "assumptions", "expected"}


def check_answer_record(record: dict, *, time_limit: float = DEFAULT_TIME_LIMIT) -> dict:
    """Checks one {"student", "reference", "variables"?, "assumptions"?, "id"?, "expected"?} record.

    Without `variables`, every name in either expression that is not a known function or
    constant is a variable. `assumptions` is "real" (default) or "positive", for all variables.
    With `expected` (true, false or null) the result says whether the outcome matched.
    Raises ValueError for a malformed record.
    """
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(record) - _BATCH_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_BATCH_KEYS))}")
    for key in ("student", "reference"):
        if not isinstance(record.get(key), str):
            raise ValueError(f"`{key}` must be a string")
    assumption = record.get("assumptions", "real")
    if assumption not in ("real", "positive"):
        raise ValueError('`assumptions` must be "real" or "positive"')
    names = record.get("variables")
    if names is None:
        names = _names_in(record["student"]) | _names_in(record["reference"])
    elif not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("`variables` must be a list of names")
    spec = MathSpec(variables=dict.fromkeys(sorted(names), assumption))
    problems = spec_problems(spec)
    if problems:
        raise ValueError(f"variables: {problems[0][1]}")
    try:
        outcome = compare(record["student"], record["reference"], spec, time_limit=time_limit)
    except MathInputError as error:
        raise ValueError(f"reference: {error}") from None
    result: dict = {} if "id" not in record else {"id": record["id"]}
    result.update(
        equivalent=outcome.equivalent,
        interpreted_as=outcome.interpreted_as,
        message=outcome.message,
        method=outcome.method,
    )
    if "expected" in record:
        if record["expected"] not in (True, False, None):
            raise ValueError("`expected` must be true, false or null")
        result["as_expected"] = outcome.equivalent == record["expected"]
    return result


def _names_in(text: str) -> set[str]:
    try:
        tokens = _tokenise(_normalise(text))
    except MathInputError:
        return set()
    return {
        token.text
        for token in tokens
        if token.kind == "name" and token.text not in {*BUILTIN_FUNCTIONS, *CONSTANTS}
    }


def check_answers_jsonl(lines: Iterable[str], *, time_limit: float = DEFAULT_TIME_LIMIT) -> Iterator[dict]:
    """One result per non-blank line, with its line number; a malformed line gives {"line", "error"}."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield {"line": number, **check_answer_record(record, time_limit=time_limit)}
        except json.JSONDecodeError as error:
            yield {"line": number, "error": f"not valid JSON: {error.msg} (column {error.colno})"}
        except ValueError as error:
            yield {"line": number, "error": str(error)}


if __name__ == "__main__":
    _serve()
