"""The reflection window: opened and closed by the instructor, or at set times; answers only while open."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reflections.models import ReflectionAnswer, ReflectionReceipt, ReflectionWindow

from .conftest import answer_url, submit


def window_url(cast) -> str:
    return answer_url(cast) + "window/"


def test_a_never_opened_reflection_refuses_answers(client, cast, prompts):
    response = submit(client, cast, cast.student, {prompts.understood: "softmax"})
    assert response.status_code == 302
    assert not ReflectionAnswer.objects.exists()
    page = client.get(answer_url(cast)).content.decode()
    assert "Your instructor opens it at the end of the lesson" in page


def test_the_instructor_opens_and_closes_it_from_the_lesson_page(client, cast, prompts):
    client.force_login(cast.instructor)
    lesson_page = client.get(cast.lesson.get_absolute_url()).content.decode()
    assert "Open the reflection now" in lesson_page
    response = client.post(window_url(cast), {"action": "open", "next": cast.lesson.get_absolute_url()})
    assert response["Location"] == cast.lesson.get_absolute_url()
    window = ReflectionWindow.objects.get(lesson=cast.lesson)
    assert window.state() == "open"
    assert window.updated_by == cast.instructor
    assert "Close the reflection now" in client.get(cast.lesson.get_absolute_url()).content.decode()

    client.post(window_url(cast), {"action": "close"})
    window.refresh_from_db()
    assert window.state() == "closed"


def test_students_see_a_banner_while_it_is_open(client, cast, prompts, open_window):
    client.force_login(cast.student)
    lesson_page = client.get(cast.lesson.get_absolute_url()).content.decode()
    assert "Question time is open." in lesson_page
    assert answer_url(cast) in lesson_page
    assert "Question time: “Transformers”" in client.get(cast.course.get_absolute_url()).content.decode()


def test_students_answer_and_edit_until_it_closes(client, cast, prompts, open_window):
    submit(client, cast, cast.student, {prompts.understood: "Teacher forcing", prompts.curious: "DeepSeek"})
    assert ReflectionAnswer.objects.count() == 2
    assert ReflectionReceipt.objects.filter(lesson=cast.lesson, student=cast.student).exists()

    submit(client, cast, cast.student, {prompts.understood: "Teacher forcing and the shift", prompts.curious: ""})
    assert list(ReflectionAnswer.objects.values_list("text", flat=True)) == ["Teacher forcing and the shift"]

    open_window.closes_at = timezone.now() - timedelta(seconds=1)
    open_window.save()
    response = submit(client, cast, cast.student, {prompts.understood: "changed after the bell"})
    assert response.status_code == 302
    assert ReflectionAnswer.objects.get().text == "Teacher forcing and the shift"
    page = client.get(answer_url(cast)).content.decode()
    assert "The reflection is closed" in page
    assert "Teacher forcing and the shift" in page  # their answers stay readable


def test_clearing_every_answer_removes_the_receipt(client, cast, prompts, open_window):
    submit(client, cast, cast.student, {prompts.understood: "attention"})
    submit(client, cast, cast.student, {prompts.understood: " "})
    assert not ReflectionAnswer.objects.exists()
    assert not ReflectionReceipt.objects.exists()


def test_it_opens_and_closes_at_set_times(client, cast, prompts):
    client.force_login(cast.instructor)
    opens = timezone.localtime() + timedelta(hours=1)
    closes = opens + timedelta(minutes=10)
    client.post(window_url(cast), {"action": "schedule", "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
                                   "closes_at": closes.strftime("%Y-%m-%dT%H:%M")})
    window = ReflectionWindow.objects.get(lesson=cast.lesson)
    assert window.state() == "scheduled"
    assert window.state(window.opens_at + timedelta(minutes=1)) == "open"
    assert window.state(window.closes_at) == "closed"

    client.force_login(cast.student)
    assert "opens on" in client.get(cast.lesson.get_absolute_url()).content.decode()
    window.opens_at = timezone.now() - timedelta(minutes=1)
    window.save()
    submit(client, cast, cast.student, {prompts.understood: "the decoder start token"})
    assert ReflectionAnswer.objects.count() == 1


def test_the_instructor_can_cancel_a_planned_opening(client, cast, prompts):
    ReflectionWindow.objects.create(lesson=cast.lesson, opens_at=timezone.now() + timedelta(hours=2))
    client.force_login(cast.instructor)
    client.post(window_url(cast), {"action": "close"})
    assert ReflectionWindow.objects.get().state() == "not_opened"


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "schedule", "opens_at": "2030-01-02T10:00", "closes_at": "2030-01-02T09:00"}, "must close after"),
    ({"action": "schedule", "opens_at": ""}, "Choose when the reflection opens"),
    ({"action": "schedule", "opens_at": "tomorrow"}, "not valid"),
    ({"action": "open", "closes_at": "2001-01-01T10:00"}, "in the past"),
])
def test_impossible_times_are_refused_with_a_reason(client, cast, prompts, data, message):
    client.force_login(cast.instructor)
    response = client.post(window_url(cast), data, follow=True)
    assert message in response.content.decode()
    assert ReflectionWindow.objects.filter(opens_at__isnull=False).count() == 0


@pytest.mark.parametrize("who", ["ta", "student", "outsider"])
def test_only_the_instructor_opens_and_closes_it(client, cast, prompts, who):
    client.force_login(getattr(cast, who))
    assert client.post(window_url(cast), {"action": "open"}).status_code == 404
    assert not ReflectionWindow.objects.exists()


def test_staff_see_the_form_as_a_preview_and_cannot_answer(client, cast, prompts, open_window):
    client.force_login(cast.ta)
    page = client.get(answer_url(cast)).content.decode()
    assert "This is the form students see" in page
    client.post(answer_url(cast), {f"prompt_{prompts.understood.pk}": "staff answer"})
    assert not ReflectionAnswer.objects.exists()


def test_the_form_says_which_prompts_are_anonymous(client, cast, prompts, open_window):
    client.force_login(cast.student)
    page = client.get(answer_url(cast)).content.decode()
    assert page.count("Your instructor sees your answer but not your name.") == 1
    assert page.count("Your instructor sees your name with this answer.") == 2
    assert 'name="viewport"' in page
    assert "<textarea" in page


def test_answers_longer_than_the_limit_are_refused(client, cast, prompts, open_window):
    response = submit(client, cast, cast.student, {prompts.understood: "x" * 2001})
    assert response.status_code == 200
    assert "at most 2000 characters" in response.content.decode()
    assert not ReflectionAnswer.objects.exists()


def test_an_answer_at_the_limit_counts_its_line_breaks_once_as_the_browser_does(client, cast, prompts, open_window):
    # The browser's maxlength lets 2000 characters with line breaks through; the form sends each as "\r\n".
    text = ("x" * 99 + "\n") * 20
    response = submit(client, cast, cast.student, {prompts.understood: text.replace("\n", "\r\n")})
    assert "at most 2000 characters" not in response.content.decode()
    assert ReflectionAnswer.objects.get().text == text.strip()
