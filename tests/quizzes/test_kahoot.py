"""Kahoot's spreadsheet template: import keeps good rows and names bad ones by row and column; export writes it."""

from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from quizzes.kahoot import HEADERS, SpreadsheetUnreadable, exportable, read_kahoot_xlsx, write_kahoot_xlsx
from quizzes.models import Question, Quiz
from tests.quizzes.questions import add_question


def template(rows: list[list], *, header_row: int = 8) -> bytes:
    """A workbook shaped like Kahoot's template: instructions, the header on row 8, questions below."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["B2"] = "Quiz template"
    sheet["B3"] = "Add questions, at least two answer alternatives, time limit and choose correct answers."
    for column, header in enumerate(HEADERS.values(), start=2):
        sheet.cell(row=header_row, column=column, value=header)
    for offset, row in enumerate(rows, start=1):
        sheet.cell(row=header_row + offset, column=1, value=offset)
        for column, value in enumerate(row, start=2):
            sheet.cell(row=header_row + offset, column=column, value=value)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_good_rows_become_questions():
    result = read_kahoot_xlsx(template([
        ["Which family is BERT?", "Encoder-only", "Decoder-only", "Encoder-decoder", None, 20, 1],
        ["Which are seq2seq?", "T5", "GPT-2", "BART", "BERT", 30, "1,3"],
        ["Two answers only", "yes", "no", None, None, "10", "2"],
        ["Numbers as answers", 12, 5000, None, None, 5, 2],
    ]))
    assert result.problems == []
    first, second, third, fourth = result.questions
    assert (first.row, first.text, first.time_limit, first.kind) == (9, "Which family is BERT?", 20, "single")
    assert first.spec["choices"][0] == {"text": "Encoder-only", "correct": True}
    assert [choice["correct"] for choice in second.spec["choices"]] == [True, False, True, False]
    assert [choice["text"] for choice in third.spec["choices"]] == ["yes", "no"]
    assert third.time_limit == 10
    assert [choice["text"] for choice in fourth.spec["choices"]] == ["12", "5000"]


def test_bad_rows_are_reported_by_row_and_column_and_good_rows_kept():
    result = read_kahoot_xlsx(template([
        ["Fine", "a", "b", None, None, 20, 1],
        ["x" * 121, "a", "b", None, None, 20, 1],
        ["Long answer", "a" * 76, "b", None, None, 20, 1],
        ["Bad time", "a", "b", None, None, 45, 1],
        ["No correct", "a", "b", None, None, 20, None],
        ["Empty correct", "a", "b", None, None, 20, "3"],
        ["Out of range", "a", "b", "c", "d", 20, "5"],
        ["One answer", "a", None, None, None, 20, 1],
        [None, "a", "b", None, None, 20, 1],
        ["Same twice", "a", "A", None, None, 20, 1],
        ["Also fine", "c", "d", None, None, 240, "2"],
    ]))
    assert [question.text for question in result.questions] == ["Fine", "Also fine"]
    assert [str(problem) for problem in result.problems] == [
        "row 10, column B (Question): longer than 120 characters (121)",
        "row 11, column C (Answer 1): longer than 75 characters (76)",
        "row 12, column G (Time limit): must be one of 5, 10, 20, 30, 60, 90, 120, 240 seconds, not '45'",
        "row 13, column H (Correct answer(s)): choose at least one correct answer, e.g. 2 or 2,4",
        "row 14, column H (Correct answer(s)): answer 3 is marked correct but is empty",
        "row 15, column H (Correct answer(s)): '5' is not an answer number from 1 to 4",
        "row 16, column C (Answer 1): a question needs at least two answers",
        "row 17, column B (Question): the question is empty",
        "row 18, column D (Answer 2): the same answer is written twice",
    ]


def test_the_templates_empty_numbered_rows_are_skipped():
    data = template([["Only one", "a", "b", None, None, 20, 1]] + [[None] * 7] * 20)
    result = read_kahoot_xlsx(data)
    assert len(result.questions) == 1
    assert result.problems == []


def test_a_header_elsewhere_is_found_by_its_text():
    result = read_kahoot_xlsx(template([["Moved", "a", "b", None, None, 20, 2]], header_row=1))
    assert result.questions[0].spec["choices"][1]["correct"] is True


def test_a_file_that_is_not_a_workbook_is_refused_whole():
    with pytest.raises(SpreadsheetUnreadable, match=r"cannot be read as an Excel \.xlsx workbook"):
        read_kahoot_xlsx(b"Question,Answer 1\n")


def test_a_workbook_without_the_columns_is_refused_whole():
    workbook = Workbook()
    workbook.active.append(["Question - max 120 characters", "Answer 1 - max 75 characters"])
    buffer = BytesIO()
    workbook.save(buffer)
    with pytest.raises(SpreadsheetUnreadable, match=r"no column for: Answer 2, Answer 3, Answer 4, Time limit"):
        read_kahoot_xlsx(buffer.getvalue())


def test_export_writes_the_template_and_reads_back(db, cast):
    quiz = Quiz.objects.create(course=cast.course, title="Round trip")
    add_question(quiz, "single", text="Which family is BERT?", time_limit=20)
    add_question(quiz, "multiple", time_limit=45)
    add_question(quiz, "true_false", text="=1+1 is a formula?")
    add_question(quiz, "ordering")
    add_question(quiz, "single", {"choices": [{"text": f"c{n}", "correct": n == 0} for n in range(5)]})
    data = write_kahoot_xlsx(list(quiz.active_questions()))

    sheet = load_workbook(BytesIO(data)).active
    assert [cell.value for cell in sheet[8]][1:] == list(HEADERS.values())
    assert [cell.value for cell in sheet[9]] == [1, "Which family is BERT?", "Encoder-only", "Decoder-only",
                                                 "Encoder-decoder", None, 20, "1"]
    assert sheet["G10"].value == 60  # 45 s is not a template time: the next one up
    assert sheet["H10"].value == "1,2"
    assert sheet["B11"].value == "=1+1 is a formula?"
    assert sheet["B11"].data_type == "s"  # text, not a formula
    assert sheet["C11"].value == "True"
    assert sheet["H11"].value == "2"
    assert sheet["B12"].value is None  # ordering and 5-answer questions are left out

    back = read_kahoot_xlsx(data)
    assert back.problems == []
    assert [question.text for question in back.questions] == [
        "Which family is BERT?", "A multiple question about $x^2$?", "=1+1 is a formula?"]


def test_exportable_says_why_a_question_is_left_out(db, cast):
    quiz = Quiz.objects.create(course=cast.course, title="Reasons")
    assert "do not exist in Kahoot" in exportable(add_question(quiz, "poll"))
    assert "5 answers" in exportable(
        add_question(quiz, "single", {"choices": [{"text": f"c{n}", "correct": n == 0} for n in range(5)]}))
    assert "longer than 120" in exportable(add_question(quiz, "true_false", text="x" * 121))
    assert exportable(add_question(quiz, "single")) is None
    assert Question.objects.count() == 4


def test_export_writes_the_texts_as_they_read_not_their_markdown(db, cast):
    quiz = Quiz.objects.create(course=cast.course, title="Markdown")
    add_question(quiz, "single", {"choices": [{"text": "**Encoder**-only", "correct": True}, "*Decoder*-only",
                                              "[seq2seq](https://arxiv.org/abs/1409.3215)"]},
                 text="BERT (see [the paper](https://arxiv.org/abs/1810.04805)) is **which** family? $\\hat y$")
    sheet = load_workbook(BytesIO(write_kahoot_xlsx(list(quiz.active_questions())))).active
    assert [cell.value for cell in sheet[9]][1:5] == [
        "BERT (see the paper (https://arxiv.org/abs/1810.04805)) is which family? $\\hat y$",
        "Encoder-only", "Decoder-only", "seq2seq (https://arxiv.org/abs/1409.3215)"]


def test_a_question_fits_the_template_by_its_text_as_exported(db, cast):
    quiz = Quiz.objects.create(course=cast.course, title="Lengths")
    question = add_question(quiz, "true_false", text="**" + "x" * 118 + "**")  # 122 typed, 118 exported
    assert exportable(question) is None
    sheet = load_workbook(BytesIO(write_kahoot_xlsx([question]))).active
    assert sheet["B9"].value == "x" * 118
