"""Kahoot spreadsheets that try to cost the site time or memory, or to break its parser: each is
refused with a message that says what was wrong, within the reading budget, without the web
process's memory growing, and nothing is imported. Each limit is tried just over its value."""

import random
import time
import tracemalloc
import zipfile
from io import BytesIO

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.test.client import BOUNDARY, encode_multipart
from django.urls import reverse

from frontdoor.archives import MB
from quizzes import kahoot
from quizzes.kahoot import SpreadsheetUnreadable, read_kahoot_xlsx
from quizzes.models import Question, Quiz

from .workbooks import (
    MAIN,
    XML,
    column,
    good_workbook,
    header_row,
    inline,
    question_row,
    shared,
    sheet,
    strings,
    workbook,
)

UNREADABLE = "This file cannot be read as an Excel .xlsx workbook: it is damaged, or not one."


def noise(size: int, seed: int = 1) -> bytes:
    """Text that compresses about eight times, as real text does: far from what the ratio check refuses."""
    return random.Random(seed).randbytes(size).translate(bytes(65 + (byte & 1) for byte in range(256)))


def refusal(data: bytes) -> tuple[str, float, int]:
    """The refusal's message, the seconds it took, and the web process's peak of new memory."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(SpreadsheetUnreadable) as refused:
            read_kahoot_xlsx(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return str(refused.value), time.monotonic() - started, peak


def rows_of_shared_string(count: int, columns=range(2, 9)) -> list[bytes]:
    return [f'<row r="{row}">'.encode() + b"".join(shared(row, col, 0) for col in columns) + b"</row>"
            for row in range(9, 9 + count)]


@pytest.fixture
def import_quiz(client, cast):
    client.force_login(cast.instructor)

    def post(data: bytes):
        return client.post(reverse("quiz_import", args=[cast.course.slug]),
                           {"file": SimpleUploadedFile("quiz.xlsx", data), "title": ""})

    return post


# -- files made to cost time or memory --------------------------------------------------------


def test_one_huge_string_used_by_every_cell_is_refused_at_the_first_cell():
    data = workbook(sheet([header_row(), *rows_of_shared_string(1000)]), strings([[noise(3_500_000)]]))
    assert len(data) < kahoot.MAX_FILE_BYTES
    message, seconds, peak = refusal(data)
    assert "cell B9 holds 3,500,000 characters; a cell may hold at most 1,000" in message
    assert seconds < kahoot.PARSE_SECONDS
    assert peak < 5 * MB


def test_a_shared_string_part_larger_than_any_template_needs_is_refused_unread(monkeypatch):
    data = workbook(sheet([header_row(), *rows_of_shared_string(40)]), strings([(b"A" * MB for _ in range(15))]))
    monkeypatch.setattr(kahoot, "read_first_sheet", lambda *a, **k: pytest.fail("the workbook was parsed"))
    message, _seconds, peak = refusal(data)
    assert "would unpack xl/sharedStrings.xml to 15 MB; at most 4.0 MB per part is accepted" in message
    assert peak < 5 * MB


def test_a_sheet_of_sixty_thousand_rows_is_refused_after_the_rows_it_reads():
    rows = (f'<row r="{row}"><c r="A{row}"><v>{row}</v></c></row>'.encode() for row in range(9, 60_000))
    message, seconds, peak = refusal(workbook(sheet([header_row(), *rows])))
    assert "row 1031 holds something (cell A1031); at most 1030 rows are read" in message
    assert seconds < kahoot.PARSE_SECONDS
    assert peak < 5 * MB


def test_deeply_nested_xml_is_stopped_within_the_budget():
    tags = [f"<{letter}>".encode() for letter in "abcdefghijklmnop"]
    chooser = random.Random(2)
    deep = b"".join(chooser.choice(tags) for _ in range(1_100_000))
    data = workbook(sheet([header_row(), b'<row r="9"><c r="B9" t="inlineStr"><is>', deep, b"</is></c></row>"]))
    assert len(data) < kahoot.MAX_FILE_BYTES
    message, seconds, peak = refusal(data)
    # Which limit it meets first depends on the machine's load: its time (the child's own alarm, or
    # the kill from outside) or its memory, also when the child runs out again while saying so.
    assert any(stopped in message for stopped in (
        f"reading it took more than {kahoot.PARSE_SECONDS} s (or more than 256 MB of memory), so it was stopped",
        f"reading it took more than {kahoot.PARSE_SECONDS} s, so it was stopped",
        "reading it needed more than 256 MB of memory, so it was stopped")), message
    # The child's start, the kill at PARSE_SECONDS + 2 s of wall time, and the reaping: on a machine
    # loaded with other test runs, those took just over a second more.
    assert seconds < kahoot.PARSE_SECONDS + 6
    assert peak < 5 * MB


def test_the_reader_stops_when_its_time_is_up(monkeypatch):
    data = good_workbook(1000)
    monkeypatch.setattr(kahoot, "PARSE_SECONDS", 0.05)
    message, seconds, _peak = refusal(data)
    assert "reading it took more than 0.05 s, so it was stopped" in message
    assert seconds < 3


def test_the_reader_stops_when_its_memory_is_spent(monkeypatch):
    monkeypatch.setattr(kahoot, "PARSE_MEMORY_BYTES", 100 * MB)  # less than Python and openpyxl take (150 MB)
    message, _seconds, _peak = refusal(good_workbook(1))
    assert "reading it needed more than 100 MB of memory, so it was stopped" in message


# -- files that break the parser ----------------------------------------------------------------


def test_a_cell_naming_a_shared_string_that_does_not_exist_is_unreadable(import_quiz):
    data = workbook(sheet([header_row(), b'<row r="9">' + shared(9, 2, 5) + b"</row>"]), strings([[b"only one"]]))
    response = import_quiz(data)
    assert response.status_code == 400
    assert UNREADABLE in response.content.decode()
    assert not Quiz.objects.exists()


def test_a_doctype_after_a_long_comment_is_refused():
    laughs = [XML, b"<!--" + b"x" * 5000 + b"-->",
              b'<!DOCTYPE sst [<!ENTITY lol "lol">]><sst xmlns="' + MAIN.encode() + b'"><si><t>&lol;</t></si></sst>']
    message, _seconds, _peak = refusal(workbook(sheet([header_row(), question_row(9)]), laughs))
    assert "declares XML entities in xl/sharedStrings.xml" in message


def test_xml_in_utf16_is_refused_whatever_it_declares():
    part = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE sst [<!ENTITY a "a">]>'
            f'<sst xmlns="{MAIN}"><si><t>&a;</t></si></sst>').encode("utf-16")
    message, _seconds, _peak = refusal(workbook(sheet([header_row(), question_row(9)]), [part]))
    assert "holds xl/sharedStrings.xml in an encoding other than UTF-8" in message


def damaged_deflate() -> bytes:
    data = bytearray(good_workbook(50))
    archive = zipfile.ZipFile(BytesIO(bytes(data)))
    member = archive.getinfo("xl/worksheets/sheet1.xml")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    data[start + 10:start + 40] = bytes(30)
    return bytes(data)


@pytest.mark.parametrize("data", [
    pytest.param(lambda: good_workbook(3)[:-200], id="cut short"),
    pytest.param(damaged_deflate, id="damaged compressed data"),
    pytest.param(lambda: workbook(sheet([header_row(), b'<row r="9"><c r="B9">'])), id="sheet cut in the middle"),
    pytest.param(lambda: workbook(sheet([header_row()]), extra={"xl/workbook.xml": [b"<workbook>"]}),
                 id="workbook part broken"),
    pytest.param(lambda: workbook([b"not xml at all"]), id="sheet not xml"),
    pytest.param(lambda: b"PK\x03\x04" + bytes(200), id="zip header only"),
])
def test_every_way_a_file_fails_to_parse_is_a_clear_refusal(import_quiz, data):
    response = import_quiz(data())
    assert response.status_code == 400
    assert UNREADABLE in response.content.decode()
    assert not Quiz.objects.exists()


# -- each limit, just over --------------------------------------------------------------------


def test_a_file_over_two_megabytes_is_refused_before_it_is_read(client, cast, monkeypatch):
    client.force_login(cast.instructor)
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("quiz.xlsx", bytes(kahoot.MAX_FILE_BYTES + 1))})
    monkeypatch.setattr(InMemoryUploadedFile, "read", lambda *a, **k: pytest.fail("the upload was read"))
    response = client.post(reverse("quiz_import", args=[cast.course.slug]), body,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 400
    assert "This file is 2.0 MB; a Kahoot spreadsheet is at most 2 MB" in response.content.decode()
    assert not Quiz.objects.exists()


def filler_parts(total: int) -> dict:
    """Parts adding up to `total` bytes, none over 1 MB (so no ratio check applies to them)."""
    parts, number = {}, 0
    while total > 0:
        size = min(total, MB)
        parts[f"xl/media/filler{number}.bin"] = [b"\0" * size]
        total -= size
        number += 1
    return parts


def unpacked_size(data: bytes) -> int:
    return sum(member.file_size for member in zipfile.ZipFile(BytesIO(data)).infolist())


def test_a_file_unpacking_to_just_over_the_total_limit_is_refused():
    base = good_workbook(1)
    data = workbook(sheet([header_row(), question_row(9)]),
                    extra=filler_parts(kahoot.ZIP_LIMITS.max_total_bytes + 1 - unpacked_size(base)))
    assert unpacked_size(data) == kahoot.ZIP_LIMITS.max_total_bytes + 1
    message, _seconds, _peak = refusal(data)
    assert "would unpack to 8.0 MB; at most 8.0 MB is accepted" in message


def test_a_part_just_over_its_limit_is_refused():
    data = workbook(sheet([header_row(), question_row(9)]),
                    extra={"xl/media/big.bin": [noise(kahoot.ZIP_LIMITS.max_member_bytes + 1)]})
    message, _seconds, _peak = refusal(data)
    assert "would unpack xl/media/big.bin to 4.0 MB; at most 4.0 MB per part is accepted" in message


def test_a_thousand_questions_are_imported(import_quiz):
    response = import_quiz(good_workbook(kahoot.MAX_ROWS))
    assert response.status_code == 302
    assert Question.objects.count() == kahoot.MAX_ROWS


def test_a_thousand_and_one_questions_are_refused_whole(import_quiz):
    response = import_quiz(good_workbook(kahoot.MAX_ROWS + 1))
    assert response.status_code == 400
    assert "This spreadsheet has questions after row 1008 (row 1009): at most 1000 questions are read from one " \
           "file. Split the quiz into several files." in response.content.decode()
    assert not Quiz.objects.exists()


def test_something_in_the_column_after_the_thirtieth_is_refused():
    last, over = kahoot.MAX_COLUMNS, kahoot.MAX_COLUMNS + 1
    assert read_kahoot_xlsx(workbook(sheet([header_row(), question_row(9, extra=inline(9, last, "note"))]))).questions
    message, _seconds, _peak = refusal(workbook(sheet([header_row(), question_row(9, extra=inline(9, over, "note"))])))
    assert f"column {column(over)} holds something (cell {column(over)}9); at most 30 columns (A to AD) are read" \
        in message


def test_a_cell_just_over_the_longest_accepted_is_refused():
    longest = "q" * kahoot.MAX_CELL_CHARACTERS
    result = read_kahoot_xlsx(workbook(sheet([header_row(), question_row(9, question=longest)])))
    assert [problem.message for problem in result.problems] == ["longer than 120 characters (1000)"]
    message, _seconds, _peak = refusal(workbook(sheet([header_row(), question_row(9, question=longest + "q")])))
    assert "cell B9 holds 1,001 characters; a cell may hold at most 1,000" in message


def test_text_just_over_the_total_of_a_sheet_is_refused():
    cells_needed = kahoot.MAX_TEXT_CHARACTERS // kahoot.MAX_CELL_CHARACTERS + 1  # each holds the longest text
    rows = -(-cells_needed // 7)
    data = workbook(sheet([header_row(), *rows_of_shared_string(rows)]), strings([[b"x" * kahoot.MAX_CELL_CHARACTERS]]))
    message, _seconds, _peak = refusal(data)
    assert "its cells hold more than 2,000,000 characters of text" in message


def test_a_reader_that_runs_out_of_memory_while_saying_so_is_the_memory_limit_not_a_damaged_file(monkeypatch):
    # Seen on a loaded machine with the deeply nested XML above: MemoryError while handling MemoryError,
    # exit status 1 and no answer, which read as "damaged".
    import subprocess

    from frontdoor import sheet_reader

    def out_of_memory(command, **kwargs):
        told = b"MemoryError\n\nDuring handling of the above exception, another exception occurred:\n\nMemoryError\n"
        return subprocess.CompletedProcess(command, 1, b"", told)

    monkeypatch.setattr(sheet_reader.subprocess, "run", out_of_memory)
    message, _seconds, _peak = refusal(good_workbook())
    assert "reading it needed more than 256 MB of memory, so it was stopped" in message
