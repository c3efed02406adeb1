"""Reading math answers: normalise, tokenise, insert implicit products, ast.parse, allow-list walk."""

from __future__ import annotations

import ast
import difflib
import itertools
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field

import sympy

from graders.symbolic.functions import FUNCTIONS, LETTER_NAMES

MAX_INPUT_LENGTH = 500
MAX_PARENTHESES_DEPTH = 20
MAX_TREE_DEPTH = 60
MAX_NUMBER_LENGTH = 40
# A numeric exponent above this is refused: 9^9^9 or x^(10^9) would stall sympy.
MAX_EXPONENT = 10_000
# Exact numbers with more digits than this (2^10000 has 3011) are refused.
MAX_DIGITS = 1000


ASSUMPTIONS: dict[str, dict[str, bool]] = {
    "real": {"real": True},
    "positive": {"positive": True},
    "negative": {"negative": True},
    "nonnegative": {"nonnegative": True},
    "nonzero": {"real": True, "nonzero": True},
    "integer": {"integer": True},
    "natural": {"integer": True, "positive": True},
}
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
# A decimal in an answer is read as the exact number it writes ("exact", 0.1 = 1/10), refused
# ("refuse": give an exact answer), or as a binary64 float computed as a calculator or a CAS
# computes ("machine": 0.1 + 0.2 is not 0.3, 4.52*10^2 is 451.99999999999994).
FLOAT_POLICIES = ("exact", "refuse", "machine")
BUILTIN_FUNCTIONS = FUNCTIONS


class MathInputError(ValueError):
    """An answer (or an author's expression) that cannot be read; the message says why and what to do."""


@dataclass
class MathSpec:
    """What an answer may mention.

    `variables` maps a name to an assumption (see ASSUMPTIONS). `definitions` maps a name to
    an expression over the other names: an answer may use it, and it is replaced by its
    expression before comparing. `aliases` maps a declared name to other spellings a student
    may type; `z1`, `z_1`, `z_{1}` and `ŷ_1` for `yhat_1` are recognised without aliases.
    `functions` are undefined functions (f, g). `floats` is one of FLOAT_POLICIES;
    `allow_floats = False` is the older spelling of `floats = "refuse"`. `exact_names` reads
    every name exactly as spelled (x1 and x_1 are two names): for answers checked against names
    nobody declared, where the spelling is all there is to tell a name by.
    """

    variables: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)
    allow_floats: bool = True
    floats: str = "exact"
    exact_names: bool = False

    def __post_init__(self) -> None:
        if not self.allow_floats:
            self.floats = "refuse"
        self.allow_floats = self.floats != "refuse"

    def to_dict(self) -> dict:
        return asdict(self)

    def declared_names(self) -> list[str]:
        return [*self.variables, *self.definitions, *self.functions]


# What a name in an answer stands for: (kind, canonical name). Kinds: variable, definition,
# function (declared, undefined), builtin, constant.
Resolved = tuple[str, str]


def name_key(name: str) -> str:
    """What two spellings of one name share: z_1, z1 and z__1 are one name; so are y_hat_1 and yhat1."""
    return name.replace("_", "")


def _lookup_table(spec: MathSpec) -> dict[str, Resolved]:
    table: dict[str, Resolved] = {}
    for kind, names in (
        ("variable", spec.variables),
        ("definition", spec.definitions),
        ("function", spec.functions),
    ):
        for name in names:
            if not spec.exact_names:
                table[name_key(name)] = (kind, name)
            table[name] = (kind, name)
    for name, spellings in spec.aliases.items():
        target = table.get(name)
        if target is None:
            continue
        for spelling in spellings:
            table[spelling] = target
            if not spec.exact_names:
                table[name_key(spelling)] = target
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
            if _is_reserved(name):
                problems.append((path, f"`{name}` is a built-in name; choose another"))
            key = name if spec.exact_names else name_key(name)
            if key in seen:
                problems.append((path, f"`{name}` clashes with `{seen[key][1]}` (underscores are ignored)"))
            seen[key] = (section, name)
    for name, spellings in spec.aliases.items():
        if name_key(name) not in seen:
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
            elif _is_reserved(spelling):
                problems.append(
                    (("aliases", name, index), f"`{spelling}` is a built-in name; choose another")
                )
            elif name_key(spelling) in seen and seen[name_key(spelling)][1] != name:
                other = seen[name_key(spelling)][1]
                problems.append((("aliases", name, index), f"`{spelling}` already means `{other}`"))
    if problems:
        # Names that are not names: parsing the definitions would only add noise.
        return problems
    if spec.floats not in FLOAT_POLICIES:
        problems.append((("floats",), f"`floats` must be one of {', '.join(FLOAT_POLICIES)}"))
    for name, assumption in spec.variables.items():
        if assumption not in ASSUMPTIONS:
            choices = ", ".join(ASSUMPTIONS)
            problems.append((("variables", name), f"unknown assumption `{assumption}`; use one of {choices}"))
    for name, text in spec.definitions.items():
        try:
            parse(text, spec)
        except MathInputError as error:
            problems.append((("definitions", name), str(error)))
    if not problems and definition_order(spec) is None:
        problems.append((("definitions",), "the definitions refer to each other in a circle"))
    return problems


