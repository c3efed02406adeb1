from django.apps import AppConfig


class ReflectionsConfig(AppConfig):
    name = "reflections"

    def ready(self) -> None:
        from courses.packs import register_item_kind
        from courses.panels import register_course_links, register_course_panel, register_lesson_panel

        from . import panels
        from .packs import ReflectionPromptKind

        register_item_kind(ReflectionPromptKind())
        register_lesson_panel(panels.lesson_panel)
        register_course_panel(panels.course_panel)
        register_course_links(panels.course_links)
