"""The class comparison table as CSV (one row per cell entry) and as a Markdown table."""

from __future__ import annotations

import re

from reflections.csvfiles import write_rows

from .models import ComparisonHomework
from .services import class_table


def _name(user) -> str:
    return user.get_full_name() or user.username


def table_csv(homework: ComparisonHomework, *, with_comments: bool) -> str:
    criteria, rows = class_table(homework)
    header = ["model", "maker", "criterion", "value", "source", "contributor", "status"]
    if with_comments:
        header.append("comment")
    lines = [header]
    for row in rows:
        for criterion, entries in zip(criteria, row.cells, strict=True):
            for entry in entries:
                line = [row.model.name, row.model.maker, criterion.name, entry.value, entry.source_url,
                        _name(entry.pick.student), entry.get_status_display()]
                if with_comments:
                    line.append(entry.comment)
                lines.append(line)
    return write_rows(lines)


def _cell_text(text: str) -> str:
    """Text that stays inside one Markdown table cell and cannot inject markup or HTML."""
    text = " ".join(text.split())
    text = re.sub(r"([\\`*_\[\]|<>#!])", r"\\\1", text)
    return text


def _link_target(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def table_markdown(homework: ComparisonHomework) -> str:
    criteria, rows = class_table(homework)
    out = [f"# {_cell_text(homework.title)}", ""]
    out.append("| Model | " + " | ".join(_cell_text(c.name) for c in criteria) + " |")
    out.append("|---|" + "---|" * len(criteria))
    marks = {"verified": " ✓", "needs_source": " (needs a source)", "submitted": ""}
    for row in rows:
        model = _cell_text(row.model.name) + (f" ({_cell_text(row.model.maker)})" if row.model.maker else "")
        cells = []
        for entries in row.cells:
            parts = [
                f"{_cell_text(entry.value)} ([source](<{_link_target(entry.source_url)}>))"
                f" — {_cell_text(_name(entry.pick.student))}{marks[entry.status]}"
                for entry in entries
            ]
            cells.append("<br>".join(parts) or " ")
        out.append(f"| {model} | " + " | ".join(cells) + " |")
    out += ["", "✓ verified by the teaching staff.", "", "## Criteria", ""]
    for criterion in criteria:
        line = f"- **{_cell_text(criterion.name)}**"
        if criterion.definition:
            line += f": {_cell_text(criterion.definition)}"
        if criterion.how_to_measure:
            line += f" *How to measure:* {_cell_text(criterion.how_to_measure)}"
        out.append(line)
    out += ["", "## Contributors", ""]
    for row in rows:
        names = ", ".join(_cell_text(_name(student)) for student in row.contributors) or "nobody yet"
        out.append(f"- {_cell_text(row.model.name)}: {names}")
    return "\n".join(out) + "\n"
