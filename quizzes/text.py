"""Text helpers for quizzes: answers compared without case or accents, and short Markdown rendered inline."""

import re
import unicodedata

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
