"""Locks in the admin, for the site's staff (deleting a row, or the action, lifts its lock), and
the admin's sign-in under the same throttle."""

from django.contrib import admin, messages

from .models import Throttle
from .signin import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(Throttle)
class ThrottleAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "failures", "window_started_at", "locked_until")
    list_filter = ("scope",)
    search_fields = ("key",)
    readonly_fields = ("scope", "key", "failures", "window_started_at", "locked_until")
    actions = ["lift"]

    @admin.action(description="Lift the selected locks (and forget their failures)")
    def lift(self, request, queryset):
        count = queryset.count()
        queryset.delete()
        messages.success(request, f"Lifted {count} lock{'s' if count != 1 else ''}.")
