"""The course gradebook: students x graded items, gathered from every app that grades.

Apps register a function returning `GradebookColumn`s for a course (exercises, live
games, homework); the gradebook page and its CSV exports know nothing of where the
columns come from.

Three exports, each importable as it is:
- Moodle's grade import: an identifier column (email address or username) that Moodle maps
  to its users, the names, then one column per graded item; no total (Moodle computes it).
- Canvas's gradebook CSV: Student, ID, SIS User ID, SIS Login ID, Section, then one column per
  item, with the "Points Possible" row second; Canvas matches students by SIS Login ID here,
  since Attentive does not know Canvas's own ids.
- A plain spreadsheet: username, name, email, every item with its points, and the total.
All three start with a UTF-8 byte-order mark, without which Excel reads "Chloé" as "ChloÃ©"
(Moodle and Canvas skip it). Live-game points reward speed and have no maximum, so only the
plain export carries them: an LMS would take them for marks.
Every header is unique (two items may share a title, "Quiz" in two lessons): Moodle's mapping
lists columns by header, and Canvas reads an item's grades from the first column of its header.
Canvas also reads a header ending in " (digits)" as "title (Canvas assignment id)", so such a
title is exported with square brackets instead.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .models import Membership


@dataclass
class GradebookColumn:
    key: str
    title: str
    max_points: float | None
    # user id -> points that count
    scores: dict[int, float]
    # user ids whose counted work was late
    late: set[int] = field(default_factory=set)
    # user id -> a short note under the score, e.g. "2 attempts"
    notes: dict[int, str] = field(default_factory=dict)
    url: str = ""
    # When it happened, for ordering columns that are events (games)
    played_at: datetime | None = None
    # Live-game points, for instance, are shown but not added to the total.
    in_total: bool = True


ColumnSource = Callable[[Any], list[GradebookColumn]]
column_sources: list[ColumnSource] = []


def register_gradebook_source(source: ColumnSource) -> None:
    column_sources.append(source)


@dataclass
class GradebookCell:
    points: float | None
    late: bool
    note: str
    in_total: bool = True


@dataclass
class GradebookRow:
    membership: Membership
    cells: list[GradebookCell]

    @property
    def total(self) -> float:
        return sum(cell.points for cell in self.cells if cell.points is not None and cell.in_total)


@dataclass
class Gradebook:
    columns: list[GradebookColumn]
    rows: list[GradebookRow]

    @property
    def max_total(self) -> float:
        return sum(column.max_points or 0 for column in self.columns if column.in_total)


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort "Student 2" before "Student 10", "chloé" beside "Chloe", whatever the case or accents."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold().strip()
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(plain) if part)


def person_key(user) -> tuple:
    """How people are listed: by last name (the first name for those without one), then first name,
    then username, each naturally."""
    surname = user.last_name or user.first_name or user.username
    return natural_key(surname), natural_key(user.first_name), natural_key(user.username)


def build_gradebook(course) -> Gradebook:
    columns = [column for source in column_sources for column in source(course)]
    students = sorted(
        Membership.objects.filter(course=course, role=Membership.Role.STUDENT).select_related("user"),
        key=lambda membership: person_key(membership.user),
    )
    rows = [
        GradebookRow(
            membership,
            [
                GradebookCell(
                    column.scores.get(membership.user_id),
                    membership.user_id in column.late,
                    column.notes.get(membership.user_id, ""),
                    column.in_total,
                )
                for column in columns
            ],
        )
        for membership in students
    ]
    return Gradebook(columns, rows)


def spreadsheet_safe(text: str) -> str:
    """Keep a name like `=HYPERLINK(...)` from running as a formula when the CSV is opened."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


BYTE_ORDER_MARK = "\ufeff"
EXPORT_FORMATS = {"moodle": "Moodle", "canvas": "Canvas", "plain": "spreadsheet"}
IDENTIFIERS = {"email": "Email address", "username": "Username"}


