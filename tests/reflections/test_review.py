"""The review page: response rate, themes per prompt, every answer reachable, and the staff's actions."""

import csv
import io

import pytest

from courses.models import Lesson
from reflections import services
from reflections.models import ReflectionAnswer, ReflectionPrompt, Theme

from .conftest import add_students, answer_url, review_url, submit
from .test_themes import STRUGGLES


@pytest.fixture
def class_answers(client, cast, prompts, open_window):
    """Twelve students answered, then the themes were computed."""
    students = add_students(cast, 12)
    texts = [text for texts in STRUGGLES.values() for text in texts]
    for student, text in zip(students, texts, strict=True):
        submit(client, cast, student, {prompts.struggled: text, prompts.understood: f"understood {student}"})
    for prompt in (prompts.struggled, prompts.understood):
        services.request_theme_update(prompt, delay=0)
        services.run_theme_computation(prompt.pk)
    client.force_login(cast.instructor)
    return students


def section(page: str, prompt) -> str:
    start = page.index(f'id="prompt-{prompt.pk}"')
    end = page.find('<section class="prompt-review"', start)
    return page[start:end if end > 0 else None]


def test_the_review_page_shows_the_response_rate_and_the_themes(client, cast, prompts, class_answers):
    page = client.get(review_url(cast)).content.decode()
    assert "12 of 13 students answered (92%)" in page  # the cast's own student did not answer
    struggled = section(page, prompts.struggled)
    themes = Theme.objects.filter(prompt=prompts.struggled)
    assert 2 <= themes.count() <= 4
    for theme in themes:
        assert theme.label in struggled
        assert f"{theme.answers.count()} answers" in struggled
    assert struggled.count("<blockquote>") >= 2 * themes.count() - 1  # representative answers
    for text in [t for texts in STRUGGLES.values() for t in texts]:
        assert text.replace("'", "&#x27;") in struggled  # every answer is reachable under its theme


def test_did_not_understand_comes_first_and_larger_themes_before_smaller(client, cast, prompts, class_answers):
    page = client.get(review_url(cast)).content.decode()
    assert page.index(f'id="prompt-{prompts.struggled.pk}"') < page.index(f'id="prompt-{prompts.understood.pk}"')
    struggled = section(page, prompts.struggled)
    sizes = [theme.answers.count() for theme in Theme.objects.filter(prompt=prompts.struggled)]
    positions = sorted(Theme.objects.filter(prompt=prompts.struggled),
                       key=lambda theme: struggled.index(f'id="theme-{theme.pk}"'))
    assert [theme.answers.count() for theme in positions] == sorted(sizes, reverse=True)


def test_answers_not_grouped_yet_are_listed_too(client, cast, prompts, class_answers):
    ReflectionAnswer.objects.create(prompt=prompts.struggled, text="a brand new answer about masking")
    page = client.get(review_url(cast)).content.decode()
    assert "New answers, not grouped yet (1)" in page
    assert "a brand new answer about masking" in page


def test_rename_merge_address_move_and_reply_from_the_page(client, cast, prompts, class_answers):
    base = f"/c/{cast.course.slug}/reflections"
    first, second = Theme.objects.filter(prompt=prompts.struggled)[:2]
    client.post(f"{base}/themes/{first.pk}/rename/", {"label": "Loss functions"})
    first.refresh_from_db()
    assert first.label == "Loss functions"
    assert first.label_locked

    client.post(f"{base}/themes/{first.pk}/addressed/", {"action": "mark", "note": "revisit at the start of lesson 2"})
    first.refresh_from_db()
    assert first.addressed
    assert first.addressed_by == cast.instructor

    answer = second.answers.first()
    client.post(f"{base}/answers/{answer.pk}/move/", {"theme": first.pk})
    answer.refresh_from_db()
    assert answer.theme == first
    assert answer.pinned

    client.post(f"{base}/answers/{answer.pk}/reply/", {"reply": "See the slides on the shift."})
    answer.refresh_from_db()
    assert answer.reply == "See the slides on the shift."
    assert answer.replied_by == cast.instructor

    response = client.post(f"{base}/themes/{second.pk}/merge/", {"into": first.pk}, follow=True)
    assert "was merged into “Loss functions”" in response.content.decode()
    assert not Theme.objects.filter(pk=second.pk).exists()
    page = response.content.decode()
    assert "revisit at the start of lesson 2" in page
    assert "Addressed" in page


