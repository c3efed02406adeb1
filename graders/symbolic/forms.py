"""Form checks on an answer already found right: expanded, factored, simplified, without decimals.

They read the answer as the student wrote it (the syntax tree), since sympy's own evaluation
already multiplies 2*(x+1) out. A form check never turns a right value into "wrong": it
gives a hint, and the part decides how much credit the form is worth.
"""

from __future__ import annotations

import ast

import sympy

from graders.symbolic.conversion import to_sympy
from graders.symbolic.parsing import MathSpec, ParsedAnswer

FORMS = ("expanded", "factored", "simplified", "no_decimals")

HINTS = {
    "expanded": "Now expand it: multiply out every bracket.",
    "factored": "Now factor it completely.",
    "simplified": "It can be simplified further.",
    "no_decimals": "Write it without decimals (as fractions such as 1/2, or sqrt(2), pi).",
}


def form_problems(parsed: ParsedAnswer, spec: MathSpec, forms: list[str]) -> list[str]:
    """The forms in `forms` that the answer is not in (in the order given); sympy is used, bound its time."""
    checks = {
        "expanded": _is_expanded,
        "factored": _is_factored,
        "simplified": _is_simplified,
        "no_decimals": _has_no_decimals,
    }
    return [form for form in forms if not checks[form](parsed, spec)]


def _is_sum(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _is_sum(node.operand)
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)


def _is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    return isinstance(node, ast.Constant)


def _has_no_decimals(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    return not any(isinstance(node, ast.Constant) and isinstance(node.value, float) for node in ast.walk(parsed.tree))


def _is_expanded(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    # Like sympy's expand: no product of a sum, no whole power of a sum, no sum over a number.
    for node in ast.walk(parsed.tree):
        if not isinstance(node, ast.BinOp):
            continue
        if isinstance(node.op, ast.Mult) and (_is_sum(node.left) or _is_sum(node.right)):
            return False
        if isinstance(node.op, ast.Pow) and _is_sum(node.left):
            exponent = node.right
            if isinstance(exponent, ast.Constant) and isinstance(exponent.value, int) and exponent.value >= 2:
                return False
        if isinstance(node.op, ast.Div) and _is_sum(node.left) and _is_number(node.right):
            return False
    return True


def _factors(node: ast.AST) -> list[ast.AST]:
    """The multiplicative pieces of a product as written: 2(x+1)^2/(x-1) gives 2, x+1, x-1."""
    if isinstance(node, ast.UnaryOp):
        return _factors(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        return [*_factors(node.left), *_factors(node.right)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        if isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
            return _factors(node.left)
    return [node]


def _is_factored(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    # Each polynomial factor as written is irreducible over the rationals, with no number left
    # to take out of it: (2x+2)(x-1) and (x^2-1)(x+2) are not factored, 2(x+1)(x-1) is.
    for factor in _factors(parsed.tree):
        if _is_number(factor):
            continue
        expression = to_sympy(ParsedAnswer(parsed.text, factor, parsed.names), spec)
        symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
        if not symbols:
            continue
        try:
            polynomial = sympy.Poly(expression, *symbols)
        except sympy.PolynomialError:
            continue
        if polynomial.total_degree() < 1 or not (polynomial.domain.is_QQ or polynomial.domain.is_ZZ):
            continue
        content, pieces = sympy.factor_list(polynomial.as_expr(), *symbols)
        # A whole number left inside (2x + 2) is not factored out; a fraction (x/2 + 1) may stay.
        if (content.is_Integer and abs(content) != 1) or len(pieces) != 1 or pieces[0][1] != 1:
            return False
    return True


def _literal_operations(node: ast.AST) -> int:
    # Counted as sympy.count_ops counts: one per operator and per function applied.
    count = 0
    for child in ast.walk(node):
        if isinstance(child, ast.BinOp | ast.Call):
            count += 1
        elif isinstance(child, ast.UnaryOp) and isinstance(child.op, ast.USub):
            count += 1
    return count


def _literal_terms(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _literal_terms(node.left) + _literal_terms(node.right)
    return 1


def _is_simplified(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    # Defined names stay names here: yhat_1 - 1 is simplified, even though it stands for a
    # longer expression of the logits. "Simplified" is kept narrow, so that a hint is never
    # a matter of taste: terms left to collect (x + x, x - 1 + 1), operations that do nothing
    # (x*1, x + 0, 2*3), or a form sympy can write in less than half the operations
    # ((x^2 - 1)/(x - 1), sin(x)^2 + cos(x)^2). x^2 + 2x + 1 and (x + 1)^2 are both simplified.
    evaluated = to_sympy(parsed, spec)
    if _literal_terms(parsed.tree) > len(sympy.Add.make_args(evaluated)):
        return False
    operations = sympy.count_ops(evaluated)
    if _literal_operations(parsed.tree) > operations:
        return False
    return 2 * sympy.count_ops(sympy.simplify(evaluated)) >= operations