def _is_reserved(name: str) -> bool:
    # A built-in function named like a Greek letter (gamma) may be declared: the part means the letter.
    return (name in BUILTIN_FUNCTIONS and name not in LETTER_NAMES) or name in CONSTANTS


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
      | (?P<operator>\*\*|[-+*/^(),!])
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
    # Maxima's (and so STACK's) names of the constants.
    text = re.sub(r"%(pi|e)\b", r"\1", text)
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
            maxima_name = re.match(r"%[A-Za-z]\w*", text[position:])
            if maxima_name:
                raise MathInputError(_maxima_name_message(maxima_name.group()))
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


def _maxima_name_message(name: str) -> str:
    if name == "%i":
        return "`%i` is the imaginary unit: complex numbers are not used here, only real ones"
    return f"`{name}` is not known here (of Maxima's constants, %pi and %e are: or write pi and e)"


def _unknown_name_message(name: str, table: dict[str, Resolved], spec: MathSpec, *, called: bool) -> str:
    declared = spec.declared_names()
    split = _split_into_names(name, table)
    if called:
        # sech(x) once became the product sech * x without a word: a call of an unknown name
        # is refused, with what it probably meant.
        message = f"`{name}` is not a function here"
        if split:
            return f"{message}; did you mean {'*'.join(split)}*(...)?"
        functions = [*spec.functions, *FUNCTIONS]
        close = difflib.get_close_matches(name, functions, n=1, cutoff=0.75)
        if close:
            return f"{message}; did you mean {close[0]}?"
        return f"{message}; write `*` for a product, e.g. `{declared[0] if declared else 'x'}*(...)`"
    message = f"unknown name `{name}`"
    if name in ("i", "I"):
        message += " (complex numbers are not used here: it is not the imaginary unit)"
    # A product written without a sign: xy for x*y.
    if split:
        return f"{message}; did you mean {'*'.join(split)}?"
    close = difflib.get_close_matches(name, [*declared, *FUNCTIONS, *CONSTANTS], n=1, cutoff=0.75)
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
    table = _lookup_table(spec)
    tokens = _powers_of_functions(_tokenise(normalised), table)
    pieces: list[str] = []
    names: dict[str, Resolved] = {}
    placeholders: dict[Resolved, str] = {}

    def placeholder_of(resolved: Resolved) -> str:
        placeholder = placeholders.setdefault(resolved, f"n{len(placeholders)}")
        names[placeholder] = resolved
        return placeholder

    # Where the operand that ends at the current token starts in `pieces`, so that a postfix
    # `!` can wrap it; and, for each open parenthesis, where its operand starts (at the
    # function's name for a call).
    operand_start = 0
    open_parentheses: list[int] = []
    previous: _Token | None = None
    previous_resolved: Resolved | None = None
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        called = following is not None and following.text == "("
        resolved: Resolved | None = None
        if token.kind == "name":
            resolved = _resolve(token.text, table, spec, called=called)
        if token.kind == "number" and len(token.text) > MAX_NUMBER_LENGTH:
            raise MathInputError(f"the number `{token.text[:12]}...` is too long")
        if token.kind == "number" and spec.floats == "refuse" and re.search(r"[.eE]", token.text):
            raise MathInputError(
                f"decimal numbers like `{token.text}` are not accepted here; "
                "write an exact value such as 1/2 or sqrt(2)"
            )
        if token.text == "!":
            if previous is None or not _ends_operand(previous, previous_resolved):
                raise MathInputError("`!` (factorial) must follow a number, a name or a closing parenthesis")
            if previous.text == "!":
                raise MathInputError("`!!` is not supported; write factorial(factorial(n)) if you mean that")
            pieces[operand_start:operand_start] = [placeholder_of(("builtin", "factorial")), "("]
            pieces.append(")")
            previous, previous_resolved = token, None
            continue
        starts_operand = token.kind in ("number", "name") or token.text == "("
        if previous is not None and starts_operand:
            if previous.kind == "number" and token.kind == "number":
                raise MathInputError(
                    f"two numbers in a row: `{previous.text} {token.text}`; is an operator missing?"
                )
            if _ends_operand(previous, previous_resolved):
                pieces.append("*")
        if resolved and resolved[0] in ("builtin", "function") and not called:
            raise MathInputError(
                f"`{token.text}` is a function: write it with parentheses, e.g. {token.text}(x)"
            )
        if token.text == "(":
            if len(open_parentheses) >= MAX_PARENTHESES_DEPTH:
                raise MathInputError(f"too many nested parentheses (the limit is {MAX_PARENTHESES_DEPTH})")
            is_call = previous_resolved is not None and previous_resolved[0] in ("builtin", "function")
            open_parentheses.append(len(pieces) - 1 if is_call else len(pieces))
            pieces.append("(")
        elif token.text == ")":
            if not open_parentheses:
                raise MathInputError("unbalanced parentheses: a `)` has no matching `(`")
            operand_start = open_parentheses.pop()
            pieces.append(")")
        elif resolved is not None:
            operand_start = len(pieces)
            pieces.append(placeholder_of(resolved))
        elif token.text == "^":
            pieces.append("**")
        else:
            if token.kind == "number":
                operand_start = len(pieces)
            pieces.append(token.text)
        previous, previous_resolved = token, resolved
    if open_parentheses:
        raise MathInputError("unbalanced parentheses: a `(` is never closed")
    source = " ".join(pieces)
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise MathInputError(_syntax_message(tokens)) from None
    _Validator(names, spec).check(tree)
    return ParsedAnswer(text=text, tree=tree, names=names)


