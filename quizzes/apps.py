from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = "Live quizzes"

    def ready(self) -> None:
        from courses.gradebook import register_gradebook_source
        from courses.packs import register_item_kind
        from courses.panels import register_course_links, register_lesson_panel

        from .gradebook import gradebook_columns
        from .packs import QuizItemKind
        from .panels import course_links, lesson_panel

        register_item_kind(QuizItemKind())
        register_lesson_panel(lesson_panel)
        register_course_links(course_links)
        register_gradebook_source(gradebook_columns)
