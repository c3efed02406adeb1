"""Template tags shared by every course page."""

from django import template

from courses.panels import course_links as collect_course_links

register = template.Library()


@register.simple_tag
def course_links(course, membership):
    return collect_course_links(course, membership)
