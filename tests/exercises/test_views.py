"""The exercise pages: a student's loop, staff's submissions and regrades, the gradebook, and who sees what."""

import csv
import io
import json

import pytest

from exercises import grading
from exercises.models import Draft, Submission
from tests.conftest import GOOD_SOFTMAX, NAIVE_SOFTMAX, make_user

PAGE = "/c/nlp/exercises/softmax/"


def post_submission(client, code, capture, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    with capture(execute=False):
        return client.post(PAGE + "submit/", {"code": code}, headers=headers)


def grade_all():
    for submission in Submission.objects.filter(status="queued"):
        grading.grade(submission.pk)


def test_the_page_shows_the_statement_and_the_starter_code(client, cast, code_exercise):
    client.force_login(cast.student)
    page = client.get(PAGE).content.decode()
    assert "Write <code>softmax(x, dim=-1)</code>" in page
    assert 'data-editor="python"' in page
    assert "def softmax" in page
    assert "4 points" in page


def test_a_submission_shows_queued_then_its_verdict(client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    response = post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks, htmx=True)
    assert "Queued for grading" in response.content.decode()
    submission = Submission.objects.get()
    status = client.get(f"/c/nlp/submissions/{submission.pk}/status.json").json()
    assert status == {"id": submission.pk, "status": "queued", "finished": False}
    grade_all()
    verdict = client.get(f"/c/nlp/submissions/{submission.pk}/verdict/").content.decode()
    assert "3 / 4" in verdict
    assert "Visible tests passed; 1 of 1 hidden tests failed." in verdict
    assert "hidden" in verdict


def test_a_refused_submission_says_why_and_keeps_the_code_as_a_draft(client, cast, code_exercise,
                                                                      django_capture_on_commit_callbacks):
    code_exercise.max_attempts = 1
    code_exercise.save()
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    response = post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks, htmx=True)
    assert response.status_code == 422
    assert "You have used all 1 attempts" in response.content.decode()
    assert Draft.objects.get(user=cast.student).answer == GOOD_SOFTMAX


def test_drafts_survive_a_reload(client, cast, code_exercise):
    client.force_login(cast.student)
    assert client.post(PAGE + "draft/", {"code": "def softmax(x, dim=-1):\r\n    pass\r\n"}).json() == {"saved": True}
    assert "def softmax(x, dim=-1):\n    pass" in client.get(PAGE).content.decode()