def test_merging_into_a_theme_of_another_prompt_is_refused(client, cast, prompts, class_answers):
    theme = Theme.objects.filter(prompt=prompts.struggled).first()
    other = Theme.objects.filter(prompt=prompts.understood).first()
    response = client.post(f"/c/{cast.course.slug}/reflections/themes/{theme.pk}/merge/", {"into": other.pk},
                           follow=True)
    assert "Choose another theme of the same prompt" in response.content.decode()
    assert Theme.objects.filter(pk=theme.pk).exists()


def test_the_student_sees_the_reply(client, cast, prompts, class_answers):
    answer = ReflectionAnswer.objects.filter(prompt=prompts.understood).first()
    services.reply_to(answer, by=cast.instructor, text="Great, keep going!")
    client.force_login(answer.student)
    assert "Great, keep going!" in client.get(answer_url(cast)).content.decode()
    assert "Great, keep going!" in client.get(f"/c/{cast.course.slug}/reflections/").content.decode()


def test_the_csv_export_has_every_answer_with_its_theme(client, cast, prompts, class_answers):
    ReflectionAnswer.objects.create(prompt=prompts.curious, text="=HYPERLINK(\"http://evil\")")
    response = client.get(answer_url(cast) + "export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 25
    struggled = [row for row in rows if row["prompt_kind"] == "struggled"]
    assert {row["author"] for row in struggled} == {"Anonymous"}
    assert all(row["theme"] != "(not grouped yet)" for row in struggled)
    named = [row for row in rows if row["prompt_kind"] == "understood"]
    assert {row["author"] for row in named} == {f"Student Number{n}" for n in range(12)}
    formula = next(row for row in rows if "HYPERLINK" in row["answer"])
    assert formula["answer"].startswith("'=")  # a spreadsheet shows it, never runs it


def test_the_status_feed_reports_each_prompts_computation(client, cast, prompts, class_answers):
    data = client.get(review_url(cast) + "status.json").json()
    states = {row["prompt"]: row for row in data["computations"]}
    assert states[prompts.struggled.pk]["state"] == "idle"
    assert states[prompts.struggled.pk]["version"] >= 1
    assert data["busy"] is False


def test_recompute_starts_a_computation_for_each_answered_prompt(client, cast, prompts, class_answers):
    response = client.post(answer_url(cast) + "recompute/", follow=True)
    assert "Your renames, moves and merges are kept" in response.content.decode()


def test_the_course_overview_lists_lessons_and_recurring_themes(client, cast, prompts, class_answers):
    lesson2 = Lesson.objects.create(course=cast.course, title="Attention", slug="attention", position=2)
    prompt2 = ReflectionPrompt.objects.create(course=cast.course, lesson=lesson2, kind="struggled",
                                              text="Something you did not fully understand", anonymous=True)
    for text in ["teacher forcing is still confusing: why the true tokens in training?",
                 "still lost on teacher forcing and the shifted labels",
                 "the difference between the attention heads"]:
        ReflectionAnswer.objects.create(prompt=prompt2, text=text)
    services.request_theme_update(prompt2, delay=0)
    services.run_theme_computation(prompt2.pk)
    page = client.get(f"/c/{cast.course.slug}/reflections/").content.decode()
    assert "Transformers" in page
    assert "Attention" in page
    assert "Themes that keep coming back" in page
    assert "2 lessons" in page


@pytest.mark.parametrize(("who", "status"), [("student", 200), ("outsider", 404)])
def test_students_get_their_own_overview(client, cast, prompts, who, status):
    client.force_login(getattr(cast, who))
    response = client.get(f"/c/{cast.course.slug}/reflections/")
    assert response.status_code == status
    if status == 200:
        assert "My reflections" in response.content.decode()


def test_topics_come_first_then_nothing_unclear_then_other(client, cast, prompts, class_answers):
    services.save_reflection(cast.lesson, cast.student, {prompts.struggled.pk: "Nothing, it was all clear"})
    services.request_theme_update(prompts.struggled, delay=0)
    services.run_theme_computation(prompts.struggled.pk)
    other = Theme.objects.create(prompt=prompts.struggled, kind=Theme.Kind.OTHER, label="Other")
    ReflectionAnswer.objects.filter(pk=ReflectionAnswer.objects.filter(prompt=prompts.struggled).first().pk).update(
        theme=other, pinned=True)
    struggled = section(client.get(review_url(cast)).content.decode(), prompts.struggled)
    themes = sorted(Theme.objects.filter(prompt=prompts.struggled, answers__isnull=False).distinct(),
                    key=lambda theme: struggled.index(f'id="theme-{theme.pk}"'))
    assert [theme.kind for theme in themes][-2:] == ["all_clear", "other"]
    assert "Answers that fit no theme." in struggled
