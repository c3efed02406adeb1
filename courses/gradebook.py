"""The course gradebook: students x graded items, gathered from every app that grades.

Apps register a function returning `GradebookColumn`s for a course (exercises, live
games, homework); the gradebook page and its CSV export know nothing of where the
columns come from.
"""

from __future__ import annotations

import csv
import io
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


def build_gradebook(course) -> Gradebook:
    columns = [column for source in column_sources for column in source(course)]
    students = (
        Membership.objects.filter(course=course, role=Membership.Role.STUDENT)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
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


def _csv_title(column: GradebookColumn) -> str:
    title = f"{column.title} ({column.max_points:g} pts)" if column.max_points else column.title
    return title if column.in_total else f"{title} (not in total)"


def gradebook_csv(gradebook: Gradebook) -> str:
    """One row per student, one column per graded item: what LMS gradebook imports expect."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["Username", "Name", "Email"]
        + [spreadsheet_safe(_csv_title(column)) for column in gradebook.columns]
        + [f"Total ({gradebook.max_total:g} pts)"]
    )
    for row in gradebook.rows:
        user = row.membership.user
        writer.writerow(
            [spreadsheet_safe(user.username), spreadsheet_safe(user.get_full_name()), spreadsheet_safe(user.email)]
            + ["" if cell.points is None else f"{cell.points:g}" for cell in row.cells]
            + [f"{row.total:g}"]
        )
    return out.getvalue()
