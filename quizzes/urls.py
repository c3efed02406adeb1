from django.urls import path

from . import views

course = "c/<slug:course_slug>/"
quiz = course + "quizzes/<int:quiz_id>/"
game = course + "games/<int:game_id>/"

urlpatterns = [
    path(course + "quizzes/", views.quiz_list, name="quiz_list"),
    path(course + "quizzes/new/", views.quiz_create, name="quiz_create"),
    path(course + "quizzes/import/", views.quiz_import, name="quiz_import"),
    path(quiz, views.quiz_detail, name="quiz_detail"),
    path(quiz + "edit/", views.quiz_edit, name="quiz_edit"),
    path(quiz + "duplicate/", views.quiz_duplicate, name="quiz_duplicate"),
    path(quiz + "archive/", views.quiz_archive, name="quiz_archive"),
    path(quiz + "kahoot.xlsx", views.quiz_export, name="quiz_export"),
    path(quiz + "play/", views.game_create, name="game_create"),
    path(quiz + "questions/new/<str:kind>/", views.question_create, name="question_create"),
    path(quiz + "questions/<int:question_id>/", views.question_edit, name="question_edit"),
    path(quiz + "questions/<int:question_id>/move/", views.question_move, name="question_move"),
    path(quiz + "questions/<int:question_id>/delete/", views.question_delete, name="question_delete"),
    path(course + "games/", views.game_list, name="game_list"),
    path(game, views.game_report, name="game_report"),
    path(game + "host/", views.game_host, name="game_host"),
    path(game + "end/", views.game_end, name="game_end"),
    path(game + "report.xlsx", views.game_report_xlsx, name="game_report_xlsx"),
    path(game + "report.csv", views.game_report_csv, name="game_report_csv"),
    path("play/", views.play_pin, name="play_pin"),
    path("play/game/<int:game_id>/", views.play_game, name="play_game"),
    path("play/<str:pin>/", views.play_join, name="play_join"),
    path("play/<str:pin>/nickname/", views.play_nickname, name="play_nickname"),
    path("quiz-images/<str:sha256>/", views.quiz_image, name="quiz_image"),
]
