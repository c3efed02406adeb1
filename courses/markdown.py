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


def _table_open(renderer, tokens, idx, options, env) -> str:
    # A wide table scrolls inside its own box, so a phone never scrolls the whole page sideways;
    # the box takes the keyboard focus, so the hidden columns can be reached without a mouse.
    return '<div class="table-wrap" role="region" aria-label="Table" tabindex="0">' + renderer.renderToken(
        tokens, idx, options, env
    )


def _table_close(renderer, tokens, idx, options, env) -> str:
    return renderer.renderToken(tokens, idx, options, env) + "</div>\n"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = (
        MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "typographer": False})
        .enable("table")
        .enable("strikethrough")
        .use(dollarmath_plugin, allow_space=True, double_inline=True)
    )
    parser.add_render_rule("table_open", _table_open)
    parser.add_render_rule("table_close", _table_close)
    return parser


def render_markdown(text: str) -> str:
    return _parser().render(text or "")


def code_style_css() -> str:
    """The stylesheet for highlighted code (static/css/code.css is generated from this)."""
    return HtmlFormatter(style="default").get_style_defs("pre code")
