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


def _written_operations(parsed: ParsedAnswer, spec: MathSpec) -> int:
    """The operations of the answer as written, counted as sympy counts them: the same for
    spellings that differ only in the order and sign of terms (-1 + y, y - 1), in how a
    coefficient or a reciprocal is written ((1/2)*x, x/2; x^(-1), 1/x)."""
    with sympy.evaluate(False):
        written = _flattened(to_sympy(parsed, spec))
    return sympy.count_ops(written)


def _flattened(expression: sympy.Basic) -> sympy.Basic:
    # a + b - c is one sum of three terms however it was bracketed, as sympy would hold it.
    if not expression.args:
        return expression
    arguments = [_flattened(argument) for argument in expression.args]
    if expression.is_Add or expression.is_Mul:
        pieces = []
        for argument in arguments:
            pieces.extend(argument.args if argument.func == expression.func else [argument])
        return expression.func(*pieces, evaluate=False)
    return expression.func(*arguments, evaluate=False) if arguments != list(expression.args) else expression


def _has_numbers_to_combine(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    """2*3, 4^(1/2), 2^10 (a number written as a computation), or a product with numbers left
    to multiply (2*x*3, x/2/3, 6(x + 1)/6, (1/2) x/3). A fraction p/q in lowest terms is one
    number, however the product around it is written: 2x/3, (2/3) x, 2 (x/3)."""

    def value(node: ast.AST) -> sympy.Rational | None:
        if not _is_number(node):
            return None
        number = to_sympy(ParsedAnswer(parsed.text, node, parsed.names), spec)
        return number if number.is_Rational else None

    def factors(node: ast.AST, numerator: list, denominator: list) -> None:
        if value(node) is not None:
            numerator.append(value(node))
        elif isinstance(node, ast.UnaryOp):
            factors(node.operand, numerator, denominator)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            factors(node.left, numerator, denominator)
            factors(node.right, numerator, denominator)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if not _is_literal(node.left, 1):
                factors(node.left, numerator, denominator)
            factors(node.right, denominator, numerator)

    for node in ast.walk(parsed.tree):
        if _is_number(node) and not isinstance(node, ast.Constant) and not _is_written_number(node):
            if value(node) is not None:
                return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div) and value(node) is None:
            numerator: list[sympy.Rational] = []
            denominator: list[sympy.Rational] = []
            factors(node, numerator, denominator)
            if len(numerator) > 1 or len(denominator) > 1:
                return True
            if numerator and denominator:
                top, bottom = numerator[0], denominator[0]
                if not (top.is_Integer and bottom.is_Integer) or sympy.gcd(top, bottom) != 1:
                    return True
    return False


def _is_written_number(node: ast.AST) -> bool:
    # 3, -3, 2/3 or -2/3 in lowest terms: a number as one writes it.
    if isinstance(node, ast.UnaryOp):
        return _is_written_number(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        top, bottom = node.left, node.right
        if isinstance(top, ast.UnaryOp):
            top = top.operand
        return (
            isinstance(top, ast.Constant)
            and isinstance(bottom, ast.Constant)
            and all(isinstance(side.value, int) for side in (top, bottom))
            and bottom.value > 1
            and sympy.gcd(top.value, bottom.value) == 1
        )
    return isinstance(node, ast.Constant)


def _is_literal(node: ast.AST, value: int) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _has_idle_operation(tree: ast.AST) -> bool:
    """x*1, x/1, x + 0, x - 0, x^1 or -(-x): an operation that does nothing, as written."""
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
                return True
        if not isinstance(node, ast.BinOp):
            continue
        if isinstance(node.op, ast.Mult) and (_is_literal(node.left, 1) or _is_literal(node.right, 1)):
            return True
        if isinstance(node.op, ast.Div | ast.Pow) and _is_literal(node.right, 1):
            return True
        if isinstance(node.op, ast.Add) and (_is_literal(node.left, 0) or _is_literal(node.right, 0)):
            return True
        if isinstance(node.op, ast.Sub) and _is_literal(node.right, 0):
            return True
    return False


def _literal_terms(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _literal_terms(node.left) + _literal_terms(node.right)
    return 1


def _is_simplified(parsed: ParsedAnswer, spec: MathSpec) -> bool:
    # Defined names stay names here: yhat_1 - 1 is simplified, even though it stands for a
    # longer expression of the logits. "Simplified" is kept narrow, so that a hint is never
    # a matter of taste: terms left to collect (x + x, x - 1 + 1), operations that do nothing
    # (x*1, x + 0, 2*3, -(1 - x)), or a form sympy can write in less than half the operations
    # ((x^2 - 1)/(x - 1), sin(x)^2 + cos(x)^2). x^2 + 2x + 1 and (x + 1)^2 are both simplified,
    # and so are -1 + x, (1/2) x and x^(-1): the order of terms and the spelling of a
    # coefficient or a reciprocal are taste.
    if _has_idle_operation(parsed.tree) or _has_numbers_to_combine(parsed, spec):
        return False
    evaluated = to_sympy(parsed, spec)
    if _literal_terms(parsed.tree) > len(sympy.Add.make_args(evaluated)):
        return False
    operations = sympy.count_ops(evaluated)
    if _written_operations(parsed, spec) > operations:
        return False
    return 2 * sympy.count_ops(sympy.simplify(evaluated)) >= operations
