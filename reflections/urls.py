from django.urls import path

from . import views

lesson = "c/<slug:course_slug>/lessons/<slug:lesson_slug>/reflection/"
course = "c/<slug:course_slug>/reflections/"

urlpatterns = [
    path(lesson, views.answer, name="reflection_answer"),
    path(lesson + "window/", views.window, name="reflection_window"),
    path(lesson + "review/", views.review, name="reflection_review"),
    path(lesson + "review/status.json", views.status, name="reflection_status"),
    path(lesson + "recompute/", views.recompute, name="reflection_recompute"),
    path(lesson + "export.csv", views.export, name="reflection_export"),
    path(lesson + "import/", views.import_answers, name="reflection_import"),
    path(course, views.overview, name="reflection_overview"),
    path(course + "themes/<int:theme_id>/rename/", views.theme_rename, name="reflection_theme_rename"),
    path(course + "themes/<int:theme_id>/merge/", views.theme_merge, name="reflection_theme_merge"),
    path(course + "themes/<int:theme_id>/addressed/", views.theme_addressed, name="reflection_theme_addressed"),
    path(course + "answers/<int:answer_id>/move/", views.answer_move, name="reflection_answer_move"),
    path(course + "answers/<int:answer_id>/reply/", views.answer_reply, name="reflection_answer_reply"),
]
