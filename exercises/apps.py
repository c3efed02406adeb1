from django.apps import AppConfig


class ExercisesConfig(AppConfig):
    name = "exercises"

    def ready(self) -> None:
        from courses.gradebook import register_gradebook_source
        from courses.packs import register_item_kind
        from courses.panels import register_course_links, register_lesson_panel

        from . import consumers, gradebook, packs, panels
        from .signals import submission_changed

        register_item_kind(packs.ExerciseKind())
        register_lesson_panel(panels.lesson_exercises)
        register_course_links(panels.course_links)
        register_gradebook_source(gradebook.exercise_columns)
        submission_changed.connect(consumers.announce_change, dispatch_uid="exercises.announce_change")
