"""The front-door app: throttles and limits that every other app's pages rely on."""

from django.apps import AppConfig


class FrontdoorConfig(AppConfig):
    name = "frontdoor"
    verbose_name = "Front door (sign-in throttles)"
    default_auto_field = "django.db.models.BigAutoField"