def _number(points: float | None) -> str:
    """1.5, 13, 0.25: a decimal point, never an exponent, nothing for no score."""
    if points is None:
        return ""
    text = f"{round(points, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(cell) for cell in rows[0]])
    for row in rows[1:]:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return BYTE_ORDER_MARK + out.getvalue()


def _graded_columns(gradebook: Gradebook) -> list[int]:
    """Positions of the columns an LMS can take as marks: counted in the total, with a maximum."""
    return [i for i, column in enumerate(gradebook.columns) if column.in_total and column.max_points]


def _identifier(user, identifier: str) -> str:
    return user.email if identifier == "email" else user.username


def _csv_title(column: GradebookColumn) -> str:
    title = column.title.strip()
    title = f"{title} ({column.max_points:g} pts)" if column.max_points else title
    return title if column.in_total else f"{title} (not in total)"


def unique_titles(titles: list[str]) -> list[str]:
    """The titles as headers: trimmed (Moodle trims them), and a second "Quiz" made "Quiz #2"."""
    used: set[str] = set()
    headers = []
    for title in titles:
        header, number = title.strip(), 1
        while header.casefold() in used:
            number += 1
            header = f"{title.strip()} #{number}"
        used.add(header.casefold())
        headers.append(header)
    return headers


_CANVAS_ID_SUFFIX = re.compile(r"\s\((\d+)\)$")


def _canvas_title(title: str) -> str:
    """A title Canvas will not read as "title (assignment id)": "Quiz (2)" becomes "Quiz [2]"."""
    return _CANVAS_ID_SUFFIX.sub(r" [\1]", title.strip())


def gradebook_csv(gradebook: Gradebook) -> str:
    """The plain export: one row per student, every item with its points in the header, and the total."""
    titles = unique_titles([_csv_title(column) for column in gradebook.columns])
    rows = [["Username", "Name", "Email", *titles, f"Total ({gradebook.max_total:g} pts)"]]
    for row in gradebook.rows:
        user = row.membership.user
        rows.append(
            [user.username, user.get_full_name(), user.email]
            + [_number(cell.points) for cell in row.cells]
            + [_number(row.total)]
        )
    return _csv(rows)


def moodle_csv(gradebook: Gradebook, identifier: str = "email") -> str:
    """Moodle's grade import: identifier, names, then one column per item (Moodle makes the total)."""
    graded = _graded_columns(gradebook)
    titles = unique_titles([gradebook.columns[i].title for i in graded])
    rows = [[IDENTIFIERS[identifier], "First name", "Last name", *titles]]
    for row in gradebook.rows:
        user = row.membership.user
        rows.append(
            [_identifier(user, identifier), user.first_name, user.last_name]
            + [_number(row.cells[i].points) for i in graded]
        )
    return _csv(rows)


def canvas_csv(gradebook: Gradebook, identifier: str = "username") -> str:
    """Canvas's gradebook import: five student columns, the items, and the "Points Possible" row."""
    graded = _graded_columns(gradebook)
    titles = unique_titles([_canvas_title(gradebook.columns[i].title) for i in graded])
    rows = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles],
        # Canvas writes this row with four leading spaces; its import looks for the words.
        ["    Points Possible", "", "", "", ""] + [_number(gradebook.columns[i].max_points) for i in graded],
    ]
    for row in gradebook.rows:
        user = row.membership.user
        name = f"{user.last_name}, {user.first_name}" if user.last_name else (user.first_name or user.username)
        rows.append([name, "", "", _identifier(user, identifier), ""] + [_number(row.cells[i].points) for i in graded])
    return _csv(rows)


def export_csv(gradebook: Gradebook, export_format: str, identifier: str) -> str:
    if export_format == "moodle":
        return moodle_csv(gradebook, identifier)
    if export_format == "canvas":
        return canvas_csv(gradebook, identifier)
    return gradebook_csv(gradebook)
