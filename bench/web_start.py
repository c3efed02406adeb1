"""A web process's cold start: Django set up, the URLconf imported, one exercise page of each kind
rendered; prints JSON (seconds since the process started, its CPU seconds, peak RSS, whether
torch loaded).

    python bench/web_start.py --prepare                  # once per database: a course, a student, two exercises
    python bench/web_start.py [--course web-start] [--user web-start-student] [softmax questions]

Run it as a fresh process each time (the number is a cold start's); DATABASE_URL says which
database. The pages are rendered through Django's test client, as the student.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS_TOML = """\
kind = "questions"

[[parts]]
id = "derivative"
type = "symbolic"
prompt = "The derivative of $x^2$."
answer = "2*x"
points = 1
variables = { x = "real" }

[[parts]]
id = "why"
type = "text"
prompt = "Why?"
points = 1
rubric = [{ id = "power", criterion = "Uses the power rule", points = 1 }]
"""


def prepare(course_slug: str, username: str) -> None:
    """A course with a student and a code and a questions exercise, made as load_course would make them."""
    from django.contrib.auth import get_user_model

    from courses.models import Course, Lesson, Membership
    from exercises.models import Exercise
    from graders import engine
    from graders.spec import exercise_files

    course, _ = Course.objects.get_or_create(slug=course_slug, defaults={"title": "Web start"})
    lesson, _ = Lesson.objects.get_or_create(course=course, slug="lesson", defaults={"title": "Lesson", "position": 1})
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(user=user, course=course, defaults={"role": Membership.Role.STUDENT})
    code_files = exercise_files(ROOT / "tests" / "security" / "softmax_exercise")
    for slug, kind, files in (
        ("softmax", "code", code_files),
        ("questions", "questions", {"exercise.toml": QUESTIONS_TOML, "statement.md": "Two parts."}),
    ):
        info = engine.inspect(files)
        assert not info.problems, info.problems
        Exercise.objects.update_or_create(
            course=course, slug=slug,
            defaults={"lesson": lesson, "pack_id": f"web-start-{slug}", "title": slug.title(), "kind": kind,
                      "max_score": info.max_score, "files": files, "version": info.version,
                      "starter_code": files.get("starter.py", "")},
        )


def render(course_slug: str, username: str, slugs: list[str]) -> dict[str, int]:
    """Each exercise page's HTTP status, rendered as the student."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    statuses = {}
    for slug in slugs:
        response = client.get(f"/c/{course_slug}/exercises/{slug}/")
        statuses[slug] = response.status_code
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--course", default="web-start")
    parser.add_argument("--user", default="web-start-student")
    parser.add_argument("exercises", nargs="*", default=["softmax", "questions"])
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")
    import django

    django.setup()
    if options.prepare:
        prepare(options.course, options.user)
        return
    import attentive.urls  # noqa: F401 - what a web process imports before its first request

    ready = time.monotonic()
    statuses = render(options.course, options.user, options.exercises)
    done = time.monotonic()
    started = _process_start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "ready_s": round(ready - started, 3),
        "first_pages_s": round(done - ready, 3),
        "total_s": round(done - started, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "torch_loaded": "torch" in sys.modules,
        "statuses": statuses,
    }))


def _process_start() -> float:
    """When this process started, on the time.monotonic() clock (from /proc, in clock ticks since boot)."""
    stat = Path("/proc/self/stat").read_text()
    ticks = int(stat[stat.rindex(")") + 2:].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.monotonic() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


if __name__ == "__main__":
    main()
