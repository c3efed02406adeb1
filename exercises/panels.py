"""What the exercises app adds to lesson pages and the course navigation."""

from django.urls import reverse

from courses.panels import CourseLink, Panel

from .models import Submission


def lesson_exercises(request, lesson, membership) -> Panel | None:
    from .views import student_summary

    exercises = list(lesson.exercises.filter(archived=False).order_by("position", "id"))
    if not exercises:
        return None
    rows = [student_summary(exercise, request.user) for exercise in exercises]
    return Panel("exercises/_lesson_panel.html", {"rows": rows, "membership": membership}, order=10)


def course_links(course, membership) -> list[CourseLink]:
    if not membership.is_staff:
        return []
    waiting = Submission.objects.filter(exercise__course=course, status=Submission.Status.NEEDS_REVIEW).count()
    label = f"To review ({waiting})" if waiting else "To review"
    return [CourseLink("review", label, reverse("review_queue", args=[course.slug]))]
