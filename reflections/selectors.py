"""What the reflection pages read: the review of a lesson, response rates, recurring themes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count

from courses.models import Membership

from .models import ReflectionAnswer, ReflectionPrompt, ReflectionReceipt, Theme, ThemeComputation

# Two themes of different lessons are "the same" when their centroids, taken relative to the
# average theme of that kind of prompt in the course, point the same way (the shared "I did
# not understand ..." is what the subtraction removes), or when they are very close outright.
# Measured on tests/data: halves of one theme score 0.43 (median), different themes 0.10
# (95th percentile) relative, and at most 0.76 outright.
RECURRING_RELATIVE = 0.3
RECURRING_ABSOLUTE = 0.8
# Topics first, largest first; then the answers that report nothing unclear; "Other" last.
KIND_ORDER = {Theme.Kind.TOPIC: 0, Theme.Kind.ALL_CLEAR: 1, Theme.Kind.OTHER: 2}


@dataclass
class ThemeReview:
    theme: Theme
    answers: list[ReflectionAnswer]
    representatives: list[ReflectionAnswer]

    @property
    def size(self) -> int:
        return len(self.answers)


@dataclass
class PromptReview:
    prompt: ReflectionPrompt
    themes: list[ThemeReview]
    ungrouped: list[ReflectionAnswer]
    computation: ThemeComputation | None
    answer_count: int

    @property
    def busy(self) -> bool:
        return self.computation is not None and self.computation.state in (
            ThemeComputation.State.SCHEDULED, ThemeComputation.State.RUNNING
        )


def ordered_prompts(prompts: list[ReflectionPrompt]) -> list[ReflectionPrompt]:
    """"Did not fully understand" first: it is what the next lesson should act on."""
    return sorted(prompts, key=lambda p: (p.kind != ReflectionPrompt.Kind.STRUGGLED, p.position, p.pk))


def lesson_review(lesson) -> list[PromptReview]:
    prompts = ordered_prompts(list(ReflectionPrompt.objects.filter(lesson=lesson, archived=False)))
    answers = (
        ReflectionAnswer.objects.filter(prompt__in=prompts)
        .select_related("student", "replied_by", "prompt")
        .defer("embedding")
        .order_by("id")
    )
    themes = Theme.objects.filter(prompt__in=prompts).defer("centroid").select_related("addressed_by")
    computations = {c.prompt_id: c for c in ThemeComputation.objects.filter(prompt__in=prompts)}
    by_prompt: dict[int, list[ReflectionAnswer]] = {}
    for answer in answers:
        by_prompt.setdefault(answer.prompt_id, []).append(answer)
    themes_by_prompt: dict[int, list[Theme]] = {}
    for theme in themes:
        themes_by_prompt.setdefault(theme.prompt_id, []).append(theme)
    reviews = []
    for prompt in prompts:
        prompt_answers = by_prompt.get(prompt.pk, [])
        members: dict[int, list[ReflectionAnswer]] = {}
        ungrouped = []
        for answer in prompt_answers:
            if answer.theme_id is None:
                ungrouped.append(answer)
            else:
                members.setdefault(answer.theme_id, []).append(answer)
        theme_reviews = []
        for theme in themes_by_prompt.get(prompt.pk, []):
            theme_answers = members.get(theme.pk, [])
            by_id = {answer.pk: answer for answer in theme_answers}
            chosen = [by_id[pk] for pk in theme.representative_ids if pk in by_id]
            if len(chosen) < min(2, len(theme_answers)):
                chosen += [answer for answer in theme_answers if answer not in chosen][: 2 - len(chosen)]
            rest = [answer for answer in theme_answers if answer not in chosen]
            theme_reviews.append(ThemeReview(theme, chosen + rest, chosen))
        theme_reviews.sort(key=lambda review: (KIND_ORDER[review.theme.kind], -review.size, review.theme.pk))
        reviews.append(PromptReview(prompt, theme_reviews, ungrouped, computations.get(prompt.pk), len(prompt_answers)))
    return reviews


@dataclass
class ResponseRate:
    answered: int
    students: int
    imported: int

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.students) if self.students else 0


def response_rate(lesson) -> ResponseRate:
    students = Membership.objects.filter(course=lesson.course, role=Membership.Role.STUDENT)
    answered = ReflectionReceipt.objects.filter(lesson=lesson, student__in=students.values("user")).count()
    imported = ReflectionAnswer.objects.filter(
        prompt__lesson=lesson, prompt__archived=False, source=ReflectionAnswer.Source.IMPORT
    ).count()
    return ResponseRate(answered, students.count(), imported)


@dataclass
class RecurringTheme:
    themes: list[Theme] = field(default_factory=list)
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def lessons(self) -> list:
        seen = {}
        for theme in self.themes:
            seen.setdefault(theme.prompt.lesson_id, theme.prompt.lesson)
        return sorted(seen.values(), key=lambda lesson: (lesson.position, lesson.pk))

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    @property
    def entries(self) -> list[tuple[Theme, int]]:
        return [(theme, self.sizes[theme.pk]) for theme in self.themes]

    @property
    def open_count(self) -> int:
        return sum(1 for theme in self.themes if not theme.addressed)


def recurring_themes(course, kinds: list[str]) -> list[RecurringTheme]:
    """Groups of similar topics that come back in two lessons or more, the most persistent first ("Other" and
    "Nothing unclear" are no topic)."""
    themes = list(
        Theme.objects.filter(
            prompt__course=course, prompt__archived=False, prompt__lesson__archived=False, prompt__kind__in=kinds,
            centroid__isnull=False, kind=Theme.Kind.TOPIC,
        ).select_related("prompt__lesson")
    )
    sizes = _sizes(themes)
    themes = [theme for theme in themes if sizes.get(theme.pk)]
    if len(themes) < 2:
        return []
    vectors = np.vstack([theme.centroid_vector() for theme in themes]).astype(np.float64)
    weights = np.array([sizes[theme.pk] for theme in themes], dtype=np.float64)
    relative = vectors - (weights[:, None] * vectors).sum(axis=0) / weights.sum()
    norms = np.linalg.norm(relative, axis=1, keepdims=True)
    relative = relative / np.where(norms > 1e-9, norms, 1.0)
    absolute_similarity = vectors @ vectors.T
    relative_similarity = relative @ relative.T
    parent = list(range(len(themes)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i in range(len(themes)):
        for j in range(i + 1, len(themes)):
            if themes[i].prompt.lesson_id == themes[j].prompt.lesson_id:
                continue
            if relative_similarity[i, j] >= RECURRING_RELATIVE or absolute_similarity[i, j] >= RECURRING_ABSOLUTE:
                parent[root(j)] = root(i)
    groups: dict[int, RecurringTheme] = {}
    for index, theme in enumerate(themes):
        group = groups.setdefault(root(index), RecurringTheme())
        group.themes.append(theme)
        group.sizes[theme.pk] = sizes[theme.pk]
    recurring = [group for group in groups.values() if len(group.lessons) >= 2]
    for group in recurring:
        group.themes.sort(key=lambda theme: (theme.prompt.lesson.position, -group.sizes[theme.pk]))
    recurring.sort(key=lambda group: (-len(group.lessons), -group.total))
    return recurring


def _sizes(themes: list[Theme]) -> dict[int, int]:
    rows = ReflectionAnswer.objects.filter(theme__in=themes).values("theme").annotate(size=Count("id"))
    return {row["theme"]: row["size"] for row in rows}
