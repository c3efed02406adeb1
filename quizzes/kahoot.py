"""Kahoot's quiz spreadsheet template (.xlsx): import its rows as questions, export a quiz into it.

The template is one sheet: a few lines of instructions, then a header row
("Question - max 120 characters", "Answer 1 - max 75 characters" ... "Answer 4 ...",
"Time limit (sec) ...", "Correct answer(s) ...") and one question per row, with the
correct answers written as "2" or "2,4". As in Kahoot, "2,4" means that answer 2 and
answer 4 are both right: players pick one.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from frontdoor.archives import MB, ArchiveRefused, ZipLimits, check_zip
from frontdoor.sheet_reader import SheetLimits, SheetRefused, SheetUnreadable, read_first_sheet

from .kinds import KINDS
from .models import KAHOOT_TIME_LIMITS, Question
from .text import plain_text

MAX_QUESTION_LENGTH = 120
MAX_ANSWER_LENGTH = 75
ANSWERS = 4
HEADER_ROW = 8
HEADER_SEARCH_ROWS = 30  # the header is looked for in the first rows, below Kahoot's instructions
MAX_ROWS = 1000  # questions below the header
MAX_COLUMNS = 30
# Kahoot's template filled with 1000 questions of the longest texts is a 360 KB file that
# unpacks to 0.8 MB (its sheet). These limits leave room for what Excel, LibreOffice or Google
# Sheets add, and bound what reading can cost whatever the file holds.
MAX_FILE_BYTES = 2 * MB
ZIP_LIMITS = ZipLimits(max_members=100, max_member_bytes=4 * MB, max_total_bytes=8 * MB, max_ratio=100)
# A cell is refused above this before its text is touched; questions are at most 120 characters.
MAX_CELL_CHARACTERS = 1000
MAX_TEXT_CHARACTERS = 2_000_000  # 1000 rows of the longest texts hold about 450,000
PARSE_SECONDS = 10
PARSE_MEMORY_BYTES = 256 * MB  # address space: Python and openpyxl take 150 MB, the full template < 40 MB more


def sheet_limits() -> SheetLimits:
    return SheetLimits(max_rows=HEADER_SEARCH_ROWS + MAX_ROWS, max_columns=MAX_COLUMNS,
                       max_cell_characters=MAX_CELL_CHARACTERS, max_total_characters=MAX_TEXT_CHARACTERS,
                       seconds=PARSE_SECONDS, memory_bytes=PARSE_MEMORY_BYTES)

HEADERS = {
    "question": "Question - max 120 characters",
    "answer1": "Answer 1 - max 75 characters",
    "answer2": "Answer 2 - max 75 characters",
    "answer3": "Answer 3 - max 75 characters",
    "answer4": "Answer 4 - max 75 characters",
    "time": "Time limit (sec) \u2013 5, 10, 20, 30, 60, 90, 120, or 240 secs",  # an en dash, as in the template
    "correct": "Correct answer(s) - choose at least one",
}
SHORT_NAMES = {"question": "Question", "answer1": "Answer 1", "answer2": "Answer 2", "answer3": "Answer 3",
               "answer4": "Answer 4", "time": "Time limit", "correct": "Correct answer(s)"}
INSTRUCTIONS = [
    "Quiz template",
    "Add questions, at least two answer alternatives, time limit and choose correct answers (at least one). "
    "Have fun creating your awesome quiz!",
    "Remember: questions have a limit of 120 characters and answers can have 75 characters max. "
    "If several answers are correct, separate them with a comma.",
    "Exported from Attentive.",
    "And remember, if you're not using Excel you need to export to .xlsx format before you upload to Kahoot!",
]


class SpreadsheetUnreadable(ValueError):
    """The whole file was refused; the message says what to do."""


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    header: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column} ({self.header}): {self.message}"


@dataclass
class QuestionDraft:
    row: int
    text: str
    time_limit: int
    spec: dict
    kind: str = "single"


@dataclass
class ImportResult:
    questions: list[QuestionDraft] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _header_key(text: str) -> str | None:
    folded = " ".join(text.lower().split())
    if folded.startswith("question"):
        return "question"
    for number in range(1, ANSWERS + 1):
        if folded.startswith(f"answer {number}"):
            return f"answer{number}"
    if folded.startswith("time limit"):
        return "time"
    if folded.startswith("correct answer"):
        return "correct"
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


UNREADABLE = ("This file cannot be read as an Excel .xlsx workbook: it is damaged, or not one. "
              "Fill in Kahoot's template and save it as .xlsx (Excel, LibreOffice and Google Sheets all can).")
SAVE_AGAIN = "Save Kahoot's template again with only the questions."


def check_file_size(size: int) -> None:
    """Refuse a file over MAX_FILE_BYTES (from its size alone: call it before reading an upload)."""
    if size > MAX_FILE_BYTES:
        raise SpreadsheetUnreadable(
            f"This file is {size / MB:.1f} MB; a Kahoot spreadsheet is at most {MAX_FILE_BYTES // MB} MB. "
            "Keep only the questions sheet, or split the quiz into several files."
        )


def read_kahoot_xlsx(data: bytes) -> ImportResult:
    """Every good row as a question draft, every bad one as problems naming row and column.

    Whatever the file holds, reading it ends in a result or in SpreadsheetUnreadable saying why:
    its zip directory and XML prologues are checked before anything is parsed, and the sheet is
    parsed in a child process on a budget of time and memory (frontdoor/sheet_reader.py)."""
    check_file_size(len(data))
    try:
        check_zip(data, ZIP_LIMITS, what="This spreadsheet").close()
    except ArchiveRefused as refused:
        raise SpreadsheetUnreadable(f"{refused}. {SAVE_AGAIN}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, RuntimeError,
            NotImplementedError):
        raise SpreadsheetUnreadable(UNREADABLE) from None
    try:
        rows = read_first_sheet(data, sheet_limits())
    except SheetRefused as refused:
        raise SpreadsheetUnreadable(f"This spreadsheet was refused: {refused}. {SAVE_AGAIN}") from None
    except SheetUnreadable:
        raise SpreadsheetUnreadable(UNREADABLE) from None
    header_index, columns = _find_header(rows)
    result = ImportResult()
    last_question_row = header_index + 1 + MAX_ROWS
    for index in range(header_index + 1, len(rows)):
        row_number = index + 1
        values = {key: _text(rows[index][column]) if column < len(rows[index]) else ""
                  for key, column in columns.items()}
        if row_number > last_question_row and any(values.values()):
            raise SpreadsheetUnreadable(
                f"This spreadsheet has questions after row {last_question_row} (row {row_number}): at most "
                f"{MAX_ROWS} questions are read from one file. Split the quiz into several files."
            )
        if not any(values.values()):
            continue  # the template's numbered but empty rows
        draft = _read_row(row_number, values, columns, result.problems)
        if draft:
            result.questions.append(draft)
    return result


def _find_header(rows: list[list]) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {}
        for column, value in enumerate(row):
            key = _header_key(value) if isinstance(value, str) else None
            if key and key not in columns:
                columns[key] = column
        if "question" in columns and len(columns) > 1:
            missing = [SHORT_NAMES[key] for key in HEADERS if key not in columns]
            if missing:
                raise SpreadsheetUnreadable(
                    f"The header row (row {index + 1}) has no column for: {', '.join(missing)}. "
                    "Start from Kahoot's template and keep its columns."
                )
            return index, columns
    raise SpreadsheetUnreadable(
        "No header row found: the first sheet needs Kahoot's columns (\"Question - max 120 characters\", "
        "\"Answer 1 - max 75 characters\" ... \"Correct answer(s)\")."
    )


def _read_row(
    row: int, values: dict[str, str], columns: dict[str, int], problems: list[RowProblem]
) -> QuestionDraft | None:
    before = len(problems)

    def problem(key: str, message: str) -> None:
        problems.append(RowProblem(row, get_column_letter(columns[key] + 1), SHORT_NAMES[key], message))

    question = values["question"]
    if not question:
        problem("question", "the question is empty")
    elif len(question) > MAX_QUESTION_LENGTH:
        problem("question", f"longer than {MAX_QUESTION_LENGTH} characters ({len(question)})")
    answers = {}
    for number in range(1, ANSWERS + 1):
        key = f"answer{number}"
        text = values[key]
        if not text:
            continue
        if len(text) > MAX_ANSWER_LENGTH:
            problem(key, f"longer than {MAX_ANSWER_LENGTH} characters ({len(text)})")
        elif any(text.casefold() == other.casefold() for other in answers.values()):
            problem(key, "the same answer is written twice")
        answers[number] = text
    if len(answers) < 2:
        problem("answer1", "a question needs at least two answers")
    time_limit = None
    raw_time = values["time"]
    try:
        time_limit = int(float(raw_time)) if raw_time else None
    except ValueError:
        pass
    if time_limit not in KAHOOT_TIME_LIMITS:
        allowed = ", ".join(map(str, KAHOOT_TIME_LIMITS))
        problem("time", f"must be one of {allowed} seconds" + (f", not {raw_time!r}" if raw_time else ""))
    correct = set()
    parts = [part.strip() for part in values["correct"].replace(";", ",").split(",") if part.strip()]
    if not parts:
        problem("correct", "choose at least one correct answer, e.g. 2 or 2,4")
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= ANSWERS:
            problem("correct", f"{part!r} is not an answer number from 1 to {ANSWERS}")
        elif int(part) not in answers:
            problem("correct", f"answer {part} is marked correct but is empty")
        else:
            correct.add(int(part))
    if len(problems) != before:
        return None
    choices = [{"text": text, "correct": number in correct} for number, text in sorted(answers.items())]
    return QuestionDraft(row, question, time_limit, KINDS["single"].clean({"choices": choices}))


# -- export -----------------------------------------------------------------------------------


def exportable(question: Question) -> str | None:
    """Why the question does not fit Kahoot's template, or None if it does (lengths of the texts as exported)."""
    if question.kind not in ("single", "multiple", "true_false"):
        return f"{question.kind_handler.label.lower()} questions do not exist in Kahoot's spreadsheet"
    texts = [plain_text(text) for text in KINDS[question.kind].texts(question.spec)]
    if len(texts) > ANSWERS:
        return f"it has {len(texts)} answers; the template holds {ANSWERS}"
    if len(plain_text(question.text)) > MAX_QUESTION_LENGTH:
        return f"the question is longer than {MAX_QUESTION_LENGTH} characters"
    if any(len(text) > MAX_ANSWER_LENGTH for text in texts):
        return f"an answer is longer than {MAX_ANSWER_LENGTH} characters"
    return None


