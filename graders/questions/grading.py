"""Grading a questions exercise: one TestOutcome per part, partial credit, and reviews by a person."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from graders.questions.numeric import check_numeric
from graders.questions.spec import (
    ChoiceOption,
    ChoicePart,
    NumericPart,
    Part,
    QuestionsSpec,
    SymbolicPart,
    TextPart,
)
from graders.symbolic import DEFAULT_TIME_LIMIT, compare, form_hint, forms_of
from graders.verdict import TestOutcome, Verdict

Answer = str | list[str] | None

NO_ANSWER = "No answer was given."
AWAITING_REVIEW = "Waiting for a person to grade this part."
UNDECIDED = "Your answer could not be checked; try a simpler form. A person will look at this one."


def shuffled_options(part: ChoicePart, seed: int | str) -> list[ChoiceOption]:
    """The options in the order one student sees them: the same seed always gives the same order.

    The part id is mixed into the seed so that two parts do not share one permutation.
    """
    options = list(part.options)
    if part.shuffle:
        random.Random(f"{seed}/{part.id}").shuffle(options)  # noqa: S311 - display order, not a secret
    return options


def grade_questions(
    spec: QuestionsSpec, answers: Mapping[str, Answer], *, time_limit: float = DEFAULT_TIME_LIMIT
) -> Verdict:
    """Grades every part; a missing or blank answer scores 0 with a message.

    Answers are keyed by part id: text for symbolic, numeric and text parts; an option id for
    a single choice; a list of option ids (or ids separated by commas) for a multiple choice.
    The verdict is `needs_review` while a text part (or undecidable math) awaits a person.
    """
    outcomes = [_grade_part(part, answers.get(part.id), time_limit) for part in spec.parts]
    return _verdict(outcomes)


def _verdict(outcomes: list[TestOutcome]) -> Verdict:
    pending = any(outcome.needs_review for outcome in outcomes)
    return Verdict(
        status="needs_review" if pending else "graded",
        score=sum(outcome.points for outcome in outcomes),
        max_score=sum(outcome.max_points for outcome in outcomes),
        tests=outcomes,
    )


def _is_blank(answer: Answer) -> bool:
    if isinstance(answer, list):
        return not any(isinstance(item, str) and item.strip() for item in answer)
    return not isinstance(answer, str) or not answer.strip()


def _grade_part(part: Part, answer: Answer, time_limit: float) -> TestOutcome:
    outcome = TestOutcome(name=part.id, title=part.title, passed=False, points=0.0, max_points=part.points)
    if _is_blank(answer):
        outcome.message = NO_ANSWER
        return outcome
    if isinstance(part, SymbolicPart):
        _grade_symbolic(part, _as_text(answer), outcome, time_limit)
    elif isinstance(part, NumericPart):
        check = check_numeric(
            _as_text(answer),
            part.answer,
            unit=part.unit,
            absolute_tolerance=part.absolute_tolerance,
            relative_tolerance=part.relative_tolerance,
            significant_figures=part.significant_figures,
        )
        outcome.points = part.points if check.correct else 0.0
        outcome.message, outcome.interpreted_as = check.message, check.interpreted_as
    elif isinstance(part, ChoicePart):
        _grade_choice(part, answer, outcome)
    else:
        outcome.needs_review = True
        outcome.message = AWAITING_REVIEW
    outcome.passed = outcome.points == part.points
    return outcome


def _as_text(answer: Answer) -> str:
    return ", ".join(answer) if isinstance(answer, list) else str(answer)


def _grade_symbolic(part: SymbolicPart, answer: str, outcome: TestOutcome, time_limit: float) -> None:
    result = compare(answer, part.answer, part.math, time_limit=time_limit, test=part.test)
    outcome.interpreted_as = result.interpreted_as
    if result.method == "invalid":
        outcome.message = f"Could not read your answer: {result.message}"
        return
    if result.method == "undefined":  # 1/0: no value to judge, and nothing for a person to decide
        outcome.message = result.message
        return
    if result.equivalent:
        outcome.points, outcome.message = part.points, " ".join(filter(None, ["Correct.", result.message]))
        # A form that could not be checked in time gives no hint: the value is what counts.
        missing = forms_of(answer, part.math, part.forms, time_limit=time_limit, test=part.test) or []
        if missing:
            outcome.points = part.points * part.form_credit
            outcome.message = f"Your answer is right. {form_hint(missing)}"
        return
    # A known mistake gets its own message, even when the main check was undecided.
    for rule in part.feedback:
        if compare(answer, rule.if_equals, part.math, time_limit=time_limit).equivalent:
            outcome.points, outcome.message = rule.points, rule.message
            return
    if result.equivalent is None:
        outcome.needs_review = True
        outcome.message = UNDECIDED
        return
    outcome.message = " ".join(filter(None, ["Incorrect.", result.message]))


def _picked_ids(answer: Answer) -> list[str]:
    items = answer if isinstance(answer, list) else re.split(r"[,\s]+", str(answer))
    picked: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip() and item.strip() not in picked:
            picked.append(item.strip())
    return picked


def _grade_choice(part: ChoicePart, answer: Answer, outcome: TestOutcome) -> None:
    by_id = {option.id: option for option in part.options}
    picked = _picked_ids(answer)
    unknown = [option_id for option_id in picked if option_id not in by_id]
    if unknown:
        outcome.message = f"Unknown option `{unknown[0]}`; choose among the options shown."
        return
    if not part.multiple and len(picked) > 1:
        outcome.message = "Choose only one option."
        return
    fraction = min(1.0, max(0.0, sum(by_id[option_id].weight for option_id in picked)))
    outcome.points = fraction * part.points
    feedback = [by_id[option_id].feedback for option_id in picked if by_id[option_id].feedback]
    verdict = "Correct." if fraction == 1 else "Partly correct." if fraction > 0 else "Incorrect."
    outcome.message = " ".join([verdict, *feedback])


@dataclass
class Review:
    """A person's grade for one part: rubric `marks` (criterion id -> points), or `points`."""

    marks: dict[str, float] = field(default_factory=dict)
    points: float | None = None
    comment: str = ""


