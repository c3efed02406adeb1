from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says; answer with the site's icon.
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/signup/", views.signup, name="signup"),
    path("courses/new/", views.course_create, name="course_create"),
    path("join/", views.join, name="join"),
    path("join/<str:code>/", views.join_with_link, name="join_with_link"),
    path("c/<slug:course_slug>/", views.course_detail, name="course_detail"),
    path("c/<slug:course_slug>/join-code/", views.course_join_code, name="course_join_code"),
    path("c/<slug:course_slug>/join-code/settings/", views.course_join_settings, name="course_join_settings"),
    path("c/<slug:course_slug>/people/", views.course_roster, name="course_roster"),
    path("c/<slug:course_slug>/people/<int:member_id>/role/", views.member_role, name="member_role"),
    path("c/<slug:course_slug>/people/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("c/<slug:course_slug>/people/<int:member_id>/unlock/", views.member_unlock, name="member_unlock"),
    path("c/<slug:course_slug>/lessons/<slug:lesson_slug>/", views.lesson_detail, name="lesson_detail"),
    path("c/<slug:course_slug>/gradebook/", views.gradebook, name="gradebook"),
    path("c/<slug:course_slug>/gradebook.csv", views.gradebook_export, name="gradebook_export"),
]
