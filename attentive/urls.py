"""The site's URLs: each app mounts its own."""

from django.contrib import admin
from django.urls import include, path

from frontdoor.signin import ThrottledLoginView, UnlockingPasswordResetConfirmView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before Django's own accounts URLs, so that its login name and address lead here.
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/reset/<uidb64>/<token>/", UnlockingPasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("courses.urls")),
    path("", include("exercises.urls")),
    path("", include("quizzes.urls")),
    path("", include("reflections.urls")),
    path("", include("comparisons.urls")),
]
handler400 = "frontdoor.limits.bad_request"
handler500 = "attentive.outages.server_error"
