"""Failure counters with a lockout, one row per (scope, key): kept in the database so that every
web process, the admin and a management command see the same locks, and a restart lifts none."""

from django.db import models


class Throttle(models.Model):
    scope = models.CharField(max_length=40, help_text="What is counted, e.g. login-account or game-pin-address.")
    key = models.CharField(max_length=255, help_text="Whose failures: a username, an address, a user id.")
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(help_text="Failures older than the rule's window are forgotten.")
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="frontdoor_throttle_scope_key")]
        indexes = [models.Index(fields=["window_started_at"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures} failures"
