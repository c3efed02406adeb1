"""Template filters for quiz pages: Markdown for question texts and answers, shapes for answer buttons."""

from django import template
from django.utils.safestring import mark_safe

from courses.markdown import render_markdown

from ..text import render_inline

register = template.Library()

SHAPES = ["triangle", "diamond", "circle", "square", "star", "hexagon"]


@register.filter
def markdown(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 (markdown-it escapes raw HTML)


@register.filter
def inline_markdown(text: str) -> str:
    return mark_safe(render_inline(text))  # noqa: S308 (markdown-it escapes raw HTML)


@register.filter
def shape(index: int) -> str:
    return SHAPES[index % len(SHAPES)]


@register.filter
def percent_of(count: int, largest: int) -> int:
    return round(100 * count / largest) if largest else 0
