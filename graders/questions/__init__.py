"""Multi-part "questions" exercises: symbolic, numeric, choice and text parts in one exercise.toml."""

from graders.questions.grading import (
    Review,
    ReviewError,
    apply_review,
    grade_questions,
    shuffled_options,
)
from graders.questions.numeric import check_numeric, parse_unit
from graders.questions.spec import (
    ChoiceOption,
    ChoicePart,
    Criterion,
    FeedbackRule,
    NumericPart,
    Part,
    QuestionsError,
    QuestionsSpec,
    SymbolicPart,
    TextPart,
    load_questions,
)

__all__ = [
    "ChoiceOption",
    "ChoicePart",
    "Criterion",
    "FeedbackRule",
    "NumericPart",
    "Part",
    "QuestionsError",
    "QuestionsSpec",
    "Review",
    "ReviewError",
    "SymbolicPart",
    "TextPart",
    "apply_review",
    "check_numeric",
    "grade_questions",
    "load_questions",
    "parse_unit",
    "shuffled_options",
]
