"""Exercises, the students' submissions and drafts, and background regrades."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from graders.verdict import Verdict


class Exercise(models.Model):
    class Kind(models.TextChoices):
        CODE = "code", "Code"
        QUESTIONS = "questions", "Questions"

    class ScorePolicy(models.TextChoices):
        BEST = "best", "Best attempt counts"
        LAST = "last", "Last attempt counts"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="exercises")
    lesson = models.ForeignKey("courses.Lesson", on_delete=models.CASCADE, related_name="exercises")
    pack_id = models.CharField(max_length=64)
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    position = models.PositiveIntegerField(default=0)
    statement = models.TextField(blank=True)
    statement_html = models.TextField(blank=True, editable=False)
    starter_code = models.TextField(blank=True)
    max_score = models.FloatField(default=0)
    # The exercise's folder as it was loaded (file name -> text): what grading runs against.
    files = models.JSONField(default=dict)
    version = models.CharField(max_length=64, blank=True)
    # Policies, set in the pack's exercise.toml.
    max_attempts = models.PositiveIntegerField(null=True, blank=True)
    cooldown_seconds = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    # [{"days": 2, "credit": 0.8}, ...]: after the due date, credit for each window in turn; then 0.
    late_windows = models.JSONField(default=list, blank=True)
    score_policy = models.CharField(max_length=8, choices=ScorePolicy.choices, default=ScorePolicy.BEST)
    archived = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["lesson__position", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "pack_id"], name="one_exercise_per_pack_id")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        from courses.markdown import render_markdown

        self.statement_html = render_markdown(self.statement)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("exercise_detail", args=[self.course.slug, self.slug])

    def credit_at(self, moment: datetime) -> float:
        """The share of the score a submission made at `moment` earns (1.0 before the due date)."""
        if self.due_at is None or moment <= self.due_at:
            return 1.0
        window_end = self.due_at
        for window in self.late_windows:
            window_end = window_end + timedelta(days=window["days"])
            if moment <= window_end:
                return float(window["credit"])
        return 0.0


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        GRADED = "graded", "Graded"
        ERROR = "error", "Could not be graded"
        NEEDS_REVIEW = "needs_review", "Waiting for a person"

    FINISHED = (Status.GRADED, Status.ERROR, Status.NEEDS_REVIEW)

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="submissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    # The student's nth submission to this exercise, for "attempt 3" in their history.
    number = models.PositiveIntegerField()
    answer = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    # How many times a worker claimed it; the sweeper gives up after GRADING_MAX_ATTEMPTS.
    attempts = models.PositiveIntegerField(default=0)
    # Gradings in a row that failed on our side (no sandbox, one killed from outside): they spend
    # no attempt; each waits twice as long as the last, and after GRADING_MAX_INFRASTRUCTURE_RETRIES
    # the submission is marked `error` for staff to regrade.
    infrastructure_retries = models.PositiveIntegerField(default=0)
    # How many verdicts were written: an audit that grading happens exactly once (regrades add one).
    verdicts_written = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(default=timezone.now)
    # When its task was last sent to the broker; the sweeper rings again if nobody came.
    enqueued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    # Raw score from the checker, before late credit and overrides.
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    verdict = models.JSONField(null=True, blank=True)
    exercise_version = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Late credit fixed at submission time (1.0 = on time).
    credit = models.FloatField(default=1.0)
    # Test submissions by staff (previews, the reference solution) stay out of the gradebook.
    is_staff_test = models.BooleanField(default=False)
    override_score = models.FloatField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For answers a person grades: the reviewer's comment to the student.
    review_comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set while a regrade of this submission is under way or done, to show its progress.
    regrade = models.ForeignKey("Regrade", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "user", "number"], name="one_number_per_attempt"),
        ]
        indexes = [models.Index(fields=["exercise", "user"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.exercise} · attempt {self.number}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_late(self) -> bool:
        return self.credit < 1.0

    @property
    def final_score(self) -> float | None:
        """What counts: the override if there is one, else the raw score times late credit."""
        if self.override_score is not None:
            return self.override_score
        if self.score is None:
            return None
        return round(self.score * self.credit, 4)

    @property
    def verdict_object(self) -> Verdict | None:
        return Verdict.from_dict(self.verdict) if self.verdict else None

    @property
    def solved(self) -> bool:
        return self.score is not None and self.max_score is not None and self.score >= self.max_score > 0


class Draft(models.Model):
    """The code a student is typing, kept across reloads."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answer = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exercise", "user"], name="one_draft_per_exercise")]

    def __str__(self) -> str:
        return f"draft of {self.user} for {self.exercise}"


class Regrade(models.Model):
    """Regrading submissions of an exercise in the background, with what changed."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="regrades")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    total = models.PositiveIntegerField(default=0)
    # Submission id -> previous raw score, taken when the regrade starts.
    previous_scores = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"regrade of {self.exercise} ({self.created_at:%Y-%m-%d %H:%M})"


class WorkerHeartbeat(models.Model):
    """Each grading worker says it is alive, and whether it can grade (sandbox ready) or why not."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()
    ready = models.BooleanField(default=False)
    problem = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
