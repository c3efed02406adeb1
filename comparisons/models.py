"""The LLM-comparison homework: criteria proposed and merged, one model per student, a class table.

Phase 1 (`criteria`): students propose criteria (name, definition, how to measure); the
instructor merges them, and the pack's suggestions, into the final list.
Phase 2 (`table`): each student picks one model of the instructor's list (the picks are
balanced so every model is covered) and gives a value and a source link per criterion.
The staff verify cells, comment and grade; after the deadline every student sees the table.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from courses.markdown import render_markdown
from courses.models import Course, Lesson


def points_text(points) -> str:
    """8.50 -> "8.5", 10.00 -> "10": points as a person writes them."""
    return f"{points.normalize():f}" if points is not None else ""


class ComparisonHomework(models.Model):
    class Phase(models.TextChoices):
        CRITERIA = "criteria", "Proposing criteria"
        TABLE = "table", "Filling in the table"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="comparison_homeworks")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="comparison_homeworks")
    pack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown.")
    instructions_html = models.TextField(blank=True, editable=False)
    max_points = models.DecimalField(max_digits=6, decimal_places=2, default=10, validators=[MinValueValidator(0)])
    archived = models.BooleanField(default=False)
    # Set on the site by the instructor, not in the pack: they change with every run of the course.
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.CRITERIA)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "lesson__position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "pack_id"], name="one_comparison_per_pack_id")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.instructions_html = render_markdown(self.instructions)
        if kwargs.get("update_fields") is not None and "instructions" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "instructions_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("comparison_detail", args=[self.course.slug, self.pk])

    @property
    def max_points_text(self) -> str:
        return points_text(self.max_points)

    def past_deadline(self, now=None) -> bool:
        return self.deadline is not None and (now or timezone.now()) >= self.deadline

    def table_open_for_students(self, now=None) -> bool:
        """Students may pick a model and fill in their row."""
        return self.phase == self.Phase.TABLE and not self.past_deadline(now)

    def active_models(self) -> models.QuerySet[ComparedModel]:
        return self.compared_models.filter(archived=False).order_by("position", "id")

    def criteria_list(self) -> models.QuerySet[Criterion]:
        return self.criteria.order_by("position", "id")


class ComparedModel(models.Model):
    """One LLM of the instructor's list."""

    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="compared_models")
    pack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=120)
    maker = models.CharField(max_length=120, blank=True)
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["homework", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["homework", "pack_id"], name="one_compared_model_per_pack_id")]

    def __str__(self) -> str:
        return self.name


class SuggestedCriterion(models.Model):
    """A criterion the course pack suggests; the instructor may take it into the final list."""

    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="suggestions")
    pack_id = models.CharField(max_length=64)
    name = models.CharField(max_length=120)
    definition = models.TextField(blank=True)
    how_to_measure = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["homework", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["homework", "pack_id"], name="one_suggestion_per_pack_id")]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    """A column of the class table: the final list, made by the instructor."""

    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(max_length=120)
    definition = models.TextField(blank=True)
    how_to_measure = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    suggestions = models.ManyToManyField(SuggestedCriterion, blank=True, related_name="used_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["homework", "position", "id"]

    def __str__(self) -> str:
        return self.name


class CriterionProposal(models.Model):
    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="proposals")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="criterion_proposals")
    name = models.CharField(max_length=120)
    definition = models.TextField()
    how_to_measure = models.TextField()
    merged_into = models.ForeignKey(
        Criterion, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["homework", "name", "id"]

    def __str__(self) -> str:
        return self.name


class ModelPick(models.Model):
    """The model a student researches."""

    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="picks")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_picks")
    model = models.ForeignKey(ComparedModel, on_delete=models.PROTECT, related_name="picks")
    picked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["homework", "student"], name="one_model_pick_per_student")]

    def __str__(self) -> str:
        return f"{self.student} researches {self.model}"


http_url = URLValidator(schemes=["http", "https"], message="Give a web address starting with http:// or https://.")


class TableEntry(models.Model):
    """One student's value for one criterion of their model: a cell (or part of one) of the table."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Not reviewed yet"
        VERIFIED = "verified", "Verified"
        NEEDS_SOURCE = "needs_source", "Needs a source"

    pick = models.ForeignKey(ModelPick, on_delete=models.CASCADE, related_name="entries")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="entries")
    value = models.CharField(max_length=500)
    source_url = models.URLField(max_length=800, validators=[http_url])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pick", "criterion__position", "criterion_id"]
        constraints = [models.UniqueConstraint(fields=["pick", "criterion"], name="one_entry_per_pick_and_criterion")]

    def __str__(self) -> str:
        return f"{self.pick.model} · {self.criterion}: {self.value}"


class HomeworkGrade(models.Model):
    homework = models.ForeignKey(ComparisonHomework, on_delete=models.CASCADE, related_name="grades")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comparison_grades")
    points = models.DecimalField(max_digits=6, decimal_places=2, validators=[MinValueValidator(0)])
    feedback = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["homework", "student"], name="one_grade_per_student")]

    def __str__(self) -> str:
        return f"{self.student}: {self.points_text} / {self.homework.max_points_text}"

    @property
    def points_text(self) -> str:
        return points_text(self.points)
