"""Math answers: parsed through an AST allow-list, previewed as LaTeX, compared under a hard time limit.

Never eval: answers go through `parsing.parse` (tokens, then ast.parse, then an allow-list
walk) before sympy sees them, and every sympy decision runs in a worker process that is
killed when it takes too long (see `equivalence`). Real questions are compared on the real
domain (see `realdomain`), and what cannot be settled is left to a person, never called wrong.
"""

from graders.symbolic.batch import check_answer_record, check_answers_jsonl
from graders.symbolic.conversion import expand_definitions, to_float, to_sympy
from graders.symbolic.equivalence import (
    DEFAULT_TIME_LIMIT,
    TEST_KINDS,
    UNCHECKED_MESSAGE,
    AnswerTest,
    Equivalence,
    EquivalenceWorker,
    compare,
    decide_equivalence,
    form_hint,
    forms_of,
    student_spec,
)
from graders.symbolic.forms import FORMS
from graders.symbolic.latex import interpret, to_latex
from graders.symbolic.parsing import (
    ASSUMPTIONS,
    BUILTIN_FUNCTIONS,
    CONSTANTS,
    FLOAT_POLICIES,
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
    "FLOAT_POLICIES",
    "FORMS",
    "TEST_KINDS",
    "UNCHECKED_MESSAGE",
    "AnswerTest",
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
    "form_hint",
    "forms_of",
    "interpret",
    "parse",
    "spec_problems",
    "student_spec",
    "to_float",
    "to_latex",
    "to_sympy",
]
