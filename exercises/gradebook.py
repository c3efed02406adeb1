"""The exercises' columns of the course gradebook: the counted score of each student."""

from collections import defaultdict

from django.urls import reverse

from courses.gradebook import GradebookColumn

from .models import Exercise, Submission
from .services import best_of


def exercise_columns(course) -> list[GradebookColumn]:
    exercises = list(
        Exercise.objects.filter(course=course, archived=False).select_related("lesson")
        .order_by("lesson__position", "position", "id")
    )
    graded = Submission.objects.filter(
        exercise__in=exercises, is_staff_test=False, status=Submission.Status.GRADED
    ).order_by("-submitted_at", "-id")
    by_exercise: dict[int, dict[int, list[Submission]]] = defaultdict(lambda: defaultdict(list))
    for submission in graded:
        by_exercise[submission.exercise_id][submission.user_id].append(submission)
    attempts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for exercise_id, user_id in Submission.objects.filter(exercise__in=exercises, is_staff_test=False).values_list(
        "exercise_id", "user_id"
    ):
        attempts[exercise_id][user_id] += 1
    columns = []
    for exercise in exercises:
        scores, late, notes = {}, set(), {}
        for user_id, submissions in by_exercise[exercise.pk].items():
            counted = submissions[0] if exercise.score_policy == Exercise.ScorePolicy.LAST else best_of(submissions)
            if counted is None:
                continue
            scores[user_id] = counted.final_score
            if counted.is_late:
                late.add(user_id)
        for user_id, count in attempts[exercise.pk].items():
            notes[user_id] = f"{count} attempt{'s' if count != 1 else ''}"
        columns.append(
            GradebookColumn(
                key=f"exercise-{exercise.pk}",
                title=exercise.title,
                max_points=exercise.max_score,
                scores=scores,
                late=late,
                notes=notes,
                url=reverse("exercise_submissions", args=[course.slug, exercise.slug]),
            )
        )
    return columns
