"""Who sees which reflection: a student sees only their own answers; anonymous answers carry no name anywhere."""

import pytest

from reflections.models import ReflectionAnswer, Theme
from reflections.services import move_answer, reply_to

from .conftest import add_students, answer_url, review_url, submit

RANK = {"outsider": 0, "student": 1, "ta": 2, "instructor": 3}


@pytest.fixture
def answered(client, cast, prompts, open_window):
    """The cast's student and a classmate answered; a theme holds the classmate's named answer."""
    classmate = add_students(cast, 1, prefix="classmate")[0]
    submit(client, cast, cast.student, {prompts.understood: "Sara understood tokenization",
                                        prompts.struggled: "Sara is lost with cross-entropy"})
    submit(client, cast, classmate, {prompts.understood: "Classmate understood greedy decoding",
                                     prompts.struggled: "Classmate is lost with masking"})
    theme = Theme.objects.create(prompt=prompts.understood, label="Decoding", label_locked=True)
    move_answer(ReflectionAnswer.objects.get(text__startswith="Classmate understood"), theme)
    client.logout()
    return classmate


def staff_pages(cast) -> list[str]:
    return [review_url(cast), review_url(cast) + "status.json", answer_url(cast) + "export.csv"]


@pytest.mark.parametrize("who", ["outsider", "student"])
def test_students_and_outsiders_get_404_on_staff_pages(client, cast, answered, who):
    client.force_login(getattr(cast, who))
    for url in staff_pages(cast):
        assert client.get(url).status_code == 404, url
    assert client.get(answer_url(cast) + "import/").status_code == 404


def test_teaching_assistants_review_but_do_not_import(client, cast, answered):
    client.force_login(cast.ta)
    for url in staff_pages(cast):
        assert client.get(url).status_code == 200, url
    assert client.get(answer_url(cast) + "import/").status_code == 404


def test_outsiders_cannot_even_see_the_form(client, cast, answered):
    client.force_login(cast.outsider)
    assert client.get(answer_url(cast)).status_code == 404
    assert client.get(f"/c/{cast.course.slug}/reflections/").status_code == 404


def test_a_student_never_sees_another_students_answers(client, cast, answered):
    client.force_login(cast.student)
    pages = [answer_url(cast), cast.lesson.get_absolute_url(), cast.course.get_absolute_url(),
             f"/c/{cast.course.slug}/reflections/"]
    for url in pages:
        page = client.get(url).content.decode()
        assert "Classmate" not in page, url
    assert "Sara understood tokenization" in client.get(f"/c/{cast.course.slug}/reflections/").content.decode()


@pytest.mark.parametrize("action", ["rename", "merge", "addressed"])
def test_students_cannot_touch_themes(client, cast, answered, action):
    theme = Theme.objects.get()
    client.force_login(cast.student)
    response = client.post(f"/c/{cast.course.slug}/reflections/themes/{theme.pk}/{action}/", {"label": "x", "into": 1})
    assert response.status_code == 404
    assert Theme.objects.get().label == "Decoding"


@pytest.mark.parametrize("action", ["move", "reply"])
def test_students_cannot_move_or_reply_to_answers(client, cast, answered, action):
    target = ReflectionAnswer.objects.get(text__startswith="Sara understood")
    client.force_login(answered)  # the classmate
    response = client.post(f"/c/{cast.course.slug}/reflections/answers/{target.pk}/{action}/",
                           {"reply": "ha", "theme": "new"})
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.reply == ""
    assert target.theme is None


def test_staff_of_another_course_cannot_reach_this_courses_themes(client, cast, answered):
    from courses.models import Membership

    Membership.objects.filter(user=cast.outsider, course=cast.other_course).update(role="instructor")
    theme = Theme.objects.get()
    client.force_login(cast.outsider)
    assert client.post(f"/c/{cast.other_course.slug}/reflections/themes/{theme.pk}/rename/",
                       {"label": "hijacked"}).status_code == 404
    assert Theme.objects.get().label == "Decoding"


def test_anonymous_answers_are_stored_without_a_name(cast, answered, prompts):
    anonymous = ReflectionAnswer.objects.filter(prompt=prompts.struggled)
    assert anonymous.count() == 2
    assert set(anonymous.values_list("student", flat=True)) == {None}
    named = ReflectionAnswer.objects.filter(prompt=prompts.understood)
    assert set(named.values_list("student", flat=True)) == {cast.student.pk, answered.pk}


def test_anonymous_answers_never_show_a_name_to_the_staff(client, cast, answered, prompts):
    client.force_login(cast.instructor)
    client.post(review_url(cast).replace("review/", "recompute/"))
    review = client.get(review_url(cast)).content.decode()
    export = client.get(answer_url(cast) + "export.csv").content.decode()
    for text in (review, export):
        assert "Sara is lost with cross-entropy" in text
        assert "Sara Student" in text  # her named answer is shown with her name…
    start = review.index(f'id="prompt-{prompts.struggled.pk}"')
    struggled = review[start:review.index('<section class="prompt-review"', start)]
    assert "Sara is lost with cross-entropy" in struggled
    assert "Classmate is lost with masking" in struggled
    assert struggled.count("— Anonymous") == 2
    for name in ("Sara", "sara", "Number0", "classmate0", "Classmate understood"):
        assert name not in struggled.replace("Sara is lost", "").replace("Classmate is lost", "")
    for line in export.splitlines():
        if "lost with" in line:
            assert "Anonymous" in line
            assert "Sara" not in line.replace("Sara is lost", "")


def test_a_reply_to_an_anonymous_answer_reaches_its_author_only(client, cast, answered, prompts):
    answer = ReflectionAnswer.objects.get(text="Sara is lost with cross-entropy")
    reply_to(answer, by=cast.instructor, text="We revisit cross-entropy on Monday.")
    client.force_login(cast.student)
    assert "We revisit cross-entropy on Monday." in client.get(answer_url(cast)).content.decode()
    client.force_login(answered)
    assert "We revisit cross-entropy" not in client.get(answer_url(cast)).content.decode()
    assert "We revisit cross-entropy" not in client.get(f"/c/{cast.course.slug}/reflections/").content.decode()
