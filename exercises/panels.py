"""What the exercises app adds to lesson pages and the course navigation.

A student sees their own status and score for each exercise of the lesson; the staff see the
class: who submitted (and where each one's answers stand), the mean and spread of the counted
scores, and the tests most failed.

The staff's panel is read on every view of a lesson page, so it loads no answer and no verdict
for what it counts; the tests most failed need the verdicts of the counted submissions, and are
kept in the cache under a key that changes whenever one of those verdicts does.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.urls import reverse
from django.utils.http import urlencode

from courses.gradebook import person_key
from courses.models import Membership
from courses.panels import CourseLink, Panel

from . import services
from .models import Exercise, Submission
from .services import best_of

# Score bands of the distribution, as shares of the exercise's points: [low, high).
BANDS = (("0 to 24%", 0.0, 0.25), ("25 to 49%", 0.25, 0.5), ("50 to 74%", 0.5, 0.75), ("75 to 99%", 0.75, 1.0),
         ("full marks", 1.0, float("inf")))
MOST_FAILED_SHOWN = 3
MOST_FAILED_KEPT_SECONDS = 24 * 3600
# What the panel reads of a submission: enough to choose the one that counts and to say where it stands.
SUMMARY_FIELDS = ("id", "user_id", "exercise_id", "status", "score", "credit", "override_score", "submitted_at",
                  "graded_at", "verdicts_written")


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
class Submitter:
    """A student who submitted, and where their answers stand."""

    user: object
    state: str  # "graded", "review" (waiting for a person), "grading" (queued or running), "error"
    score: float | None
    url: str

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.username

    @property
    def state_words(self) -> str:
        return STATE_WORDS[self.state]


STATE_WORDS = {"graded": "graded", "review": "waiting for review", "grading": "being graded",
               "error": "could not be graded"}


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
    submitters: list[Submitter] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(1 for submitter in self.submitters if submitter.state == "review")

    @property
    def states(self) -> list[str]:
        """Where the submitted answers stand, as in "2 graded, 1 waiting for review"."""
        counts = Counter(submitter.state for submitter in self.submitters)
        return [f"{counts[state]} {words}" for state, words in STATE_WORDS.items() if counts[state]]


def _state(attempts: list[Submission], counted: Submission | None) -> str:
    statuses = {attempt.status for attempt in attempts}
    if counted is not None:
        return "graded"
    if Submission.Status.NEEDS_REVIEW in statuses:
        return "review"
    if statuses & {Submission.Status.QUEUED, Submission.Status.RUNNING}:
        return "grading"
    return "error"


def most_failed_tests(exercise: Exercise, counted: list[Submission]) -> list[FailedTest]:
    """The tests the counted submissions failed most, read from their verdicts once per change of them."""
    if not counted:
        return []
    version = hashlib.sha256(repr(sorted(
        (submission.pk, submission.verdicts_written, submission.graded_at) for submission in counted
    )).encode()).hexdigest()[:32]
    key = f"exercises:most-failed:{exercise.pk}:{version}"
    found = cache.get(key)
    if found is None:
        failures: Counter[str] = Counter()
        titles: dict[str, tuple[str, bool]] = {}
        verdicts = Submission.objects.filter(pk__in=[submission.pk for submission in counted])
        for verdict in verdicts.values_list("verdict", flat=True):
            for test in (verdict or {}).get("tests", []):
                titles[test["name"]] = (test.get("title", test["name"]), not test.get("visible", True))
                if not test.get("passed"):
                    failures[test["name"]] += 1
        found = [(*titles[name], count) for name, count in failures.most_common(MOST_FAILED_SHOWN)]
        cache.set(key, found, MOST_FAILED_KEPT_SECONDS)
    return [FailedTest(title, count, hidden) for title, hidden, count in found]


def class_summary(exercise: Exercise, students: dict[int, object]) -> ClassSummary:
    """The class's view of `exercise`; `students` maps user ids to the course's students."""
    submissions = (
        Submission.objects.filter(exercise=exercise, user_id__in=students, is_staff_test=False)
        .only(*SUMMARY_FIELDS).order_by("-submitted_at", "-id")
    )
    attempts: dict[int, list[Submission]] = defaultdict(list)
    for submission in submissions:
        attempts[submission.user_id].append(submission)
    counted: list[Submission] = []
    submitters = []
    list_url = reverse("exercise_submissions", args=[exercise.course.slug, exercise.slug])
    for user_id, theirs in attempts.items():
        graded = [attempt for attempt in theirs if attempt.status == Submission.Status.GRADED]
        chosen = (graded[0] if graded else None) if exercise.score_policy == Exercise.ScorePolicy.LAST \
            else best_of(graded)
        if chosen is not None:
            counted.append(chosen)
        submitters.append(Submitter(students[user_id], _state(theirs, chosen),
                                    chosen.final_score if chosen is not None else None,
                                    f"{list_url}?{urlencode({'user': user_id})}"))
    submitters.sort(key=lambda submitter: person_key(submitter.user))
    scores = [submission.final_score for submission in counted]
    maximum = exercise.max_score or 0
    bands = [
        Band(label, sum(1 for score in scores if maximum and low <= score / maximum < high))
        for label, low, high in BANDS
    ]
    return ClassSummary(
        exercise=exercise,
        students=len(students),
        submitted=len(attempts),
        graded=len(counted),
        mean=sum(scores) / len(scores) if scores else None,
        bands=bands if maximum else [],
        most_failed=most_failed_tests(exercise, counted),
        submitters=submitters,
    )


def student_summary(exercise: Exercise, user) -> dict:
    """Status, counted submission and number of tries of one exercise for one student (the lesson list)."""
    submissions = list(Submission.objects.filter(exercise=exercise, user=user, is_staff_test=False))
    counted = services.counted_submission(exercise, user)
    if any(s.solved for s in submissions):
        status = "solved"
    elif submissions:
        status = "attempted"
    else:
        status = "not started"
    return {"exercise": exercise, "status": status, "counted": counted, "count": len(submissions)}


def lesson_exercises(request, lesson, membership) -> Panel | None:
    exercises = list(lesson.exercises.filter(archived=False).order_by("position", "id"))
    if not exercises:
        return None
    if membership.is_staff:
        students = {
            member.user_id: member.user
            for member in Membership.objects.filter(course=lesson.course, role=Membership.Role.STUDENT)
            .select_related("user")
        }
        rows = [class_summary(exercise, students) for exercise in exercises]
        return Panel("exercises/_lesson_panel_staff.html", {"rows": rows, "membership": membership}, order=10)
    rows = [student_summary(exercise, request.user) for exercise in exercises]
    return Panel("exercises/_lesson_panel.html", {"rows": rows, "membership": membership}, order=10)


def course_links(course, membership) -> list[CourseLink]:
    if not membership.is_staff:
        return []
    waiting = Submission.objects.filter(exercise__course=course, status=Submission.Status.NEEDS_REVIEW).count()
    label = f"To review ({waiting})" if waiting else "To review"
    return [CourseLink("review", label, reverse("review_queue", args=[course.slug]))]
