"""Math answers: parsed through an AST allow-list, previewed as LaTeX, compared under a hard time limit.

Never eval: answers go through `parsing.parse` (tokens, then ast.parse, then an allow-list
walk) before sympy sees them, and every sympy decision runs in a worker process that is
killed when it takes too long (see `equivalence`).
"""

from graders.symbolic.batch import check_answer_record, check_answers_jsonl
from graders.symbolic.conversion import expand_definitions, to_float, to_sympy
from graders.symbolic.equivalence import (
    DEFAULT_TIME_LIMIT,
    UNCHECKED_MESSAGE,
    Equivalence,
    EquivalenceWorker,
    compare,
    decide_equivalence,
)
from graders.symbolic.latex import interpret, to_latex
from graders.symbolic.parsing import (
    ASSUMPTIONS,
    BUILTIN_FUNCTIONS,
    CONSTANTS,
    MathInputError,
    MathSpec,
    ParsedAnswer,
    parse,
    spec_problems,
)

__all__ = [
    "ASSUMPTIONS",
    "BUILTIN_FUNCTIONS",
    "CONSTANTS",
    "DEFAULT_TIME_LIMIT",
    "UNCHECKED_MESSAGE",
    "Equivalence",
    "EquivalenceWorker",
    "MathInputError",
    "MathSpec",
    "ParsedAnswer",
    "check_answer_record",
    "check_answers_jsonl",
    "compare",
    "decide_equivalence",
    "expand_definitions",
    "interpret",
    "parse",
    "spec_problems",
    "to_float",
    "to_latex",
    "to_sympy",
]
