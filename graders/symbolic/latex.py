"""The live preview: a validated answer as LaTeX, showing how it was read (2x as 2 \\cdot x)."""

from __future__ import annotations

import ast
import functools

import sympy

from graders.symbolic.functions import BASED_LOGARITHMS, FUNCTIONS
from graders.symbolic.parsing import MathSpec, ParsedAnswer, Resolved, parse


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
        typeset = [self.render(argument)[0] for argument in node.args]
        arguments = ", ".join(typeset)
        if kind == "function":
            return rf"{_symbol_latex(name)}\left({arguments}\right)"
        template = FUNCTIONS[name].latex
        if FUNCTIONS[name] is FUNCTIONS["factorial"]:
            return f"{self._wrapped(node.args[0], _ATOM)}!"
        if FUNCTIONS[name] is FUNCTIONS["root"]:
            degree = f"[{typeset[1]}]" if len(typeset) == 2 else ""
            return rf"\sqrt{degree}{{{typeset[0]}}}"
        if name in BASED_LOGARITHMS and len(typeset) == 2:
            return rf"\log_{{{typeset[1]}}}\left({typeset[0]}\right)"
        if "{0}" in template:
            return template.format(*typeset)
        return rf"{template}\left({arguments}\right)"


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
