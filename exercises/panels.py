"""What the exercises app adds to lesson pages and the course navigation.

A student sees their own status and score for each exercise of the lesson; the staff see the
class: who submitted, the mean and spread of the counted scores, and the tests most failed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.urls import reverse

from courses.models import Membership
from courses.panels import CourseLink, Panel

from .models import Exercise, Submission
from .services import best_of

# Score bands of the distribution, as shares of the exercise's points: [low, high).
BANDS = (("0 to 24%", 0.0, 0.25), ("25 to 49%", 0.25, 0.5), ("50 to 74%", 0.5, 0.75), ("75 to 99%", 0.75, 1.0),
         ("full marks", 1.0, float("inf")))
MOST_FAILED_SHOWN = 3


@dataclass
class Band:
    label: str
    count: int


@dataclass
class FailedTest:
    title: str
    failed: int
    hidden: bool


@dataclass
class ClassSummary:
    """One exercise, seen over the whole class."""

    exercise: Exercise
    students: int
    submitted: int
    graded: int
    mean: float | None
    bands: list[Band] = field(default_factory=list)
    most_failed: list[FailedTest] = field(default_factory=list)


def class_summary(exercise: Exercise, student_ids: set[int]) -> ClassSummary:
    submissions = Submission.objects.filter(exercise=exercise, user_id__in=student_ids, is_staff_test=False)
    submitted = set(submissions.values_list("user_id", flat=True))
    graded: dict[int, list[Submission]] = defaultdict(list)
    for submission in submissions.filter(status=Submission.Status.GRADED).order_by("-submitted_at", "-id"):
        graded[submission.user_id].append(submission)
    counted = []
    for attempts in graded.values():
        chosen = attempts[0] if exercise.score_policy == Exercise.ScorePolicy.LAST else best_of(attempts)
        if chosen is not None:
            counted.append(chosen)
    scores = [submission.final_score for submission in counted]
    maximum = exercise.max_score or 0
    bands = [
        Band(label, sum(1 for score in scores if maximum and low <= score / maximum < high))
        for label, low, high in BANDS
    ]
    failures: Counter[str] = Counter()
    titles: dict[str, tuple[str, bool]] = {}
    for submission in counted:
        for test in (submission.verdict or {}).get("tests", []):
            titles[test["name"]] = (test.get("title", test["name"]), not test.get("visible", True))
            if not test.get("passed"):
                failures[test["name"]] += 1
    most_failed = [
        FailedTest(titles[name][0], count, titles[name][1]) for name, count in failures.most_common(MOST_FAILED_SHOWN)
    ]
    return ClassSummary(
        exercise=exercise,
        students=len(student_ids),
        submitted=len(submitted),
        graded=len(counted),
        mean=sum(scores) / len(scores) if scores else None,
        bands=bands if maximum else [],
        most_failed=most_failed,
    )


def lesson_exercises(request, lesson, membership) -> Panel | None:
    from .views import student_summary

    exercises = list(lesson.exercises.filter(archived=False).order_by("position", "id"))
    if not exercises:
        return None
    if membership.is_staff:
        students = Membership.objects.filter(course=lesson.course, role=Membership.Role.STUDENT)
        student_ids = set(students.values_list("user_id", flat=True))
        rows = [class_summary(exercise, student_ids) for exercise in exercises]
        return Panel("exercises/_lesson_panel_staff.html", {"rows": rows, "membership": membership}, order=10)
    rows = [student_summary(exercise, request.user) for exercise in exercises]
    return Panel("exercises/_lesson_panel.html", {"rows": rows, "membership": membership}, order=10)


def course_links(course, membership) -> list[CourseLink]:
    if not membership.is_staff:
        return []
    waiting = Submission.objects.filter(exercise__course=course, status=Submission.Status.NEEDS_REVIEW).count()
    label = f"To review ({waiting})" if waiting else "To review"
    return [CourseLink("review", label, reverse("review_queue", args=[course.slug]))]
