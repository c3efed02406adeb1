"""During an outage of the database or Redis, every page answers at once with a clear 503, never a bare 500."""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 10


def _outage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import redis.exceptions

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a pinned requirement
        pass
    try:
        import kombu.exceptions

        errors.append(kombu.exceptions.OperationalError)
    except ImportError:  # pragma: no cover - kombu is a pinned requirement
        pass
    return tuple(errors)


OUTAGE_ERRORS = _outage_errors()


def is_outage(error: BaseException) -> bool:
    """A failure of a service the site depends on (not a bug): the database or the broker is away."""
    if isinstance(error, DatabaseError) and not isinstance(error, OperationalError | InterfaceError):
        return False
    return isinstance(error, OUTAGE_ERRORS)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage (wherever it was raised, middleware included) is a 503; anything else a 500."""
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        log.warning("outage while serving %s: %s: %s", request.path, type(error).__name__, error)
        return outage_response(request)
    return defaults.server_error(request)


def outage_response(request: HttpRequest) -> HttpResponse:
    """The 503: rendered without the database (no user, no session, no messages)."""
    body = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
