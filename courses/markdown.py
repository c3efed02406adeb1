"""Markdown for lessons, exercise statements and questions: math kept for KaTeX, code highlighted.

Raw HTML in the source is escaped, never passed through, so Markdown written by any
instructor or TA cannot inject scripts into a student's page.
"""

from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_formatter = HtmlFormatter(nowrap=True)


def _highlight(code: str, language: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        return ""  # markdown-it escapes the code itself
    return highlight(code, lexer, _formatter)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "typographer": False})
        .enable("table")
        .enable("strikethrough")
        .use(dollarmath_plugin, allow_space=True, double_inline=True)
    )


def render_markdown(text: str) -> str:
    return _parser().render(text or "")


def code_style_css() -> str:
    """The stylesheet for highlighted code (static/css/code.css is generated from this)."""
    return HtmlFormatter(style="default").get_style_defs("pre code")
