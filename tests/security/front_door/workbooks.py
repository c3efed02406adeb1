"""Hand-made .xlsx files for the upload tests: the smallest workbook openpyxl reads, with any part
replaced by streamed chunks, so that a test never holds a hostile part whole in its own memory."""

import zipfile
from collections.abc import Iterable
from io import BytesIO
from xml.sax.saxutils import escape

from quizzes.kahoot import HEADERS

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = XML + (
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>"
)
ROOT_RELS = XML + (
    f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" '
    f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
).encode()
WORKBOOK = XML + (
    f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
).encode()
WORKBOOK_RELS = XML + (
    f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
).encode()


def column(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def inline(row: int, col: int, text: str) -> bytes:
    return f'<c r="{column(col)}{row}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'.encode()


def number(row: int, col: int, value: int) -> bytes:
    return f'<c r="{column(col)}{row}"><v>{value}</v></c>'.encode()


def shared(row: int, col: int, index: int) -> bytes:
    return f'<c r="{column(col)}{row}" t="s"><v>{index}</v></c>'.encode()


def header_row(row: int = 8) -> bytes:
    cells = b"".join(inline(row, col, text) for col, text in enumerate(HEADERS.values(), start=2))
    return f'<row r="{row}">'.encode() + cells + b"</row>"


def question_row(row: int, question: str = "Which family is BERT?", answers=("Encoder-only", "Decoder-only"),
                 extra: bytes = b"") -> bytes:
    cells = [inline(row, 2, question)]
    cells += [inline(row, 3 + offset, answer) for offset, answer in enumerate(answers)]
    cells += [number(row, 7, 20), number(row, 8, 1)]
    return f'<row r="{row}">'.encode() + b"".join(cells) + extra + b"</row>"


def sheet(rows: Iterable[bytes]) -> Iterable[bytes]:
    yield XML + f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def strings(texts: Iterable[bytes]) -> Iterable[bytes]:
    """sharedStrings.xml with the given texts (each an iterable of chunks, already escaped)."""
    yield XML + f'<sst xmlns="{MAIN}">'.encode()
    for text in texts:
        yield b"<si><t>"
        yield from text
        yield b"</t></si>"
    yield b"</sst>"


def workbook(sheet_chunks: Iterable[bytes], string_chunks: Iterable[bytes] | None = None,
             extra: dict[str, Iterable[bytes]] | None = None, compresslevel: int = 6) -> bytes:
    """A workbook of one sheet, written as a stream."""
    parts = {"[Content_Types].xml": [CONTENT_TYPES], "_rels/.rels": [ROOT_RELS], "xl/workbook.xml": [WORKBOOK],
             "xl/_rels/workbook.xml.rels": [WORKBOOK_RELS], "xl/worksheets/sheet1.xml": sheet_chunks,
             "xl/sharedStrings.xml": string_chunks if string_chunks is not None else strings([])}
    parts.update(extra or {})
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for name, chunks in parts.items():
            with archive.open(name, "w", force_zip64=True) as stream:
                for chunk in chunks:
                    stream.write(chunk)
    return out.getvalue()


def good_workbook(questions: int = 1) -> bytes:
    return workbook(sheet([header_row(), *(question_row(9 + index) for index in range(questions))]))
