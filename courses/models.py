"""Courses, their lessons, and who belongs to a course in which role."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from frontdoor.throttle import link_key

# No 0/O, 1/I/L: a code read aloud or off a projector should not be mistyped.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_join_code(text: str) -> str:
    """What a person typed, as it is stored: no spaces or dashes, upper case."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # The stable id from the course pack's course.toml; empty for courses made on the web.
    pack_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    join_code = models.CharField(max_length=16, unique=True, default=new_join_code)
    joining_open = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("course_detail", args=[self.slug])

    def join_path(self) -> str:
        """The join link staff hand out: its key lets it pass the locks that wrong codes cause."""
        return reverse("join_with_link", args=[self.join_code]) + f"?k={self.join_key()}"

    def join_key(self) -> str:
        return link_key("course", self.pk, self.join_code)

    def join_url(self) -> str:
        return settings.SITE_URL + self.join_path()

    def join_url_to_type(self) -> str:
        """The address as a projector writes it, for typing: the link and QR code add the key."""
        return settings.SITE_URL + reverse("join_with_link", args=[self.join_code])

    def regenerate_join_code(self) -> None:
        self.join_code = new_join_code()
        self.save(update_fields=["join_code", "updated_at"])

    def active_lessons(self) -> models.QuerySet[Lesson]:
        return self.lessons.filter(archived=False).order_by("position", "id")


class Membership(models.Model):
    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", "Instructor"
        TEACHING_ASSISTANT = "ta", "Teaching assistant"
        STUDENT = "student", "Student"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="one_membership_per_course")]
        ordering = ["role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} ({self.get_role_display()})"

    @property
    def is_staff(self) -> bool:
        """Instructors and teaching assistants: they see everyone's work."""
        return self.role in (self.Role.INSTRUCTOR, self.Role.TEACHING_ASSISTANT)

    @property
    def is_instructor(self) -> bool:
        return self.role == self.Role.INSTRUCTOR


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    # NULL rather than "" for lessons made outside a pack, so they never collide in the
    # (course, pack_id) unique constraint.
    pack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, help_text="Markdown with $math$.")
    body_html = models.TextField(blank=True, editable=False)
    # A lesson that left its course pack keeps its students' work but is no longer listed.
    archived = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "pack_id"], name="one_lesson_per_pack_id"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        from .markdown import render_markdown

        self.body_html = render_markdown(self.body)
        if "update_fields" in kwargs and kwargs["update_fields"] is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("lesson_detail", args=[self.course.slug, self.slug])
