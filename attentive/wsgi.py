"""WSGI entry point, for hosts that cannot run ASGI (no live quizzes or pushed verdicts there)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")

application = get_wsgi_application()

from attentive.outages import limit_web_statements  # noqa: E402

limit_web_statements()