def _powers_of_functions(tokens: list[_Token], table: dict[str, Resolved]) -> list[_Token]:
    """sin^2(x), as textbooks write it, is read as sin(x)^2; sin^-1(x) is refused (asin or 1/sin?).

    A declared name is not a function here: with gamma declared, gamma^2(x + 1) is gamma^2*(x + 1).
    """
    result = list(tokens)
    index = 0
    while index + 3 < len(result):
        name, caret, exponent, opening = result[index : index + 4]
        is_builtin = name.kind == "name" and name.text in FUNCTIONS
        is_builtin = is_builtin and name.text not in table and name_key(name.text) not in table
        if not (is_builtin and caret.text in ("^", "**")):
            index += 1
            continue
        if exponent.text == "-":
            raise MathInputError(
                f"`{name.text}^-...` is ambiguous: write a{name.text}(x) for the inverse function, "
                f"or {name.text}(x)^(-1) for 1/{name.text}(x)"
            )
        if exponent.kind == "number" and opening.text != "(":
            raise MathInputError(f"write the power after the argument: {name.text}(x)^{exponent.text}")
        if exponent.kind != "number" or not exponent.text.isdigit():
            index += 1
            continue
        depth, closing = 0, None
        for position in range(index + 3, len(result)):
            depth += {"(": 1, ")": -1}.get(result[position].text, 0)
            if depth == 0:
                closing = position
                break
        if closing is None:
            index += 1
            continue
        opened, closed = _Token("operator", "(", name.position), _Token("operator", ")", name.position)
        result[index : closing + 1] = [opened, name, *result[index + 3 : closing + 1], caret, exponent, closed]
        index += 1
    return result


