"""Columns for the course gradebook: one per LLM-comparison homework of the course.

    from comparisons.gradebook import gradebook_columns
    for column in gradebook_columns(course):
        column.key          # stable: "comparison:<pack id>" (or "comparison:<pk>" for homeworks made on the site)
        column.title        # the homework's title
        column.max_points   # float
        column.scores       # {user id: points} for the students who were graded; ungraded students are absent

Archived homeworks (removed from the pack) are left out; grades of students who have since
left the course are kept in `scores`, and the gradebook decides whom it lists.
"""

from __future__ import annotations

from courses.gradebook import GradebookColumn

from .models import ComparisonHomework, HomeworkGrade


def gradebook_columns(course) -> list[GradebookColumn]:
    homeworks = list(
        ComparisonHomework.objects.filter(course=course, archived=False, lesson__archived=False)
        .order_by("lesson__position", "id")
    )
    grades: dict[int, dict[int, float]] = {homework.pk: {} for homework in homeworks}
    for grade in HomeworkGrade.objects.filter(homework__in=homeworks):
        grades[grade.homework_id][grade.student_id] = float(grade.points)
    return [
        GradebookColumn(
            key=f"comparison:{homework.pack_id or homework.pk}",
            title=homework.title,
            max_points=float(homework.max_points),
            scores=grades[homework.pk],
        )
        for homework in homeworks
    ]
