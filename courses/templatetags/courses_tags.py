"""Template tags shared by every course page."""

from django import template

from courses.panels import course_links as collect_course_links

register = template.Library()


@register.simple_tag
def course_links(course, membership):
    return collect_course_links(course, membership)


@register.filter
def points(value) -> str:
    """A score as people write it: 13, 6.5, 0.25 (never 6.50 or 13.0)."""
    if value is None or value == "":
        return ""
    try:
        return f"{round(float(value), 2):g}"
    except (TypeError, ValueError):
        return str(value)
