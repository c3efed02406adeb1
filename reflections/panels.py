"""What reflections add to the lesson page, the course page and the course navigation."""

from django.urls import reverse

from courses.panels import CourseLink, Panel

from . import selectors, services
from .models import ReflectionPrompt, ReflectionWindow


def lesson_panel(request, lesson, membership) -> Panel | None:
    prompts = list(services.active_prompts(lesson))
    if not prompts:
        return None
    window = services.window_of(lesson)
    context = {"lesson": lesson, "window": window, "state": window.state(), "prompts": prompts,
               "membership": membership}
    if membership.is_staff:
        context.update(
            rate=selectors.response_rate(lesson),
            next=request.get_full_path(),
        )
        return Panel("reflections/_lesson_panel_staff.html", context, order=50)
    answers = services.answers_of(lesson, request.user)
    context.update(answers=answers, replies=[answer for answer in answers.values() if answer.reply])
    return Panel("reflections/_lesson_panel_student.html", context, order=50)


def course_panel(request, course, membership) -> Panel | None:
    """A banner on the course page while a lesson's reflection is open."""
    windows = ReflectionWindow.objects.filter(
        lesson__course=course, lesson__archived=False, opens_at__isnull=False
    ).select_related("lesson")
    open_lessons = [window for window in windows if window.is_open()
                    and ReflectionPrompt.objects.filter(lesson=window.lesson, archived=False).exists()]
    if not open_lessons:
        return None
    rows = []
    for window in open_lessons:
        row = {"lesson": window.lesson, "window": window}
        if membership.is_staff:
            row["rate"] = selectors.response_rate(window.lesson)
        else:
            row["answered"] = bool(services.answers_of(window.lesson, request.user))
        rows.append(row)
    return Panel("reflections/_course_panel.html", {"rows": rows, "membership": membership}, order=10)


def course_links(course, membership) -> list[CourseLink]:
    if not ReflectionPrompt.objects.filter(course=course, archived=False).exists():
        return []
    label = "Reflections" if membership.is_staff else "My reflections"
    return [CourseLink("reflections", label, reverse("reflection_overview", args=[course.slug]))]
