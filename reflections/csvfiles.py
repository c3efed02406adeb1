"""Reading a CSV file of answers (for the import page and the `reflection_themes` command) and writing safe CSV.

Files come from LMS surveys and spreadsheets: we accept UTF-8 with or without a byte-order
mark, a comma, semicolon or tab as the separator, quoted multi-line answers; and we say
exactly what is wrong otherwise.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

MAX_ROWS = 20_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvProblem(ValueError):
    """The file cannot be read as a CSV of answers; the message says why and what to do."""


@dataclass
class AnswerRow:
    row: int  # the spreadsheet row: the header is row 1
    text: str
    name: str = ""


@dataclass
class CsvAnswers:
    column: str
    columns: list[str]
    rows: list[AnswerRow] = field(default_factory=list)
    empty_rows: list[int] = field(default_factory=list)


def read_answers(data: bytes, column: str = "answer", name_column: str = "") -> CsvAnswers:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvProblem(
            f"the file is not UTF-8 text (line {line}); save it from your spreadsheet as “CSV UTF-8” and try again"
        ) from None
    if not text.strip():
        raise CsvProblem("the file is empty")
    if "\x00" in text:
        raise CsvProblem("the file holds binary data, not CSV text: export it from your spreadsheet as CSV")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        header = [name.strip() for name in next(reader)]
        wanted = _find_column(header, column)
        name_index = _find_column(header, name_column) if name_column else None
        answers = CsvAnswers(column=header[wanted], columns=header)
        for number, record in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise CsvProblem(f"the file has more than {MAX_ROWS} answers; split it into smaller files")
            if not any(cell.strip() for cell in record):
                continue
            answer = record[wanted].strip() if wanted < len(record) else ""
            if not answer:
                answers.empty_rows.append(number)
                continue
            name = record[name_index].strip() if name_index is not None and name_index < len(record) else ""
            answers.rows.append(AnswerRow(number, answer, name))
    except csv.Error as error:
        raise CsvProblem(f"the file is not valid CSV near line {reader.line_num}: {error}") from None
    if not answers.rows:
        raise CsvProblem(f"the column “{answers.column}” holds no answers")
    return answers


def _dialect(text: str) -> type[csv.Dialect]:
    """The separator is the one the header row uses; a header without one is a single column.

    Guessing from the header rather than the whole file keeps an unquoted comma inside an
    answer of a one-column file from splitting that answer in two.
    """
    header = text.splitlines()[0] if text else ""
    counts = {separator: header.count(separator) for separator in (",", ";", "\t")}
    separator = max(counts, key=lambda key: counts[key])
    if counts[separator] == 0:
        separator = "\x1f"  # the unit separator: never in an answer
    return type("HeaderDialect", (csv.excel,), {"delimiter": separator})


def _find_column(header: list[str], column: str) -> int:
    if column in header:
        return header.index(column)
    folded = [name.casefold() for name in header]
    if column.strip().casefold() in folded:
        return folded.index(column.strip().casefold())
    listed = ", ".join(f"“{name}”" for name in header) or "none"
    raise CsvProblem(f"there is no column “{column}”; the file's columns are: {listed}")


def safe_cell(value) -> str:
    """A value a spreadsheet will show as text and never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
