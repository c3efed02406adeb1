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
    return ""  # the marks of emphasis and the like: their text is in the tokens between


def _inline_plain(children) -> str:
    """An inline run as text; a link keeps its address after its words: `[paper](https://x)` is `paper (https://x)`."""
    parts: list[str] = []
    links: list[tuple[str, int]] = []  # (address, where the link's words start in parts)
    for token in children:
        if token.type == "link_open":
            links.append((token.attrGet("href") or "", len(parts)))
        elif token.type == "link_close" and links:
            address, start = links.pop()
            words = "".join(parts[start:]).strip()
            # An autolink (<https://x>) or a link whose words are its address says it once.
            if address and address not in (words, f"mailto:{words}"):
                parts.append(f" ({address})" if words else address)
        else:
            parts.append(_inline_text(token))
    return "".join(parts)


def plain_text(markdown: str) -> str:
    """Markdown as it reads without its formatting, for spreadsheets: `**BERT**` is `BERT`, math stays `$x^2$`,
    a link keeps its address (`[paper](https://x)` is `paper (https://x)`)."""
    blocks = []
    for token in markdown_parser().parse(markdown or ""):
        if token.type == "inline":
            blocks.append(_inline_plain(token.children or []))
        elif token.type == "math_block":
            blocks.append(f"$${token.content.strip()}$$")
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    text = "\n".join(block.strip() for block in blocks if block.strip())
    # What Markdown reads as an empty block (`2017.` is an empty list item, `---` a rule) stays as typed.
    return text or (markdown or "").strip()
