from django.urls import path

from . import views

prefix = "c/<slug:course_slug>/"
urlpatterns = [
    path(prefix + "exercises/<slug:exercise_slug>/", views.exercise_detail, name="exercise_detail"),
    path(prefix + "exercises/<slug:exercise_slug>/submit/", views.exercise_submit, name="exercise_submit"),
    path(prefix + "exercises/<slug:exercise_slug>/draft/", views.exercise_draft, name="exercise_draft"),
    path(prefix + "exercises/<slug:exercise_slug>/history/", views.exercise_history, name="exercise_history"),
    path(prefix + "exercises/<slug:exercise_slug>/interpret/", views.exercise_interpret, name="exercise_interpret"),
    path(prefix + "exercises/<slug:exercise_slug>/run-solution/", views.exercise_run_solution,
         name="exercise_run_solution"),
    path(prefix + "exercises/<slug:exercise_slug>/submissions/", views.exercise_submissions,
         name="exercise_submissions"),
    path(prefix + "exercises/<slug:exercise_slug>/regrade/", views.exercise_regrade, name="exercise_regrade"),
    path(prefix + "regrades/<int:regrade_id>/", views.regrade_progress, name="regrade_progress"),
    path(prefix + "submissions/<int:submission_id>/", views.submission_detail, name="submission_detail"),
    path(prefix + "submissions/<int:submission_id>/verdict/", views.submission_verdict, name="submission_verdict"),
    path(prefix + "submissions/<int:submission_id>/status.json", views.submission_status, name="submission_status"),
    path(prefix + "submissions/<int:submission_id>/restore/", views.submission_restore, name="submission_restore"),
    path(prefix + "submissions/<int:submission_id>/regrade/", views.submission_regrade, name="submission_regrade"),
    path(prefix + "submissions/<int:submission_id>/override/", views.submission_override, name="submission_override"),
    path(prefix + "submissions/<int:submission_id>/review/", views.submission_review, name="submission_review"),
    path(prefix + "review/", views.review_queue, name="review_queue"),
]