class ReviewError(ValueError):
    """A review that does not fit the part (unknown criterion, points out of range)."""


def apply_review(spec: QuestionsSpec, verdict: Verdict, reviews: Mapping[str, Review]) -> Verdict:
    """The verdict with reviewed parts graded; `graded` once no part awaits a person.

    A part graded by rubric gets the sum of its marks and a message listing them, then the
    comment. Any part may be reviewed, which overrides the automatic grade.
    """
    outcomes = [TestOutcome(**vars(outcome)) for outcome in verdict.tests]
    by_name = {outcome.name: outcome for outcome in outcomes}
    for part_id, review in reviews.items():
        if part_id not in by_name:
            raise ReviewError(f"this exercise has no part `{part_id}`")
        part = spec.part(part_id)
        outcome = by_name[part_id]
        points, lines = _reviewed_points(part, review)
        outcome.points = points
        outcome.passed = points == part.points
        outcome.needs_review = False
        outcome.message = "\n".join([*lines, review.comment.strip()]).strip()
    reviewed = _verdict(outcomes)
    reviewed.exercise_version = verdict.exercise_version
    return reviewed


def _reviewed_points(part: Part, review: Review) -> tuple[float, list[str]]:
    if isinstance(part, TextPart) and part.rubric:
        criteria = {criterion.id: criterion for criterion in part.rubric}
        unknown = sorted(set(review.marks) - set(criteria))
        if unknown:
            raise ReviewError(f"part `{part.id}` has no criterion `{unknown[0]}`")
        missing = sorted(set(criteria) - set(review.marks))
        if missing:
            raise ReviewError(f"part `{part.id}`: criterion `{missing[0]}` has no mark")
        lines = []
        for criterion in part.rubric:
            mark = review.marks[criterion.id]
            if not 0 <= mark <= criterion.points:
                raise ReviewError(
                    f"criterion `{criterion.id}` takes 0 to {criterion.points:g} points, not {mark:g}"
                )
            lines.append(f"{criterion.criterion}: {mark:g}/{criterion.points:g}")
        return sum(review.marks.values()), lines
    if review.points is None or not 0 <= review.points <= part.points:
        raise ReviewError(f"part `{part.id}` takes 0 to {part.points:g} points")
    return review.points, []
