"""The site's URLs: each app mounts its own."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("courses.urls")),
    path("", include("exercises.urls")),
    path("", include("quizzes.urls")),
    path("", include("reflections.urls")),
    path("", include("comparisons.urls")),
]
handler500 = "attentive.outages.server_error"
