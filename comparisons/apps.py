from django.apps import AppConfig


class ComparisonsConfig(AppConfig):
    name = "comparisons"

    def ready(self) -> None:
        from courses.gradebook import register_gradebook_source
        from courses.packs import register_item_kind
        from courses.panels import register_course_links, register_lesson_panel

        from . import gradebook, panels
        from .packs import ComparisonKind

        register_item_kind(ComparisonKind())
        register_lesson_panel(panels.lesson_panel)
        register_course_links(panels.course_links)
        register_gradebook_source(gradebook.gradebook_columns)
