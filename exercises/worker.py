"""Life of a grading worker process: warm its sandbox pool at start and say, every few seconds,
whether it can grade (pages show students when no worker can)."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time

from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.utils import timezone

log = logging.getLogger(__name__)
HEARTBEAT_EVERY_SECONDS = 15
# How often the pool's state is looked at between beats: a change is recorded at once.
PROBLEM_CHECK_EVERY_SECONDS = 1
# A grading worker keeps its database connection between tasks: opening one per verdict (the
# default, CONN_MAX_AGE = 0, which suits the web process) cost a PostgreSQL connection and its
# session settings every time. The health check (one `SELECT 1` before a task's first query)
# replaces a connection that a database restart broke, instead of failing the task on it.
WORKER_CONN_MAX_AGE_SECONDS = 600


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record_heartbeat(ready: bool, problem: str = "") -> None:
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        name=worker_name(), defaults={"seen_at": timezone.now(), "ready": ready, "problem": problem}
    )


def start() -> None:
    """Warm the pool in the background and keep the heartbeat going while the process lives."""
    connection_created.connect(commit_without_waiting, dispatch_uid="exercises.commit_without_waiting")
    keep_connections()
    threading.Thread(target=_run, name="grader-heartbeat", daemon=True).start()


def keep_connections() -> None:
    """Persistent, health-checked database connections for this process (see WORKER_CONN_MAX_AGE_SECONDS)."""
    for alias in connections:
        settings = connections[alias].settings_dict
        if not settings.get("CONN_MAX_AGE"):
            settings["CONN_MAX_AGE"] = WORKER_CONN_MAX_AGE_SECONDS
            settings["CONN_HEALTH_CHECKS"] = True
            # The web processes' pool (attentive/settings.py) is for threads that come and go; a
            # worker keeps its one connection, and Django allows a pool or a kept connection, not both.
            settings["OPTIONS"] = {name: value for name, value in settings.get("OPTIONS", {}).items() if name != "pool"}


def commit_without_waiting(sender, connection, **_kwargs) -> None:
    """On PostgreSQL, a grading worker's commits do not wait for the disk.

    Safe because of the state machine, not despite it: if the database server crashed and
    lost the last few commits, a submission would be back at `queued` or `running`, and the
    sweeper grades it again. The web process, which creates submissions, keeps waiting.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")


def _run(stop: threading.Event | None = None) -> None:
    # The engine (and torch) is imported here, in the worker, not where this module is: a web
    # process imports exercises.tasks to send a grading and has no use for it.
    from graders import engine

    stop = stop or threading.Event()
    pool = None
    problem = ""
    try:
        pool = engine.sandbox_pool()
    except engine.GradingUnavailable as unavailable:
        problem = str(unavailable)
        log.error("this worker cannot sandbox student code and will not grade: %s", problem)
    if pool is not None:
        # Before the first beat says this worker is ready: a worker that says so is warm, and
        # whoever waits for that (a deploy, bench/grading.py) does not race the warm-up.
        warm_first_verdict(pool, warm_rules_in_use(pool))
    recorded: str | None = None
    last_beat = -math.inf
    while True:
        if pool is not None:
            # A pool replacing its zygote says so at once: pages then tell students that grading
            # is delayed, and why, instead of waiting for the next regular beat.
            problem = pool.problem()
        if problem != recorded or time.monotonic() - last_beat >= HEARTBEAT_EVERY_SECONDS:
            try:
                record_heartbeat(ready=not problem, problem=problem)
                recorded, last_beat = problem, time.monotonic()
            except Exception:  # the database may be briefly away; the next beat tries again
                log.exception("could not record the worker heartbeat")
            finally:
                connection.close()
        if stop.wait(PROBLEM_CHECK_EVERY_SECONDS):
            return


# How many code exercises, submitted to last, are looked at for the rules to keep warm.
EXERCISES_LOOKED_AT = 20


def warm_rules_in_use(pool) -> dict[str, str] | None:
    """Have the pool keep sandboxes warm for the "build it yourself" rules of the code exercises
    submitted to last (before any submission, the newest ones), as many as it keeps warm.

    Otherwise the first submission of such an exercise that each worker process grades waits
    while the rule's zygote starts (a fork, the pieces taken away, its memory put back on huge
    pages: 0.25 s of CPU), and in a deadline's burst every worker started meanwhile pays it.
    Returns the files of the first of these exercises that loads, if any.
    """
    from graders.code.loading import loaded_exercise
    from graders.sandbox.pool import RULES_KEPT_WARM
    from graders.spec import ExerciseError, exercise_version

    from .models import Exercise, Submission

    try:
        recent = Submission.objects.filter(exercise__kind=Exercise.Kind.CODE).order_by("-submitted_at")
        ids = list(dict.fromkeys(recent.values_list("exercise_id", flat=True)[:500]))[:EXERCISES_LOOKED_AT]
        if not ids:
            newest = Exercise.objects.filter(kind=Exercise.Kind.CODE, archived=False).order_by("-pk")
            ids = list(newest.values_list("pk", flat=True)[:EXERCISES_LOOKED_AT])
        files = dict(Exercise.objects.filter(pk__in=ids).values_list("pk", "files"))
        rules: list = []
        first = None
        for pk in ids:
            try:
                loaded = loaded_exercise(files[pk], exercise_version(files[pk]))
            except ExerciseError:
                continue  # graded as "could not be loaded", with no sandbox
            first = first or files[pk]
            rules += [spec.forbids for spec in loaded.tests if spec.forbids is not None and spec.forbids not in rules]
        # The most recently used last: the pool keeps the last RULES_KEPT_WARM it is given.
        if rules:
            pool.keep_warm(reversed(rules[:RULES_KEPT_WARM]))
        return first
    except Exception:  # the database away at start: the rules are then made warm when first asked for
        log.exception("could not find the rules to keep warm")
        return None
    finally:
        connection.close()


# The group of the live update sent at start (nobody listens to it).
WARM_UP_GROUP = "grading-worker-warm-up"


def warm_first_verdict(pool, files: dict[str, str] | None) -> None:
    """Do, once, what a pool process's first verdict would otherwise set up while a student waits:
    send a live update (the channel layer, its Redis connection and thread), and grade the
    solution of `files`, the code exercise submitted to last (torch's autograd engine and the
    first calls of the reference's operations in this process), its verdict thrown away.

    Measured before (bench/grading_steps.py's steps, in a process started as a pool process):
    the first softmax verdict took 200 ms of CPU, 130 of them in the first live update and 46
    in the first `t.reference`; the next ones 13-15.
    """
    from attentive.broadcast import group_send
    from graders import engine

    try:
        group_send(WARM_UP_GROUP, {"type": "grading.warm_up"})
        if files is not None:
            engine.grade_code(files, files.get("solution.py", ""), pool)
    except Exception:  # a warm-up that fails leaves the first verdict slower, nothing worse
        log.exception("could not warm this worker up for its first verdict")


def stop() -> None:
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(name=worker_name()).delete()
    from graders import engine

    engine.close_sandbox_pool()
