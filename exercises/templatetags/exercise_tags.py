"""Template filters of the exercise pages: a verdict's feedback as prose, with its math typeset."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# `code` first, so that a `$` inside code is never taken for math.
_CODE_OR_MATH = re.compile(r"`([^`\n]+)`|(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?!\$)")


def _inline(text: str) -> str:
    """One line of prose: escaped, with `code` and $math$ marked up (math.js typesets the spans)."""
    out, last = [], 0
    for match in _CODE_OR_MATH.finditer(text):
        out.append(escape(text[last:match.start()]))
        code, math = match.groups()
        if code is not None:
            out.append(f"<code>{escape(code)}</code>")
        else:
            out.append(f'<span class="math inline">{escape(math)}</span>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _is_code(line: str) -> bool:
    return line[:1] in (" ", "\t") or line.startswith("Traceback (most recent call last)")


@register.filter
def feedback(message: str | None) -> SafeString:
    """A test's or a verdict's message as HTML: paragraphs of prose (`code` and $math$ inline),
    and the lines of code it quotes (a traceback, a line with its caret) kept as they are."""
    blocks: list[str] = []
    prose: list[str] = []
    code: list[str] = []

    def end_prose() -> None:
        if prose:
            blocks.append("<p>" + "<br>".join(_inline(line) for line in prose) + "</p>")
            prose.clear()

    def end_code() -> None:
        if code:
            blocks.append("<pre>" + escape("\n".join(code)) + "</pre>")
            code.clear()

    for line in (message or "").split("\n"):
        if _is_code(line) and line.strip():
            end_prose()
            code.append(line)
        elif code and line.strip() and not line.startswith(" "):
            # The exception line that closes a traceback (`ValueError: ...`) belongs to it.
            code.append(line)
            end_code()
        elif not line.strip():
            end_prose()
            end_code()
        else:
            end_code()
            prose.append(line)
    end_prose()
    end_code()
    return mark_safe("".join(blocks))  # noqa: S308 (every piece of text above is escaped)
