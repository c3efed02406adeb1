"""How long an answer may be: counted the same however the browser ends its lines, and refused, never cut."""

import json

from exercises import services
from exercises.models import Draft, Submission

PAGE = "/c/nlp/exercises/softmax/"
QUESTIONS_PAGE = "/c/nlp/exercises/questions/"
HTMX = {"HX-Request": "true"}


def code_of_length(characters: int, lines: int = 100) -> str:
    """Python of exactly `characters` characters with "\n" line endings, in `lines` lines."""
    line = "x = 1  # " + "a" * (characters // lines - 10) + "\n"
    body = line * (lines - 1)
    return body + "# " + "b" * (characters - len(body) - 3) + "\n"


def answers(why: str) -> dict[str, str]:
    return {"part-dL_dz1": "yhat_1 - 1", "part-direction_z1": "dec", "part-speed": "0.0032 s", "part-why": why}


def test_code_under_the_limit_with_windows_line_endings_is_kept_as_a_draft_and_accepted(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    code = code_of_length(99_950)
    sent = code.replace("\n", "\r\n")  # what a form sends: 100,050 characters
    assert (len(code), len(sent)) == (99_950, 100_050)
    client.force_login(cast.student)
    assert client.post(PAGE + "draft/", {"code": sent}).json() == {"saved": True}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(PAGE + "submit/", {"code": sent}, headers=HTMX)
    assert response.status_code == 200
    assert Submission.objects.get().answer == code


def test_code_over_the_limit_is_counted_the_same_as_a_draft_and_as_a_submission(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    sent = code_of_length(100_001).replace("\n", "\r\n")
    client.force_login(cast.student)
    draft = client.post(PAGE + "draft/", {"code": sent}).json()["error"]
    with django_capture_on_commit_callbacks(execute=False):
        submitted = client.post(PAGE + "submit/", {"code": sent}, headers=HTMX).content.decode()
    assert "it is 100,001 characters long and the limit is 100,000" in draft
    assert "Your answer is 100,001 characters long and the limit is 100,000" in submitted
    assert not Submission.objects.exists()
    assert not Draft.objects.exists()


def test_a_submission_counts_line_endings_once_in_the_service_too(cast, code_exercise):
    submission = services.submit(cast.student, code_exercise, code_of_length(99_950).replace("\n", "\r\n"))
    assert len(submission.answer) == 99_950


def test_an_explanation_over_the_limit_is_refused_with_the_limit_not_cut(
        client, cast, questions_exercise, django_capture_on_commit_callbacks):
    client.force_login(cast.student)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(QUESTIONS_PAGE + "submit/", answers("The decoder reads the target. " * 200),
                               headers=HTMX)
    assert response.status_code == 422
    assert ("Your answer to part 4 is 6,000 characters long and the limit is 5,000 per part"
            in response.content.decode())
    assert not Submission.objects.exists()


def test_an_explanation_under_the_limit_with_windows_line_endings_is_kept_whole(
        client, cast, questions_exercise, django_capture_on_commit_callbacks):
    paragraph = "The decoder reads the target shifted right, so every position trains in one pass.\n"
    why = paragraph * 60  # 4,980 characters, 5,040 as a form sends them
    client.force_login(cast.student)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(QUESTIONS_PAGE + "submit/", answers(why.replace("\n", "\r\n")), headers=HTMX)
    assert response.status_code == 200
    assert json.loads(Submission.objects.get().answer)["why"] == why


def test_the_explanation_box_says_its_limit_and_keeps_to_it(client, cast, questions_exercise):
    client.force_login(cast.student)
    page = client.get(QUESTIONS_PAGE).content.decode()
    textarea = page.split('<textarea id="part-why"', 1)[1].split(">", 1)[0]
    assert 'maxlength="5000"' in textarea
    assert 'aria-describedby="count-why"' in textarea
    assert "style=" not in textarea
    assert '<p class="help char-count" id="count-why">Up to 5,000 characters.</p>' in page
    assert "exercises/char_count.js" in page
