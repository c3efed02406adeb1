"""How Moodle's and Canvas's grade imports read a CSV file, as their documentation and importers describe it.

Each reader applies the rules an export must meet and raises `Refused` where the LMS would refuse the
file or read it wrongly; it returns the grades it would import. The exports are checked through these
readers, and so is a file written by hand in each documented layout (tests/courses/fixtures/), so that
the readers themselves are known to accept what the LMS accepts.

Moodle (Grades > Import > CSV file): a header row; the byte-order mark skipped; every row with as many
fields as the header; headers and fields trimmed; one column mapped to a user field (email address or
username), the others to grade items, one item per column, which needs headers that tell the columns
apart; a grade is empty or "-" for none, else a number (a decimal point, or the site's decimal
separator), at most 100 unless the site allows more.

Canvas (Grades > Import): a header row whose first cells name the student (Student, ID, then SIS User
ID and SIS Login ID, then Section, the last student column); the columns after them are assignments,
except the totals Canvas computes itself (Current/Final/Override Score, Points, Grade), which it ignores;
a header "Title (123)" names the existing assignment 123; an assignment's grades are read from the first
column with its header; a row whose first cell says "Points Possible" gives each assignment's points;
a student is found by ID, else SIS User ID or SIS Login ID, else by name ("Last, First"); a grade is
empty or "-" for none, "EX" for excused, else a number.
"""

from __future__ import annotations

import csv
import io
import re

MOODLE_MAXIMUM_GRADE = 100
CANVAS_TOTALS = re.compile(r"(Current|Final|Override|Unposted) (Score|Points|Grade|Status)")
CANVAS_ASSIGNMENT_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")


class Refused(Exception):
    """The LMS would refuse this file, or read it other than as meant."""


def _rows(text: str) -> list[list[str]]:
    text = text.removeprefix("\ufeff")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise Refused("the file is empty")
    return rows


def _number(cell: str, where: str) -> float | None:
    cell = cell.strip()
    if cell in ("", "-"):
        return None
    try:
        return float(cell)
    except ValueError:
        raise Refused(f"{where}: {cell!r} is not a grade") from None


def read_moodle(text: str, identifier: str, ignored: tuple[str, ...] = ()) -> dict[str, dict[str, float | None]]:
    """{identifier value: {grade item: grade}}, with `identifier` the header mapped to the user field and
    `ignored` the headers mapped to "ignore" (the names)."""
    header, *rows = _rows(text)
    header = [cell.strip() for cell in header]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise Refused(f"row {number} has {len(row)} fields and the header {len(header)}")
    if identifier not in header:
        raise Refused(f"no column {identifier!r} to map the users from")
    items = [index for index, title in enumerate(header) if title != identifier and title not in ignored]
    titles = [header[index] for index in items]
    if len(set(titles)) != len(titles):
        raise Refused(f"two columns share a header, so their grade items cannot be told apart: {titles}")
    grades: dict[str, dict[str, float | None]] = {}
    for number, row in enumerate(rows, start=2):
        user = row[header.index(identifier)].strip()
        if not user:
            continue
        grades[user] = {}
        for index in items:
            grade = _number(row[index], f"row {number}, {header[index]}")
            if grade is not None and grade > MOODLE_MAXIMUM_GRADE:
                raise Refused(f"row {number}: {grade} is above Moodle's maximum grade of {MOODLE_MAXIMUM_GRADE}")
            grades[user][header[index]] = grade
    return grades


def read_canvas(text: str) -> tuple[dict[str, float | None], dict[str, dict[str, float | str | None]]]:
    """({assignment: points possible}, {student key: {assignment: grade}}), the student key being the
    SIS Login ID, else the SIS User ID, else the name."""
    header, *rows = _rows(text)
    if len(header) <= 3 or "Student" not in header[0] or "ID" not in header[1]:
        raise Refused("the header does not start with the student's name and ID")
    if header[2:4] == ["SIS User ID", "SIS Login ID"]:
        student_columns = 5
    elif header[2] == "SIS Login ID":
        student_columns = 4
    else:
        student_columns = 3
    if "Section" not in header[student_columns - 1]:
        raise Refused("Section is not the last of the student's columns")
    assignments = [title for title in header[student_columns:] if not CANVAS_TOTALS.search(title)]
    for title in assignments:
        if CANVAS_ASSIGNMENT_ID.match(title):
            raise Refused(f"{title!r} names an existing Canvas assignment by its id")
    # Canvas takes an assignment's grades from the first column with its header.
    column = {title: header.index(title) for title in assignments}
    if len(column) != len(assignments):
        raise Refused("two assignments share a header: the second would get the first one's grades")
    points: dict[str, float | None] = {}
    grades: dict[str, dict[str, float | str | None]] = {}
    for number, row in enumerate(rows, start=2):
        if "Points Possible" in row[0]:
            points = {title: _number(row[column[title]], f"Points Possible, {title}") for title in assignments}
            continue
        sis_user_id = row[2].strip() if student_columns == 5 else ""
        login = row[student_columns - 2].strip() if student_columns >= 4 else ""
        student = login or sis_user_id or row[0].strip()
        if not student:
            raise Refused(f"row {number} names no student")
        grades[student] = {}
        for title in assignments:
            cell = row[column[title]].strip() if column[title] < len(row) else ""
            grades[student][title] = "EX" if cell.upper() == "EX" else _number(cell, f"row {number}, {title}")
    return points, grades
