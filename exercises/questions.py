"""The form of a questions exercise: one field per part, read back into the answers the checker takes."""

from __future__ import annotations

from typing import Any

from courses.markdown import render_markdown
from courses.text import normalized_line_endings
from graders.questions import ChoicePart, NumericPart, SymbolicPart, TextPart, shuffled_options
from graders.spec import questions_spec

from .models import Exercise
from .services import SubmissionRefused

TYPES = {SymbolicPart: "symbolic", NumericPart: "numeric", ChoicePart: "choice", TextPart: "text"}
MAX_PART_CHARS = 5000


def part_fields(exercise: Exercise, user, previous: dict[str, Any]) -> list[dict[str, Any]]:
    """What the template needs for each part, with the student's previous answer filled in."""
    fields = []
    for part in questions_spec(exercise.files).parts:
        value = previous.get(part.id, "")
        field: dict[str, Any] = {
            "id": part.id,
            "type": TYPES[type(part)],
            "prompt_html": render_markdown(part.prompt),
            "points": part.points,
            "value": value if isinstance(value, str) else "",
            "policy": part.policy_text(),
        }
        if isinstance(part, ChoicePart):
            chosen = set(value if isinstance(value, list) else [value])
            # Shuffled the same way every time for one student, differently across students.
            options = shuffled_options(part, f"{user.pk}:{exercise.pk}") if part.shuffle else part.options
            field["multiple"] = part.multiple
            field["options"] = [
                {"id": option.id, "label_html": render_markdown(option.text), "checked": option.id in chosen}
                for option in options
            ]
        elif isinstance(part, SymbolicPart):
            field["help"] = "Type math as text: exp(z_1), ^ for powers, 2x for 2·x."
        elif isinstance(part, NumericPart) and part.unit:
            field["help"] = f"A number, in {part.unit} (or another unit of the same kind)."
        elif isinstance(part, TextPart):
            field["max_chars"] = MAX_PART_CHARS
            field["limit_text"] = f"Up to {MAX_PART_CHARS:,} characters."
        fields.append(field)
    return fields


def read_part_answers(exercise: Exercise, data) -> dict[str, Any]:
    """The posted form as {part id: text, or option ids for a multiple choice}; unknown fields ignored.

    A part longer than MAX_PART_CHARS is refused, never cut: a shortened explanation would be graded
    as if the student had written it so.
    """
    answers: dict[str, Any] = {}
    for number, part in enumerate(questions_spec(exercise.files).parts, start=1):
        key = f"part-{part.id}"
        if isinstance(part, ChoicePart) and part.multiple:
            answers[part.id] = [value[:200] for value in data.getlist(key)][:50]
            continue
        text = normalized_line_endings(data.get(key, ""))
        if len(text) > MAX_PART_CHARS:
            raise SubmissionRefused(
                f"Your answer to part {number} is {len(text):,} characters long and the limit is "
                f"{MAX_PART_CHARS:,} per part: shorten it and submit again."
            )
        answers[part.id] = text
    return answers
