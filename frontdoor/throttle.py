"""Count failures (a wrong password, join code or game PIN) and lock out who makes too many.

A rule counts failures per key (a username, an address, a user id) in a fixed window; the
failure that reaches the limit locks the key for the rule's lockout time, during which even a
right answer is refused, so guessing gains nothing. Each page checks its keys *before* doing
the expensive or revealing work (hashing a password, looking a code up).

Why the database rather than django-axes or the cache: axes covers only sign-in (join codes
and PINs need the same), and it applies one failure limit to every lockout parameter, so a
limit low enough to protect one account would lock a whole lecture hall sharing one address.
The cache is per process on the embedded path (its memory cache), so a management command or
a second process would not see the locks, and a restart would lift them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Throttle


@dataclass(frozen=True)
class Rule:
    scope: str
    limit: int
    window: timedelta
    lockout: timedelta


def _minutes(name: str) -> timedelta:
    return timedelta(minutes=getattr(settings, name))


def rule(name: str) -> Rule:
    """The rules, read from settings each time so that tests and deployments can change them."""
    rules = {
        "login-account": (settings.LOGIN_FAILURES_PER_ACCOUNT, "LOGIN_LOCKOUT_MINUTES"),
        "login-address": (settings.LOGIN_FAILURES_PER_ADDRESS, "LOGIN_LOCKOUT_MINUTES"),
        "join-code-account": (settings.JOIN_CODE_FAILURES_PER_ACCOUNT, "JOIN_CODE_LOCKOUT_MINUTES"),
        "join-code-address": (settings.JOIN_CODE_FAILURES_PER_ADDRESS, "JOIN_CODE_LOCKOUT_MINUTES"),
        "game-pin-session": (settings.GAME_PIN_FAILURES_PER_SESSION, "GAME_PIN_LOCKOUT_MINUTES"),
        "game-pin-address": (settings.GAME_PIN_FAILURES_PER_ADDRESS, "GAME_PIN_LOCKOUT_MINUTES"),
    }
    limit, lockout = rules[name]
    return Rule(name, limit, _minutes(lockout), _minutes(lockout))


def now() -> datetime:
    return timezone.now()


def locked_until(rule: Rule, key: str) -> datetime | None:
    """When the key's lockout ends, or None if it is not locked."""
    until = Throttle.objects.filter(scope=rule.scope, key=key[:255]).values_list("locked_until", flat=True).first()
    return until if until and until > now() else None


def first_lock(checks: list[tuple[Rule, str]]) -> tuple[Rule, datetime] | None:
    """The first of (rule, key) that is locked, with the time its lockout ends: one query for all of them
    (every page of a lecture hall joining a game asks)."""
    if not checks:
        return None
    moment = now()
    wanted = Q()
    for checked_rule, key in checks:
        wanted |= Q(scope=checked_rule.scope, key=key[:255])
    locks = {(scope, key): until for scope, key, until in
             Throttle.objects.filter(wanted, locked_until__gt=moment).values_list("scope", "key", "locked_until")}
    for checked_rule, key in checks:
        until = locks.get((checked_rule.scope, key[:255]))
        if until:
            return checked_rule, until
    return None


def record_failure(rule: Rule, key: str) -> datetime | None:
    """Count one failure; return when the lockout ends if this failure locked (or the key was locked)."""
    key = key[:255]
    moment = now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row, _created = Throttle.objects.select_for_update().get_or_create(
                    scope=rule.scope, key=key, defaults={"window_started_at": moment}
                )
                if row.locked_until and row.locked_until > moment:
                    return row.locked_until
                if row.window_started_at + rule.window <= moment or row.locked_until:
                    # The window (or an earlier lockout) is over: start counting again.
                    row.failures, row.window_started_at, row.locked_until = 0, moment, None
                row.failures += 1
                if row.failures >= rule.limit:
                    row.locked_until = moment + rule.lockout
                row.save()
                return row.locked_until
        except IntegrityError:
            continue  # another process created the row first: count on it
    return None


def record_failures(checks: list[tuple[Rule, str]]) -> tuple[Rule, datetime] | None:
    """Count one failure on each (rule, key); the first lock this caused or found, if any."""
    lock = None
    for checked_rule, key in checks:
        until = record_failure(checked_rule, key)
        if until and lock is None:
            lock = (checked_rule, until)
    return lock


def clear(rule: Rule, key: str) -> bool:
    """Forget the key's failures and lift its lockout; True if it was locked."""
    deleted = Throttle.objects.filter(scope=rule.scope, key=key[:255])
    was_locked = deleted.filter(locked_until__gt=now()).exists()
    deleted.delete()
    return was_locked


def prune() -> int:
    """Delete rows whose window and lockout are long over; returns how many."""
    longest = max(rule(name).window for name in ("login-account", "join-code-account", "game-pin-address"))
    cutoff = now() - max(longest, timedelta(hours=1))
    stale = Throttle.objects.filter(window_started_at__lt=cutoff).exclude(locked_until__gt=now())
    return stale.delete()[0]


def when(until: datetime) -> str:
    """'14:32 (in 15 minutes)', in the site's time zone."""
    minutes = max(1, math.ceil((until - now()).total_seconds() / 60))
    return f"{timezone.localtime(until):%H:%M} (in {minutes} minute{'s' if minutes != 1 else ''})"


def client_address(request) -> str:
    """The address the request came from. Behind a proxy, uvicorn puts the client's address here
    when the proxy is listed in FORWARDED_ALLOW_IPS (see the README's deploy section)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