def kahoot_time_limit(seconds: int) -> int:
    """The template's time limit nearest above (or equal to) ours."""
    return next((limit for limit in KAHOOT_TIME_LIMITS if limit >= seconds), KAHOOT_TIME_LIMITS[-1])


def _string_cell(sheet, row: int, column: int, value: Any):
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def write_kahoot_xlsx(questions: list[Question]) -> bytes:
    """The questions that fit, in Kahoot's template layout (see `exportable` for the others)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    for offset, line in enumerate(INSTRUCTIONS):
        cell = _string_cell(sheet, 2 + offset, 2, line)
        cell.font = Font(bold=offset == 0, size=14 if offset == 0 else 10)
    header_fill = PatternFill("solid", fgColor="FF46178F")
    for column, key in enumerate(HEADERS, start=2):
        cell = _string_cell(sheet, HEADER_ROW, column, HEADERS[key])
        cell.font = Font(bold=True, color="FFFFFFFF")
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    row = HEADER_ROW
    for question in questions:
        if exportable(question):
            continue
        row += 1
        kind = KINDS[question.kind]
        texts = kind.texts(question.spec)
        sheet.cell(row=row, column=1, value=row - HEADER_ROW)
        # Kahoot shows a cell as typed: the texts as they read, as the game's report writes them.
        _string_cell(sheet, row, 2, plain_text(question.text))
        for offset, text in enumerate(texts):
            _string_cell(sheet, row, 3 + offset, plain_text(text))
        sheet.cell(row=row, column=7, value=kahoot_time_limit(question.time_limit))
        correct = ",".join(str(index + 1) for index in kind.correct_ids(question.spec))
        _string_cell(sheet, row, 8, correct)
    for column, width in zip("ABCDEFGH", (5, 60, 30, 30, 30, 30, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
