"""Importing answers collected elsewhere (an LMS survey, a form) from a CSV file into a lesson's prompt."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reflections.csvfiles import CsvProblem, read_answers
from reflections.models import ReflectionAnswer, ThemeComputation

from .conftest import answer_url


def upload(client, cast, prompt, content: bytes, column="answer", name_column=""):
    client.force_login(cast.instructor)
    return client.post(answer_url(cast) + "import/", {
        "prompt": prompt.pk, "column": column, "name_column": name_column,
        "file": SimpleUploadedFile("survey.csv", content, content_type="text/csv"),
    })


def test_the_instructor_imports_a_surveys_answers(client, cast, prompts):
    content = "name,answer\nZoé,teacher forcing\nYann,the softmax temperature\n,\nAda,\n".encode()
    response = upload(client, cast, prompts.understood, content, name_column="name")
    assert response.status_code == 302
    answers = ReflectionAnswer.objects.filter(prompt=prompts.understood).order_by("id")
    assert [(a.text, a.respondent, a.source) for a in answers] == [
        ("teacher forcing", "Zoé", "import"), ("the softmax temperature", "Yann", "import")]
    assert ThemeComputation.objects.get(prompt=prompts.understood).state == "scheduled"
    page = client.get(answer_url(cast) + "review/").content.decode()
    assert "Imported 2 answers" in page
    assert "1 rows had an empty answer" in page
    assert "and 2 answers were imported" in page


def test_importing_the_same_file_twice_adds_nothing(client, cast, prompts):
    content = b"answer\nattention\ncross-entropy\n"
    upload(client, cast, prompts.curious, content)
    upload(client, cast, prompts.curious, content)
    assert ReflectionAnswer.objects.filter(prompt=prompts.curious).count() == 2


def test_names_are_not_kept_for_an_anonymous_prompt(client, cast, prompts):
    response = upload(client, cast, prompts.struggled, b"name;answer\nZo\xc3\xa9;masking\n", name_column="name")
    answer = ReflectionAnswer.objects.get(prompt=prompts.struggled)
    assert answer.respondent == ""
    assert answer.student is None
    assert answer.text == "masking"
    assert "names were not kept" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("content", "column", "message"), [
    (b"text\nhello\n", "answer", "there is no column “answer”; the file's columns are: “text”"),
    (b"answer\n\xff\xfehello\n", "answer", "not UTF-8 text (line 2)"),
    (b"", "answer", "The submitted file is empty"),
    (b"  \n", "answer", "the file is empty"),
    (b"answer\n\n", "answer", "holds no answers"),
    (b"answer\x00\x01", "answer", "binary data"),
])
def test_a_bad_file_is_refused_with_a_clear_message(client, cast, prompts, content, column, message):
    response = upload(client, cast, prompts.understood, content, column=column)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not ReflectionAnswer.objects.exists()


def test_semicolons_tabs_quotes_and_a_byte_order_mark_are_understood():
    semicolons = read_answers("\ufeffid;answer\n1;\"teacher forcing; and labels\"\n".encode())
    assert [row.text for row in semicolons.rows] == ["teacher forcing; and labels"]
    tabs = read_answers(b"id\tAnswer\n1\tmasking\n", column="answer")  # column names match case-insensitively
    assert [row.text for row in tabs.rows] == ["masking"]
    multiline = read_answers(b'answer\n"two\nlines"\nnext\n')
    assert [(row.row, row.text) for row in multiline.rows] == [(2, "two\nlines"), (3, "next")]


def test_a_one_column_file_keeps_commas_inside_answers():
    parsed = read_answers(b"answer\nsoftmax, argmax and sampling\n")
    assert [row.text for row in parsed.rows] == ["softmax, argmax and sampling"]


def test_an_unquoted_comma_in_a_many_column_file_is_not_silently_lost():
    with pytest.raises(CsvProblem):
        read_answers(b"id,name\n1,x\n")


@pytest.mark.parametrize("who", ["ta", "student"])
def test_only_the_instructor_imports(client, cast, prompts, who):
    client.force_login(getattr(cast, who))
    response = client.post(answer_url(cast) + "import/", {"prompt": prompts.understood.pk, "column": "answer",
                                                          "file": SimpleUploadedFile("a.csv", b"answer\nx\n")})
    assert response.status_code == 404
    assert not ReflectionAnswer.objects.exists()
