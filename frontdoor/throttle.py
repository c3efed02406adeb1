"""Count failures (a wrong password, join code or game PIN) and lock out who makes too many.

A rule counts failures per key in a fixed window; the failure that reaches the limit locks the
key for the rule's lockout time, during which even a right answer is refused, so guessing gains
nothing. Each page checks its keys *before* doing the expensive or revealing work (hashing a
password, looking a code up).

Locks must not become a way to lock others out, so each key is chosen for who it stops:
- a sign-in is counted per (account, address) pair with a low limit, and per account alone
  with a high one: wrong passwords typed elsewhere never stop the owner signing in from their
  own network, unless so many networks guessed that the whole account is locked;
- an address (an IPv6 /64 counts as one address, since one subscriber holds a whole /64) that
  fails for many accounts stops only the accounts (or, for join codes, the people) that have
  failed from it: a lecture hall behind one address signs in while one student guesses;
- game PINs and course codes are also reached by the link or QR code that the course's staff
  hand out (`link_key`): it carries a key no guesser can make, and passes every lock.
Instructors lift their students' locks on the People page; site staff lift any lock in the
admin (Throttles) or with `manage.py unlock_account`.

Why the database rather than django-axes or the cache: axes covers only sign-in (join codes
and PINs need the same), and it applies one failure limit to every lockout parameter, so a
limit low enough to protect one account would lock a whole lecture hall sharing one address.
The cache is per process on the embedded path (its memory cache), so a management command or
a second process would not see the locks, and a restart would lift them.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

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
        "login-pair": (settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, "LOGIN_LOCKOUT_MINUTES"),
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


def failures(rule: Rule, key: str) -> int:
    """The key's failures in the current window (none once the window or the lockout is over)."""
    row = Throttle.objects.filter(scope=rule.scope, key=key[:255]).first()
    if row is None or row.window_started_at + rule.window <= now() or (row.locked_until and row.locked_until <= now()):
        return 0
    return row.failures


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


def lift(scope: str, *, key: str | None = None, key_prefix: str | None = None, key_suffix: str | None = None) -> bool:
    """Forget the failures of every key of `scope` that matches; True if one of them was locked."""
    rows = Throttle.objects.filter(scope=scope)
    if key is not None:
        rows = rows.filter(key=key[:255])
    if key_prefix is not None:
        rows = rows.filter(key__startswith=key_prefix)
    if key_suffix is not None:
        rows = rows.filter(key__endswith=key_suffix)
    was_locked = rows.filter(locked_until__gt=now()).exists()
    rows.delete()
    return was_locked


def pair_key(account: str, address: str) -> str:
    """One counter for an account tried from one address (usernames hold no '|')."""
    return f"{account}|{address}"


def account_locks(account: str, user_id: int | None) -> datetime | None:
    """Until when the person is locked out, the latest of their locks: their account's sign-in,
    their sign-in from any address, their joining with a course code. None if none is."""
    rows = Throttle.objects.filter(locked_until__gt=now()).filter(
        models.Q(scope="login-account", key=account) | models.Q(scope="login-pair", key__startswith=f"{account}|")
        | models.Q(scope="join-code-account", key=str(user_id)))
    return rows.aggregate(until=models.Max("locked_until"))["until"]


def lift_account(account: str, user_id: int | None) -> bool:
    """Lift every lock of the person (see account_locks); True if one was locked."""
    lifted = [lift("login-account", key=account), lift("login-pair", key_prefix=f"{account}|")]
    if user_id is not None:
        lifted.append(lift("join-code-account", key=str(user_id)))
    return any(lifted)


def lift_address(address: str) -> bool:
    """Lift every lock of an address (grouped as client_address groups it); True if one was locked."""
    address = address_group(address)
    lifted = [lift(scope, key=address) for scope in ("login-address", "join-code-address", "game-pin-address")]
    lifted.append(lift("login-pair", key_suffix=f"|{address}"))
    return any(lifted)


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


def address_group(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 network, which one subscriber (one
    phone, one home) holds whole: counted one by one, its 2**64 addresses would be 2**64 keys."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip() or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def client_address(request) -> str:
    """The address the request came from, grouped by address_group. Behind a proxy, uvicorn puts
    the client's address here when the proxy is listed in FORWARDED_ALLOW_IPS (see the README's
    deploy section)."""
    return address_group(request.META.get("REMOTE_ADDR") or "")


def link_key(purpose: str, *parts: object) -> str:
    """The key a staff-made link carries (the projector's QR code, a course's join link): proof
    that its holder was given the link, not guessing, so it passes the locks."""
    value = ":".join(str(part) for part in parts)
    return salted_hmac(f"frontdoor.link.{purpose}", value).hexdigest()[:12]


def link_key_valid(given: str | None, purpose: str, *parts: object) -> bool:
    return bool(given) and constant_time_compare(given, link_key(purpose, *parts))