def _ends_operand(token: _Token, resolved: Resolved | None) -> bool:
    # A number, a variable or constant, `)` or `!` ends an operand; a function's name does not.
    if token.kind == "number" or token.text in (")", "!"):
        return True
    return token.kind == "name" and resolved is not None and resolved[0] not in ("builtin", "function")


def _resolve(name: str, table: dict[str, Resolved], spec: MathSpec, *, called: bool) -> Resolved:
    if name in table:
        return table[name]
    if not spec.exact_names and name_key(name) in table:
        return table[name_key(name)]
    if name in FUNCTIONS:
        return ("builtin", name)
    if name in CONSTANTS:
        return ("constant", name)
    raise MathInputError(_unknown_name_message(name, table, spec, called=called))


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

    def _call(self, node: ast.Call, depth: int) -> tuple[float, float] | None:
        if not isinstance(node.func, ast.Name) or self.names[node.func.id][0] not in ("builtin", "function"):
            raise MathInputError("only named functions such as exp(x) can be called")
        kind, name = self.names[node.func.id]
        if node.keywords or any(isinstance(argument, ast.Starred) for argument in node.args):
            raise MathInputError(f"`{name}` takes plain arguments")
        if kind == "builtin":
            arities = FUNCTIONS[name].arities
            if len(node.args) not in arities:
                expected = " or ".join(str(count) for count in arities[:2])
                if len(arities) > 2:
                    expected = f"{arities[0]} to {arities[-1]}"
                raise MathInputError(f"`{name}` takes {expected} argument(s), not {len(node.args)}")
        elif not node.args:
            raise MathInputError(f"`{name}` needs an argument")
        arguments = [self._visit(argument, depth + 1) for argument in node.args]
        if kind == "builtin" and FUNCTIONS[name].build in _INTEGER_VALUED:
            return _integer_function_size(arguments)
        # Other function values are never folded: exp(1000) stays exp(1000).
        return None


# sympy computes these exactly for whole-number arguments, (10^6)! included: bound them first.
_INTEGER_VALUED = {FUNCTIONS["factorial"].build, FUNCTIONS["binomial"].build, FUNCTIONS["gamma"].build}


def _integer_function_size(arguments: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    if any(argument is None for argument in arguments):
        return None
    values = [argument[0] for argument in arguments if argument is not None]
    if not all(math.isfinite(value) and abs(value) <= 1e15 for value in values):
        raise MathInputError(f"a number in this answer is too large (more than {MAX_DIGITS} digits)")
    top = values[0]
    if top < 0:
        return None
    digits = math.lgamma(top + 1) / math.log(10)
    if len(values) == 2:
        bottom = values[1]
        if not 0 <= bottom <= top:
            return None
        digits -= (math.lgamma(bottom + 1) + math.lgamma(top - bottom + 1)) / math.log(10)
    if digits > MAX_DIGITS:
        raise MathInputError(f"a number in this answer is too large (more than {MAX_DIGITS} digits)")
    return 10.0**digits if digits < 300 else math.inf, digits


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


def definition_order(spec: MathSpec) -> list[str] | None:
    """The defined names in an order where each uses only those before it; None if circular."""
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


def names_in(text: str) -> set[str]:
    """The names in `text` that are not built-in functions or constants (empty if unreadable)."""
    variables, functions = infer_names(text)
    return variables | functions


def infer_names(*texts: str) -> tuple[set[str], set[str]]:
    """(variables, functions) named in `texts`, for answers checked without a declared spec.

    A name is taken for a function when every one of its uses, in all the texts, is followed
    by `(`: `f(x)` is f applied to x, but in `x(x+1)` x is also used alone and is a variable.
    Unreadable texts add nothing.
    """
    called: set[str] = set()
    alone: set[str] = set()
    for text in texts:
        try:
            tokens = _tokenise(_normalise(text))
        except MathInputError:
            continue
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            is_called = following is not None and following.text == "("
            if token.kind != "name" or token.text in CONSTANTS:
                continue
            # gamma(x) is the gamma function; gamma alone (a layer norm's scale) is a variable.
            if token.text in FUNCTIONS and (token.text not in LETTER_NAMES or is_called):
                continue
            (called if is_called else alone).add(token.text)
    return alone, called - alone
