"""Sections that other apps add to the course and lesson pages, without editing those pages.

An app registers a function from its AppConfig.ready(); the function gets the request,
the course or lesson and the viewer's membership, and returns a `Panel` to show, or None.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # Lower comes first.
    order: int = 100


LessonPanelFactory = Callable[[Any, Any, Any], Panel | None]
CoursePanelFactory = Callable[[Any, Any, Any], Panel | None]

lesson_panel_factories: list[LessonPanelFactory] = []
course_panel_factories: list[CoursePanelFactory] = []


def register_lesson_panel(factory: LessonPanelFactory) -> None:
    lesson_panel_factories.append(factory)


def register_course_panel(factory: CoursePanelFactory) -> None:
    course_panel_factories.append(factory)


def lesson_panels(request, lesson, membership) -> list[Panel]:
    panels = [factory(request, lesson, membership) for factory in lesson_panel_factories]
    return sorted((panel for panel in panels if panel), key=lambda panel: panel.order)


def course_panels(request, course, membership) -> list[Panel]:
    panels = [factory(request, course, membership) for factory in course_panel_factories]
    return sorted((panel for panel in panels if panel), key=lambda panel: panel.order)


@dataclass
class CourseLink:
    """A tab in a course's navigation, e.g. the gradebook or the live games."""

    key: str
    label: str
    url: str


CourseLinkFactory = Callable[[Any, Any], list[CourseLink]]
course_link_factories: list[CourseLinkFactory] = []


def register_course_links(factory: CourseLinkFactory) -> None:
    course_link_factories.append(factory)


def course_links(course, membership) -> list[CourseLink]:
    return [link for factory in course_link_factories for link in factory(course, membership)]
