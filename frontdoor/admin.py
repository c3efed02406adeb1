"""Locks in the admin (deleting a row lifts its lock), and the admin's sign-in under the same throttle."""

from django.contrib import admin

from .models import Throttle
from .signin import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(Throttle)
class ThrottleAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "failures", "window_started_at", "locked_until")
    list_filter = ("scope",)
    search_fields = ("key",)
    readonly_fields = ("scope", "key", "failures", "window_started_at", "locked_until")
