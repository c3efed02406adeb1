"""End-of-lesson reflections: prompts from the course pack, the window, answers, themes and replies.

Anonymity is kept by what is stored, not by what templates hide: an answer to an anonymous
prompt has no `student` column, only `author_key`, a keyed hash (HMAC with SECRET_KEY) of
the prompt and the student, so that its author can find, edit and read replies to it while
nobody on the course staff can tell whose it is.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
from django.conf import settings
from django.db import models
from django.utils import timezone

from courses.models import Course, Lesson


class ReflectionPrompt(models.Model):
    class Kind(models.TextChoices):
        UNDERSTOOD = "understood", "Something understood well"
        STRUGGLED = "struggled", "Something not fully understood"
        CURIOUS = "curious", "Something to know more about"
        OPEN = "open", "Open question"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="reflection_prompts")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reflection_prompts")
    # The stable id from the course pack; NULL for prompts made elsewhere.
    pack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    section = models.CharField(max_length=120, blank=True, help_text="e.g. “Question time” or “Summary”.")
    text = models.TextField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPEN)
    anonymous = models.BooleanField(
        default=False, help_text="Answers are shown to the course staff without names, and stored without them."
    )
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["lesson", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "pack_id"], name="one_reflection_prompt_per_pack_id"),
        ]

    def __str__(self) -> str:
        return self.text

    def author_key(self, user) -> str:
        """The keyed hash that ties an answer to its author without naming them."""
        message = f"reflection-answer:{self.pk}:{user.pk}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def answer_of(self, user) -> ReflectionAnswer | None:
        return self.answers.filter(author_key=self.author_key(user)).first()


class ReflectionWindow(models.Model):
    """When students may answer a lesson's prompts: opened and closed by hand or at set times."""

    class State(models.TextChoices):
        NOT_OPENED = "not_opened", "Not opened yet"
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    lesson = models.OneToOneField(Lesson, on_delete=models.CASCADE, related_name="reflection_window")
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reflection window of {self.lesson}"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.opens_at is None:
            return self.State.NOT_OPENED
        if now < self.opens_at:
            return self.State.SCHEDULED
        if self.closes_at is not None and now >= self.closes_at:
            return self.State.CLOSED
        return self.State.OPEN

    def is_open(self, now=None) -> bool:
        return self.state(now) == self.State.OPEN


class ReflectionReceipt(models.Model):
    """That a student answered a lesson's reflection: the response rate, and nothing about which answers.

    It deliberately has no timestamp, so it cannot be lined up with an anonymous answer's.
    """

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reflection_receipts")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lesson", "student"], name="one_reflection_receipt")]

    def __str__(self) -> str:
        return f"{self.student} answered {self.lesson}"


class Theme(models.Model):
    """A group of similar answers to one prompt, found by clustering and then curated by the staff.

    `label_locked` (renamed by hand) and `curated` (answers moved or merged into it by hand)
    tell a recomputation what it must not undo; see `reflections.services.apply_clustering`.
    A prompt has at most one theme of each special kind: the answers that report nothing
    unclear, and the answers that fit no theme ("Other").
    """

    class Kind(models.TextChoices):
        TOPIC = "topic", "Topic"
        ALL_CLEAR = "all_clear", "Nothing unclear"
        OTHER = "other", "Other"

    prompt = models.ForeignKey(ReflectionPrompt, on_delete=models.CASCADE, related_name="themes")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TOPIC)
    label = models.CharField(max_length=120)
    label_locked = models.BooleanField(default=False)
    curated = models.BooleanField(default=False)
    addressed_at = models.DateTimeField(null=True, blank=True)
    addressed_note = models.TextField(blank=True)
    addressed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The unit-length mean of its answers' embeddings (float32 bytes): for recurring themes.
    centroid = models.BinaryField(null=True, blank=True)
    representative_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["prompt", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def addressed(self) -> bool:
        return self.addressed_at is not None

    @property
    def is_topic(self) -> bool:
        return self.kind == self.Kind.TOPIC

    @property
    def touched_by_staff(self) -> bool:
        return self.label_locked or self.curated or self.addressed or bool(self.addressed_note)

    def centroid_vector(self) -> np.ndarray | None:
        return None if self.centroid is None else np.frombuffer(bytes(self.centroid), dtype=np.float32)


class ReflectionAnswer(models.Model):
    class Source(models.TextChoices):
        WEB = "web", "Answered here"
        IMPORT = "import", "Imported from a CSV file"

    prompt = models.ForeignKey(ReflectionPrompt, on_delete=models.CASCADE, related_name="answers")
    # Only for named prompts; always NULL for anonymous ones (see the module's docstring).
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="reflection_answers"
    )
    author_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    # For imported answers to named prompts: the name the CSV gave, if any.
    respondent = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WEB)
    text = models.TextField()
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    # Placed by hand: a recomputation never moves it.
    pinned = models.BooleanField(default=False)
    # float32 bytes of the text's sentence embedding; cleared when the text changes.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["prompt", "id"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "author_key"], name="one_reflection_answer_per_author"),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    def author_label(self) -> str:
        """What the course staff see as the author: a name only for named prompts."""
        if self.prompt.anonymous:
            return "Anonymous"
        if self.student is not None:
            return self.student.get_full_name() or self.student.username
        if self.source == self.Source.IMPORT:
            return self.respondent or "Imported, no name"
        # Given while the prompt was anonymous: it stays so.
        return "Anonymous"

    def embedding_vector(self) -> np.ndarray | None:
        return None if self.embedding is None else np.frombuffer(bytes(self.embedding), dtype=np.float32)


class ThemeComputation(models.Model):
    """The state of grouping one prompt's answers into themes: the page polls it for progress.

    The row is the truth and the Celery message only a doorbell: a run is claimed with a
    conditional update (scheduled -> running), and a periodic sweep re-enqueues runs whose
    message was lost or whose worker died.
    """

    class State(models.TextChoices):
        IDLE = "idle", "Up to date"
        SCHEDULED = "scheduled", "Waiting to start"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed"

    prompt = models.OneToOneField(ReflectionPrompt, on_delete=models.CASCADE, related_name="computation")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IDLE)
    run_after = models.DateTimeField(null=True, blank=True)
    # New answers arrived while running: run again when done.
    rerun_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=120, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every finished run, so a page can tell that its themes are out of date.
    version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Themes of {self.prompt_id}: {self.get_state_display()}"

    def as_status(self) -> dict:
        return {
            "prompt": self.prompt_id,
            "state": self.state,
            "state_label": self.get_state_display(),
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "version": self.version,
            "busy": self.state in (self.State.SCHEDULED, self.State.RUNNING),
        }

