"""What the LLM-comparison homework adds to lesson pages and the course navigation."""

from django.urls import reverse

from courses.panels import CourseLink, Panel

from .models import ComparisonHomework, ModelPick


def lesson_panel(request, lesson, membership) -> Panel | None:
    homeworks = list(ComparisonHomework.objects.filter(lesson=lesson, archived=False))
    if not homeworks:
        return None
    picks = {}
    if not membership.is_staff:
        picks = {p.homework_id: p for p in ModelPick.objects.filter(homework__in=homeworks, student=request.user)
                 .select_related("model")}
    items = [{"homework": homework, "pick": picks.get(homework.pk)} for homework in homeworks]
    return Panel("comparisons/_lesson_panel.html", {"items": items, "membership": membership}, order=60)


def course_links(course, membership) -> list[CourseLink]:
    homeworks = ComparisonHomework.objects.filter(course=course, archived=False, lesson__archived=False)
    if not homeworks.exists():
        return []
    return [CourseLink("comparisons", "LLM comparison", reverse("comparison_list", args=[course.slug]))]
