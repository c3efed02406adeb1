"""A class submits at once: N students each press Submit over HTTP within a few seconds, a grading worker beside.

    python bench/submit_burst.py [--students 300] [--window-s 10] [--servers 2] [--profile DIR]

The stack is bench/faults.py's (its helpers, not copies): a private PostgreSQL and Redis on free
ports, the grading worker (`--queues grading,default --concurrency 2`) and beat apart, and
`--servers` uvicorn processes serving the site as docker-compose.yml's `web` service does. Each
student is signed in (a session made in the database, as faults.Browser does) and POSTs one
answer to the softmax exercise of the demo pack (correct and wrong answers mixed) at a moment
drawn uniformly from the window. Prints ONE JSON object: the HTTP times (p50, p95, p99, max, in
ms), how many were accepted (200), the statuses, and how long the verdicts took to drain (from the
first Submit to the last verdict) with each verdict's delay (graded_at - submitted_at).

`--profile DIR`: py-spy samples every uvicorn process during the burst (raw stacks in DIR), and the
JSON says which of the site's functions the samples were in (`profile`), to tell where the time goes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from bench.faults import (  # noqa: E402
    EXERCISES,
    Browser,
    finished_count,
    prepare_stack,
    private_database,
    setup_exercises,
    tear_down,
)
from tests.processes import start_redis, wait_until  # noqa: E402

# Frames of the site's own code and of the libraries on the submit path, for the profile summary.
PROFILED = ("attentive/", "exercises/", "graders/", "courses/", "frontdoor/", "django/", "psycopg", "kombu/",
            "redis/", "celery/", "uvicorn/", "asgiref/", "whitenoise/")


def make_students(count: int, course) -> list:
    from django.contrib.auth import get_user_model

    from courses.models import Membership

    User = get_user_model()
    users = [User(username=f"burst-{number:04d}") for number in range(count)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__startswith="burst-").order_by("username"))
    Membership.objects.bulk_create([Membership(user=user, course=course, role="student") for user in users])
    return users


def profile_summary(folder: Path, top: int = 25) -> dict:
    """Share of the samples in which each function of PROFILED code was on the stack (inclusive)."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for file in folder.glob("burst-*.txt"):
        for line in file.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            frames = stack.split(";")
            total += samples
            seen = set()
            for frame in frames:
                if any(part in frame for part in PROFILED) and frame not in seen:
                    seen.add(frame)
                    inclusive[frame] += samples
            leaves[frames[-1]] += samples
    share = {frame: round(samples / total, 3) for frame, samples in inclusive.most_common(top)} if total else {}
    return {"samples": total, "inclusive": share,
            "leaves": {frame: round(samples / total, 3) for frame, samples in leaves.most_common(10)} if total else {}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--window-s", type=float, default=10.0, help="every student submits within this window")
    parser.add_argument("--servers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy raw stacks of the servers go here")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="attentive-burst-"))
    postgres, database_url = private_database(workdir)
    stack = redis = servers = None
    spies = []
    try:
        redis = start_redis()
        stack = prepare_stack(workdir, postgres, database_url, redis)
        stack.start_beat()
        stack.start_worker()
        _user, exercises = setup_exercises()
        exercise, answers = next(made for made in exercises if made[0].slug == Path(EXERCISES[0]).name)
        students = make_students(options.students, exercise.course)
        servers = stack.start_servers(options.servers)
        browsers = [Browser(student, servers.port_for(number)) for number, student in enumerate(students)]
        texts = [answers[name] for name in ("correct", "naive", "last_dim_only", "unfinished")]
        path = f"/c/{exercise.course.slug}/exercises/{exercise.slug}/submit/"
        # Each server answers one request first: its first request pays for lazy imports and the pool.
        for port in servers.ports:
            Browser(students[0], port).request("GET", f"/c/{exercise.course.slug}/exercises/{exercise.slug}/")
        spies = servers.profile(options.profile, "burst")
        load_before = [round(value, 2) for value in os.getloadavg()]
        started = time.monotonic() + 0.5
        moments = sorted(random.uniform(0, options.window_s) for _ in browsers)
        answers_http: list[dict] = []
        lock = threading.Lock()

        def student(number: int) -> None:
            time.sleep(max(0.0, started + moments[number] - time.monotonic()))
            answer = browsers[number].request("POST", path, {"code": texts[number % len(texts)]}, timeout=60)
            with lock:
                answers_http.append(answer)

        cpu_before = os.times()
        with ThreadPoolExecutor(len(browsers)) as pool:
            list(pool.map(student, range(len(browsers))))
        http_done = time.monotonic()
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(timeout=30)
        from exercises.models import Submission

        ids = list(Submission.objects.filter(user__in=students).values_list("pk", flat=True))
        try:
            wait_until(lambda: finished_count(ids) == len(ids), options.drain_timeout, every=0.2,
                       what="the verdicts")
        except TimeoutError:
            pass
        rows = list(Submission.objects.filter(pk__in=ids).values_list("status", "submitted_at", "graded_at"))
        finished = [row for row in rows if row[2] is not None]
        first = min((row[1] for row in rows), default=None)
        last = max((row[2] for row in finished), default=None)
        seconds = [answer["s"] * 1000 for answer in answers_http if answer["status"] is not None]
        delays = [(row[2] - row[1]).total_seconds() for row in finished]
        result = {
            "students": len(browsers), "window_s": options.window_s, "servers": options.servers,
            "http_ms": {"p50": percentile(seconds, 0.5), "p95": percentile(seconds, 0.95),
                        "p99": percentile(seconds, 0.99), "max": max(seconds, default=None)},
            "accepted": sum(1 for answer in answers_http if answer["status"] == 200),
            "statuses": dict(collections.Counter(str(answer["status"]) for answer in answers_http)),
            "http_s": round(http_done - started, 1),
            "saved": len(rows), "graded": sum(1 for row in rows if row[0] == Submission.Status.GRADED),
            "lost": len(rows) - len(finished),
            "drain_s": round((last - first).total_seconds(), 1) if first and last else None,
            "verdict_delay_s": {"p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95),
                                "max": max(delays, default=None)},
            "bench_process_cpu_s": round(sum(os.times()[:2]) - sum(cpu_before[:2]), 1),
            "load_average_before": load_before,
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        }
        if options.profile is not None:
            result["profile"] = profile_summary(options.profile)
        print(json.dumps(result), flush=True)
        return 0 if result["accepted"] == len(browsers) and not result["lost"] else 1
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.kill()
        if servers is not None:
            servers.stop()
        tear_down(workdir, stack, postgres, redis)


if __name__ == "__main__":
    sys.exit(main())
