"""From a validated answer to a sympy expression or, for numeric answers, a float."""

from __future__ import annotations

import ast
import math

import sympy

from graders.symbolic.functions import FUNCTIONS
from graders.symbolic.parsing import (
    ASSUMPTIONS,
    CONSTANTS,
    MathInputError,
    MathSpec,
    ParsedAnswer,
    definition_order,
    parse,
)


def symbols_of(spec: MathSpec) -> dict[str, sympy.Symbol]:
    """The sympy symbol of every declared variable (with its assumption) and defined name."""
    symbols = {
        name: sympy.Symbol(name, **ASSUMPTIONS[assumption]) for name, assumption in spec.variables.items()
    }
    symbols.update({name: sympy.Symbol(name) for name in spec.definitions})
    return symbols


def to_sympy(parsed: ParsedAnswer, spec: MathSpec) -> sympy.Expr:
    """The sympy expression of a validated answer (defined names stay as symbols).

    Decimals follow `spec.floats`: the exact number they write, or (machine) a binary64
    float that sympy then computes with at that precision, as a calculator would.
    """
    symbols = symbols_of(spec)
    machine = spec.floats == "machine"

    def build(node: ast.AST) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int):
                return sympy.Integer(node.value)
            return sympy.Float(node.value, 15) if machine else sympy.Rational(repr(node.value))
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
        return FUNCTIONS[name].build(*arguments)

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
        return float(FUNCTIONS[name].compute(*(value(argument) for argument in node.args)))

    try:
        result = value(parsed.tree)
    except ZeroDivisionError:
        raise MathInputError("this answer divides by zero") from None
    except (ValueError, OverflowError):
        raise MathInputError("this answer has no finite real value (e.g. log of a negative number)") from None
    if not math.isfinite(result):
        raise MathInputError("this answer has no finite value")
    return result


def expand_definitions(expression: sympy.Expr, spec: MathSpec) -> sympy.Expr:
    """Replaces every defined name by its expression (definitions may use earlier definitions)."""
    order = definition_order(spec)
    if order is None:
        raise MathInputError("the definitions refer to each other in a circle")
    symbols = symbols_of(spec)
    for name in reversed(order):
        replacement = to_sympy(parse(spec.definitions[name], spec), spec)
        expression = expression.xreplace({symbols[name]: replacement})
    return expression
