from django.urls import path

from . import views

course = "c/<slug:course_slug>/comparisons/"
homework = course + "<int:homework_id>/"

urlpatterns = [
    path(course, views.homework_list, name="comparison_list"),
    path(homework, views.detail, name="comparison_detail"),
    path(homework + "proposals/", views.propose, name="comparison_propose"),
    path(homework + "proposals/<int:proposal_id>/withdraw/", views.withdraw, name="comparison_withdraw"),
    path(homework + "pick/", views.pick, name="comparison_pick"),
    path(homework + "row/", views.save_row, name="comparison_row"),
    path(homework + "criteria/", views.criteria, name="comparison_criteria"),
    path(homework + "settings/", views.homework_settings, name="comparison_settings"),
    path(homework + "table/", views.table, name="comparison_table"),
    path(homework + "students/<int:user_id>/", views.student_row, name="comparison_student"),
    path(homework + "students/<int:user_id>/verify/", views.verify_row, name="comparison_verify_row"),
    path(homework + "entries/<int:entry_id>/review/", views.review_entry, name="comparison_review_entry"),
    path(homework + "grades/", views.grades, name="comparison_grades"),
    path(homework + "export.csv", views.export_csv, name="comparison_export_csv"),
    path(homework + "export.md", views.export_markdown, name="comparison_export_md"),
]
