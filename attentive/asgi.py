"""ASGI entry point: Django for HTTP, Channels for WebSockets.

Each installed app may define `websocket_urlpatterns` in its `routing.py`; they are
gathered here so that adding a live feature never means editing this file.
"""

import gc
import os
import warnings
from importlib import import_module

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")
# WhiteNoise hands Django a file iterator that is synchronous; Django reads it in a thread
# and warns each time. For static files of a few hundred KB that is fine.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
django.setup(set_prefix=False)

from frontdoor.asgi import OneTripASGIHandler  # noqa: E402 (needs the apps loaded)

# Django's handler, its middlewares and views run in the request's thread in one trip (frontdoor/asgi.py).
django_application = OneTripASGIHandler()

from attentive.outages import AnswerWithinDeadline, limit_web_statements  # noqa: E402

limit_web_statements()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.apps import apps  # noqa: E402

from frontdoor.asgi import RequestBodyLimit, SameOriginWebSocketValidator, websocket_auth_stack  # noqa: E402


def websocket_urlpatterns() -> list:
    patterns = []
    for config in apps.get_app_configs():
        try:
            routing = import_module(f"{config.name}.routing")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.routing":
                raise
            continue
        patterns.extend(getattr(routing, "websocket_urlpatterns", []))
    return patterns


application = ProtocolTypeRouter(
    {
        # Bodies over MAX_REQUEST_MB are refused before Django spools them. A request stuck
        # behind a frozen database or Redis gets the 503 page after REQUEST_DEADLINE_SECONDS.
        "http": AnswerWithinDeadline(RequestBodyLimit(django_application)),
        # A socket is accepted only from a page of this site: same scheme, host and port.
        # Cookies, session and user as Channels' AuthMiddlewareStack gives them (frontdoor/asgi.py).
        "websocket": SameOriginWebSocketValidator(websocket_auth_stack(URLRouter(websocket_urlpatterns()))),
    }
)

# Everything imported by now (Django, the apps, torch and what they import: some 250,000
# objects) lives as long as the process. Frozen, the garbage collector's full collections
# no longer walk it again and again, stopping every connection of the process each time
# (docs/benchmarks.md, "Live quizzes"). What a request or a message allocates lives a few
# milliseconds; collected after 50,000 allocations instead of 700, it is mostly gone before
# it would be promoted to the older generations, whose collections stop the process longest.
gc.freeze()
gc.set_threshold(50_000, 20, 20)
