"""The request size caps, shared by the Django middleware (WSGI and tests), the ASGI entry point
and the page for form data over Django's own limits."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views import defaults


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def too_large_page(size: int | None) -> str:
    """The page that says what was refused and what to do instead."""
    return render_to_string("413.html", {
        "refusal": f"The site accepts at most {megabytes(settings.MAX_REQUEST_BYTES)} in one request"
                   + (f"; this one was {megabytes(size)}." if size else "."),
        "advice": "Go back and send a smaller file: export fewer rows or questions, or compress the images first.",
    })


def too_large_response(size: int | None) -> HttpResponse:
    return HttpResponse(too_large_page(size), status=413, content_type="text/html; charset=utf-8")


def declared_length(value: str | bytes | None) -> int | None:
    """A Content-Length header as a number, or None when there is none or it is not a number."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def security_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    """What Django's security middleware and django-csp add to every page, for a response the
    ASGI entry point makes before Django runs."""
    from csp.utils import build_policy

    headers = [
        (b"content-security-policy", build_policy().encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
        (b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()),
        (b"cross-origin-opener-policy", (settings.SECURE_CROSS_ORIGIN_OPENER_POLICY or "same-origin").encode()),
    ]
    if https and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append((b"strict-transport-security", value.encode()))
    return headers


def bad_request(request, exception):
    """Django's limits on form data (text fields, their number, the number of files) are answered
    with the limit that was passed, never the generic "could not read this request"."""
    if isinstance(exception, RequestDataTooBig):
        limit = megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        refusal = f"The site accepts at most {limit} of form text (everything but files) in one request."
        advice = "Go back and shorten the text, or send it as a file."
        status = 413
    elif isinstance(exception, TooManyFieldsSent):
        refusal = f"The site accepts at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields in one request."
        advice = "Go back and send the form in several parts."
        status = 400
    elif isinstance(exception, TooManyFilesSent):
        refusal = f"The site accepts at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files in one request."
        advice = "Go back and send fewer files at once."
        status = 400
    else:
        return defaults.bad_request(request, exception)
    page = render_to_string("413.html", {"refusal": refusal, "advice": advice}, request=request)
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
