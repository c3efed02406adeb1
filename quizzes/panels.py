"""What the quizzes app adds to course pages: tabs, and a "Kahoot time!" section on lessons."""

from django.urls import reverse

from courses.panels import CourseLink, Panel

from .models import Game, Quiz


def course_links(course, membership) -> list[CourseLink]:
    links = []
    if membership.is_staff:
        links.append(CourseLink("quizzes", "Quizzes", reverse("quiz_list", args=[course.slug])))
    links.append(CourseLink("games", "Live games", reverse("game_list", args=[course.slug])))
    return links


def lesson_panel(request, lesson, membership) -> Panel | None:
    quizzes = list(Quiz.objects.filter(lesson=lesson, archived=False).order_by("position", "id"))
    running = list(
        Game.objects.filter(course=lesson.course, finished_at__isnull=True, quiz__lesson=lesson).order_by("-created_at")
    )
    if not quizzes and not running:
        return None
    return Panel(
        "quizzes/_lesson_panel.html",
        {"course": lesson.course, "quizzes": quizzes, "running": running, "is_staff": membership.is_staff},
        order=50,
    )
