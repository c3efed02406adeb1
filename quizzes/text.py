"""Text helpers for quizzes: answers compared without case or accents, short Markdown inline or as plain text."""

import re
import unicodedata

from courses.markdown import _parser as markdown_parser
from courses.markdown import render_markdown

_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,;:!?¡¿'\"«»\u201c\u201d\u2018\u2019()[]{}"
_SINGLE_PARAGRAPH = re.compile(r"^<p>(.*)</p>\n?$", re.DOTALL)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_answer(text: str) -> str:
    """How a typed answer is compared: "  Téacher   Forcing! " and "teacher forcing" are the same."""
    text = _SPACES.sub(" ", strip_accents(text).casefold()).strip()
    return text.strip(_EDGE_PUNCTUATION + " ")


def render_inline(text: str) -> str:
    """Markdown for a short text such as an answer choice: math and emphasis, without the <p> wrapper."""
    html = render_markdown(text)
    match = _SINGLE_PARAGRAPH.match(html)
    if match and "<p>" not in match.group(1):
        return match.group(1)
    return html


def _inline_text(token) -> str:
    if token.type in ("text", "code_inline", "image"):
        return token.content
    if token.type == "math_inline":
        return f"${token.content}$"
    if token.type == "math_inline_double":
        return f"$${token.content}$$"
    if token.type == "softbreak":
        return " "
    if token.type == "hardbreak":
        return "\n"
    return ""  # the marks of emphasis, links and the like: their text is in the tokens between


def plain_text(markdown: str) -> str:
    """Markdown as it reads without its formatting, for spreadsheets: `**BERT**` is `BERT`, math stays `$x^2$`."""
    blocks = []
    for token in markdown_parser().parse(markdown or ""):
        if token.type == "inline":
            blocks.append("".join(_inline_text(child) for child in token.children or []))
        elif token.type == "math_block":
            blocks.append(f"$${token.content.strip()}$$")
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return "\n".join(block.strip() for block in blocks if block.strip())
