"""CPU of a grading worker's own process per verdict, step by step (claim, grading, record), as JSON.

    python bench/grading_steps.py [--verdicts 300] [--exercise 01-softmax]
    python bench/grading_steps.py --first 5      # a process started as a pool process: its first verdicts

Runs `exercises.grading.grade` in this process, as a Celery pool process runs it (kept
database connection, commits without waiting, DEBUG off, the live updates through a private
redis-server), over a throwaway PostgreSQL database (SQLite if no server answers on
127.0.0.1:5432), one queued submission of the exercise's solution after another. The sandboxes
are other processes and are not counted here (bench/verdict_cpu.py counts them; bench/grading.py
counts everything). Reports, per verdict: CPU of the process's threads (`thread_cpu_ms`, from
/proc), and of the grading thread in each step (`time.thread_time` around claim, grade_answer,
record and a few of their parts); wall time per verdict beside it. With `--first N`, the process
starts as a Celery pool process does (`exercises.worker.start`: its pool, heartbeat and warm-up),
waits until it says it is ready and 3 s more, and reports each of its first N verdicts.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.grading import create_database, drop_database, postgres_available  # noqa: E402 (needs the root on the path)
from bench.verdict_cpu import EXERCISES  # noqa: E402

# (module, owner, attribute) of the steps timed in the grading thread, outermost first.
STEPS = (
    ("exercises.grading", None, "claim"),
    ("graders.engine", None, "grade_answer"),
    ("exercises.grading", None, "record"),
    ("exercises.signals", None, "send_submission_changed"),
    ("graders.sandbox.pool", "Sandbox", "load"),
    ("graders.sandbox.pool", "Sandbox", "call"),
    ("graders.sandbox.wire", None, "encode"),
    ("graders.sandbox.wire", None, "decode"),
    ("graders.code.authoring", "TestContext", "reference"),
    ("graders.code.authoring", "TestContext", "check_close"),
)


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds of each thread of this process, by native thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def timed(spent: collections.Counter, name: str, function):
    """`function`, adding its grading thread's CPU time to spent[name]."""
    def wrapper(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - started
    return wrapper


def measure(options: argparse.Namespace) -> dict:
    from django.contrib.auth import get_user_model

    from courses.models import Course, Lesson
    from exercises import grading, worker
    from exercises.models import Exercise, Submission
    from graders import engine
    from graders.code import exercise_files

    worker.keep_connections()
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(worker.commit_without_waiting, dispatch_uid="exercises.commit_without_waiting")
    connections.close_all()
    files = exercise_files(EXERCISES / options.exercise)
    info = engine.inspect(files)
    user = get_user_model().objects.create_user("bench", password="bench-password-not-secret")
    course = Course.objects.create(title="Bench", slug="bench")
    lesson = Lesson.objects.create(course=course, title="Bench", slug="bench")
    exercise = Exercise.objects.create(course=course, lesson=lesson, pack_id="bench", slug="bench", title="Bench",
                                       kind=info.kind, max_score=info.max_score, files=files, version=info.version)
    spent: collections.Counter = collections.Counter()
    if options.first:
        return first_verdicts(options.first, exercise, user, files["solution.py"], spent)
    warm_up = 10
    ids = [Submission.objects.create(user=user, exercise=exercise, answer=files["solution.py"], number=number).pk
           for number in range(1, warm_up + options.verdicts + 1)]
    engine.sandbox_pool()
    for pk in ids[:warm_up]:
        if grading.grade(pk) != "recorded":
            raise RuntimeError(f"submission {pk} was not recorded")
    time.sleep(2)  # the pool refilled
    time_steps(spent)
    before = thread_cpu_seconds()
    started = time.monotonic()
    for pk in ids[warm_up:]:
        if grading.grade(pk) != "recorded":
            raise RuntimeError(f"submission {pk} was not recorded")
    wall = time.monotonic() - started
    after = thread_cpu_seconds()
    scores = set(Submission.objects.filter(pk__in=ids).values_list("score", flat=True))
    if scores != {info.max_score}:
        raise RuntimeError(f"the solution scored {scores}, not {info.max_score}")
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    per_verdict = 1000 / options.verdicts
    by_thread = {
        names.get(tid, str(tid)): round((after[tid] - before.get(tid, 0.0)) * per_verdict, 2)
        for tid in after if after[tid] > before.get(tid, 0.0)
    }
    return {
        "thread_cpu_ms": dict(sorted(by_thread.items(), key=lambda item: -item[1])),
        "process_cpu_ms": round(sum(by_thread.values()), 2),
        "grading_thread_steps_ms": {name: round(seconds * per_verdict, 2) for name, seconds in spent.most_common()},
        "wall_ms": round(wall * per_verdict, 2),
    }


def time_steps(spent: collections.Counter) -> None:
    """Have each of STEPS add its grading thread's CPU time to `spent`."""
    import importlib

    for module_name, owner, attribute in STEPS:
        module = importlib.import_module(module_name)
        target = getattr(module, owner) if owner else module
        setattr(target, attribute, timed(spent, attribute, getattr(target, attribute)))


def first_verdicts(count: int, exercise, user, solution: str, spent: collections.Counter) -> dict:
    """The first `count` verdicts of a process started as a Celery pool process starts."""
    from django.db import connections

    from exercises import grading, worker
    from exercises.models import Submission, WorkerHeartbeat

    # One earlier submission, as on a course's server: the worker warms up for its exercise.
    Submission.objects.create(user=user, exercise=exercise, answer=solution, number=1, status="graded")
    ids = [Submission.objects.create(user=user, exercise=exercise, answer=solution, number=number).pk
           for number in range(2, count + 2)]
    connections.close_all()  # the grading thread starts without a connection, as a new pool process's
    started = time.monotonic()
    worker.start()
    while not WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists():
        if time.monotonic() - started > 120:
            raise RuntimeError("the worker did not say it was ready within 120 s")
        time.sleep(0.05)
    ready = time.monotonic() - started
    time.sleep(3)
    connections.close_all()
    time_steps(spent)
    verdicts = []
    for pk in ids:
        spent.clear()
        wall, cpu = time.monotonic(), time.thread_time()
        if grading.grade(pk) != "recorded":
            raise RuntimeError(f"submission {pk} was not recorded")
        verdicts.append({"wall_ms": round((time.monotonic() - wall) * 1000, 1),
                         "cpu_ms": round((time.thread_time() - cpu) * 1000, 1),
                         "steps_ms": {name: round(seconds * 1000, 1) for name, seconds in spent.most_common(4)}})
    worker.stop()
    return {"ready_after_s": round(ready, 1), "first_verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verdicts", type=int, default=300, help="verdicts measured (after 10 to warm up)")
    parser.add_argument("--exercise", default="01-softmax", help="an exercise folder of the lesson")
    parser.add_argument("--first", type=int, default=0, metavar="N",
                        help="start as a pool process and report its first N verdicts instead")
    options = parser.parse_args()
    os.chdir(ROOT)
    database_name = f"attentive_bench_steps_{os.getpid()}"
    use_postgres = postgres_available()
    os.environ.update({"ATTENTIVE_VAR_DIR": tempfile.mkdtemp(prefix="attentive-bench-"), "DEBUG": "false",
                       "DJANGO_SETTINGS_MODULE": "attentive.settings", "SECRET_KEY": "bench-" + "x" * 40})
    os.environ["DATABASE_URL"] = create_database(database_name) if use_postgres else ""
    from tests.processes import start_redis

    redis, os.environ["REDIS_URL"] = start_redis()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        result = measure(options)
    finally:
        from graders import engine

        engine.close_sandbox_pool()
        redis.kill()
        if use_postgres:
            from django.db import connections

            connections.close_all()
            drop_database(database_name)
    print(json.dumps({
        "benchmark": "grading_steps", "exercise": options.exercise, "verdicts": options.verdicts,
        "database": "postgresql" if use_postgres else "sqlite", "load_average_at_end": os.getloadavg()[0],
        **result,
    }, indent=2))


if __name__ == "__main__":
    main()