def test_history_shows_a_diff_and_restores_an_attempt(client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    first, second = Submission.objects.order_by("number")
    page = client.get(f"/c/nlp/submissions/{second.pk}/").content.decode()
    assert "Changes since attempt 1" in page
    assert '<span class="del">-    e = x.exp()</span>' in page
    client.post(f"/c/nlp/submissions/{first.pk}/restore/")
    assert Draft.objects.get(user=cast.student).answer == NAIVE_SOFTMAX


def test_a_student_never_sees_another_students_submission(client, cast, code_exercise,
                                                          django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    submission = Submission.objects.get()
    classmate = make_user("carl")
    cast.course.memberships.create(user=classmate, role="student")
    client.force_login(classmate)
    for suffix in ("", "verdict/", "status.json"):
        assert client.get(f"/c/nlp/submissions/{submission.pk}/{suffix}").status_code == 404
    assert client.post(f"/c/nlp/submissions/{submission.pk}/restore/").status_code == 404
    client.force_login(cast.ta)
    assert client.get(f"/c/nlp/submissions/{submission.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("url", "method"),
    [
        (PAGE + "submissions/", "get"), (PAGE + "regrade/", "post"), (PAGE + "run-solution/", "post"),
        ("/c/nlp/review/", "get"), ("/c/nlp/gradebook/", "get"), ("/c/nlp/gradebook.csv", "get"),
    ],
)
def test_staff_pages_are_hidden_from_students_and_outsiders(client, cast, code_exercise, url, method):
    for user in (cast.student, cast.outsider):
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 404
    client.force_login(cast.ta)
    assert getattr(client, method)(url).status_code in (200, 302)


def test_outsiders_cannot_open_or_submit_to_an_exercise(client, cast, code_exercise):
    client.force_login(cast.outsider)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE + "submit/", {"code": GOOD_SOFTMAX}).status_code == 404
    assert not Submission.objects.exists()


def test_staff_filter_submissions(client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    client.force_login(cast.ta)
    full = client.get(PAGE + "submissions/?min_score=4").content.decode()
    assert "1 submission." in full
    assert "2 submissions." in client.get(PAGE + "submissions/?student=sara").content.decode()
    assert "0 submissions." in client.get(PAGE + "submissions/?student=otto").content.decode()
    response = client.get(PAGE + "submissions/?min_score=lots", follow=True)
    assert "is not a number; that filter was ignored" in response.content.decode()


def test_regrading_all_runs_in_the_background_and_shows_what_changed(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    # The author gives a test more weight; reloading the pack updates the files.
    files = dict(code_exercise.files)
    files["tests.py"] = files["tests.py"].replace('"Rows sum to one", points=1', '"Rows sum to one", points=3')
    code_exercise.files = files
    code_exercise.save()
    client.force_login(cast.instructor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(PAGE + "regrade/")
    assert len(callbacks) == 1
    regrade = code_exercise.regrades.get()
    running = client.get(f"/c/nlp/regrades/{regrade.pk}/").content.decode()
    assert "0 of 1 done" in running
    assert 'hx-trigger="every 1s"' in running
    grade_all()
    done = client.get(f"/c/nlp/regrades/{regrade.pk}/").content.decode()
    assert "1 of 1 done" in done
    assert "1 score changed" in done
    assert "sara, attempt 1</a>: 3.0 → 5.0" in done
    submission = Submission.objects.get()
    assert (submission.score, submission.max_score) == (5, 6)


def test_staff_override_a_score_with_a_reason(client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    submission = Submission.objects.get()
    client.force_login(cast.ta)
    client.post(f"/c/nlp/submissions/{submission.pk}/override/", {"score": "4", "reason": "Accepted on appeal"})
    submission.refresh_from_db()
    assert submission.final_score == 4
    client.force_login(cast.student)
    assert "Accepted on appeal" in client.get(f"/c/nlp/submissions/{submission.pk}/verdict/").content.decode()
    response = client.post(f"/c/nlp/submissions/{submission.pk}/override/", {"score": "0", "reason": "x"})
    assert response.status_code == 404


def test_staff_run_the_reference_solution_as_a_test_run(client, cast, code_exercise,
                                                        django_capture_on_commit_callbacks):
    client.force_login(cast.instructor)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(PAGE + "run-solution/")
    grade_all()
    run = Submission.objects.get()
    assert run.is_staff_test
    assert run.score == 4


def test_the_gradebook_counts_the_best_attempt_and_exports_csv(client, cast, code_exercise,
                                                               django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    client.force_login(cast.instructor)
    page = client.get("/c/nlp/gradebook/").content.decode()
    assert "Sara Student" in page
    assert "2 attempts" in page
    export = client.get("/c/nlp/gradebook.csv")
    assert export["Content-Disposition"].startswith('attachment; filename="nlp-gradebook-')
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == ["Username", "Name", "Email", "Softmax (4 pts)", "Total (4 pts)"]
    assert rows[1] == ["sara", "Sara Student", "sara@example.org", "4", "4"]
    assert len(rows) == 2


def test_the_gradebook_csv_defuses_spreadsheet_formulas(client, cast, code_exercise):
    cast.student.first_name = "=HYPERLINK(\"http://evil\")"
    cast.student.last_name = ""
    cast.student.save()
    client.force_login(cast.instructor)
    for export_format in ("plain", "moodle", "canvas"):
        export = client.get(f"/c/nlp/gradebook.csv?format={export_format}").content.decode("utf-8-sig")
        assert "'=HYPERLINK" in export
        assert "\n=HYPERLINK" not in export
        assert ",=HYPERLINK" not in export


def test_the_lesson_lists_exercises_with_status_and_score(client, cast, code_exercise,
                                                          django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert "not started" in page
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert '<span class="badge ok">solved</span>' in page
    assert "4 / 4" in page


def test_a_questions_answer_that_is_not_json_is_refused(cast, code_exercise):
    from exercises import services as exercise_services

    code_exercise.kind = "questions"
    with pytest.raises(exercise_services.SubmissionRefused):
        exercise_services.submit(cast.student, code_exercise, json.dumps(["not", "a", "dict"]))


def test_an_answer_over_the_limit_is_refused_with_the_limit_and_not_an_error(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    response = post_submission(client, "x = 1\n" + "#" * 100_000, django_capture_on_commit_callbacks, htmx=True)
    assert response.status_code == 422
    text = response.content.decode()
    assert "100,006 characters long and the limit is 100,000" in text
    assert "Not submitted." in text
    assert not Submission.objects.exists()
    assert not Draft.objects.exists()


def test_a_draft_over_the_limit_says_what_the_limit_is(client, cast, code_exercise):
    client.force_login(cast.student)
    response = client.post(PAGE + "draft/", {"code": "#" * 100_001})
    assert response.status_code == 413
    assert response.json()["error"].startswith(
        "Draft not saved: it is 100,001 characters long and the limit is 100,000."
    )


def test_a_submission_adds_its_attempt_to_the_history_at_once(client, cast, code_exercise,
                                                               django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    assert "No attempts yet." in client.get(PAGE).content.decode()
    response = post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks, htmx=True)
    history = response.content.decode().split('<section class="history" id="history"', 1)[1]
    opening_tag = history.split(">", 1)[0]
    assert 'hx-swap-oob="true"' in opening_tag
    assert "No attempts yet." not in history
    assert "<td>Queued</td>" in history


def test_the_history_partial_shows_the_graded_attempt(client, cast, code_exercise,
                                                      django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks, htmx=True)
    grade_all()
    history = client.get(PAGE + "history/").content.decode()
    assert "Your attempts" in history
    assert "3 / 4" in history
    assert "Graded" in history
    assert "hx-swap-oob" not in history


def test_the_verdict_carries_a_one_sentence_announcement(client, cast, code_exercise,
                                                        django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    response = post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks, htmx=True)
    assert 'data-announce="Attempt 1: queued for grading."' in response.content.decode()
    grade_all()
    verdict = client.get(f"/c/nlp/submissions/{Submission.objects.get().pk}/verdict/").content.decode()
    assert 'data-announce="Attempt 1: 3 out of 4. Visible tests passed; 1 of 1 hidden tests failed."' in verdict


def test_the_staff_lesson_page_shows_the_class_not_their_own_progress(client, cast, code_exercise,
                                                                      django_capture_on_commit_callbacks):
    classmate = make_user("carl", "Carl Classmate")
    cast.course.memberships.create(user=classmate, role="student")
    newcomer = make_user("nina", "Nina Newcomer")
    cast.course.memberships.create(user=newcomer, role="student")
    client.force_login(cast.student)
    post_submission(client, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    client.force_login(classmate)
    post_submission(client, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    grade_all()
    client.force_login(cast.instructor)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert "Exercises: the class" in page
    assert "not started" not in page
    assert "2 of 3 students" in page
    assert "3.5 / 4" in page  # the mean of 4 and 3
    assert 'aria-label="full marks: 1 of 2"' in page
    assert 'aria-label="75 to 99%: 1 of 2"' in page
    most_failed = page.split('class="most-failed"')[1].split("</ol>")[0]
    assert "(1 of 2)" in most_failed
    assert '<span class="badge">hidden</span>' in most_failed


def test_a_student_still_sees_their_own_status_on_the_lesson_page(client, cast, code_exercise):
    client.force_login(cast.student)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert "Exercises: the class" not in page
    assert "not started" in page
