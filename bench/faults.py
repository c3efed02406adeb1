"""Fault drills of the grading path: kill or restart one piece mid-way, then count what survived.

    python bench/faults.py [--quick] [--drills zygote,sandbox,...] [--submissions 40]

Starts everything on 127.0.0.1 free ports and stops it all by itself: a private PostgreSQL
(initdb in a temporary directory, as the `postgres` user when run as root; else a throwaway
database on the server at 5432), a private Redis, and the layout of docker-compose.yml: one
grading worker (`--queues grading,default --concurrency 2`) and the beat worker apart
(`--beat --queues maintenance --pool solo`).

Each drill submits N submissions to three exercises of the demo pack (softmax, cross-entropy,
attention; correct and wrong answers mixed, each answer's score measured once before any fault),
injects its fault when about half of the first half is graded, submits the rest, waits for the
queue to drain and prints ONE JSON object: `drill`, `submitted`, `graded_once`, `lost` (never
finished), `doubled` (more than one verdict written), `wrong` (a status or score other than the
expected one), `drain_s` (from the fault to the last verdict), `injected` (false: the fault found
nothing to hit, and the drill proves nothing).

    zygote, sandbox, keeper, sandbox_storm   SIGKILL a zygote; busy sandboxes; the keepers of busy
                                             sandboxes (as root: rules' zygotes); every sandbox
                                             of a zygote for a while
    worker_child, worker                     SIGKILL a worker child; the whole worker, restarted
    redis, postgres                          restarted (down --outage-s)
    redis_frozen, postgres_frozen            SIGSTOP for --frozen-s, then SIGCONT: meanwhile the
                                             drill submits (`submit_s_max`, at most 5 s) and asks a
                                             uvicorn server for pages (`pages`: status and seconds
                                             each, at most 5 s, 503 when the service is needed)
The live-quiz drills (`live_uvicorn`, `live_redis`, `live_postgres`, `--players` phones on two
uvicorn processes; bench/live_drills.py says how) use the same PostgreSQL and Redis, and no worker.
`--quick` runs the zygote, sandbox, keeper, sandbox storm and frozen-PostgreSQL drills with 20
submissions each (under three minutes) and exits 1 if any drill reports lost, doubled or wrong submissions, a page
or a submit slower than 5 s, or `injected: false`, so CI can call it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import live_drills  # noqa: E402
from bench.common import free_port, percentile  # noqa: E402 (needs the project root on the path)
from tests.processes import Process, start_redis, wait_until  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DRILLS = ("zygote", "sandbox", "keeper", "sandbox_storm", "worker_child", "worker", "redis", "postgres",
          "redis_frozen", "postgres_frozen", *live_drills.DRILLS)
QUICK = ("zygote", "sandbox", "keeper", "sandbox_storm", "postgres_frozen")
# What a person waits at most for any page or a Submit during an outage.
ANSWER_WITHIN_S = 5.0
# The sweeper's clock, shortened from the defaults (10 s, 15 s, 30 s) so that drills that rely on
# it (a dead worker, a lost doorbell) finish in seconds; the mechanism is the same.
SWEEP_ENV = {"GRADING_SWEEP_SECONDS": "2", "GRADING_STALE_SECONDS": "8", "GRADING_REQUEUE_AFTER_SECONDS": "10"}

# Answers, right and wrong in different ways; each one's score is measured once, without faults,
# before the drills (so the drills do not depend on the exercises' points). Every exercise gets its
# solution.py ("correct") and its starter.py ("unfinished"); the others are edits of solution.py.
EXERCISES = ("01-transformers/exercises/01-softmax", "01-transformers/exercises/02-cross-entropy",
             "01-transformers/exercises/08-attention")
EDITS = {
    "01-softmax": {},  # ANSWERS below
    "02-cross-entropy": {
        "unshifted": ("shifted = logits - logits.amax(dim=-1, keepdim=True)", "shifted = logits"),
        "padding_counted": ("return token_losses[kept].sum() / kept.sum()", "return token_losses.mean()"),
    },
    "08-attention": {
        "unscaled": (" / math.sqrt(query.shape[-1])", ""),
        "no_causal_mask": ("allowed = allowed.tril()", "allowed = allowed"),
    },
}
ANSWERS = {
    "correct": None,  # the exercise's own solution.py
    "naive": (
        "import torch\n\n\ndef softmax(logits, dim=-1):\n"
        "    exponentials = logits.exp()\n"
        "    return exponentials / exponentials.sum(dim=dim, keepdim=True)\n"
    ),
    "last_dim_only": (
        "import torch\n\n\ndef softmax(logits, dim=-1):\n"
        "    shifted = logits - logits.amax(dim=-1, keepdim=True)\n"
        "    exponentials = shifted.exp()\n"
        "    return exponentials / exponentials.sum(dim=-1, keepdim=True)\n"
    ),
    "unfinished": (
        "import torch\n\n\ndef softmax(logits, dim=-1):\n"
        "    raise NotImplementedError('write the softmax here')\n"
    ),
}


# ---------------------------------------------------------------------------------------------
# Processes: PostgreSQL, workers, and finding the pieces to kill in /proc.


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster on a free port, owned by `postgres` when we are root."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL binaries in {PG_BIN} (Debian: apt install postgresql-15)")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="attentive-faults-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        self.start()

    def _run(self, command: list[str], timeout: float = 60) -> None:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                   str(self.directory / "server.log"), "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def pids(self) -> list[int]:
        """The postmaster and every backend: all of them, to freeze the server."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *descendants(processes(), postmaster)]

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


def start_celery(name: str, arguments: list[str], env: dict[str, str], log: Path) -> Process:
    output = open(log, "ab")
    popen = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "attentive", "worker", *arguments, "--loglevel", "WARNING",
         "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
    )
    output.close()
    return Process(popen, name)


def processes() -> dict[int, tuple[int, str, int, float, float, str, int]]:
    """Every process: pid -> (parent pid, command line, real uid, cpu seconds, age in seconds, state,
    pid in its own PID namespace: 1 for a sandbox)."""
    table = {}
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = {line.split(":", 1)[0]: line.split(":", 1)[1].split()
                      for line in Path(f"/proc/{entry}/status").read_text().splitlines() if ":" in line}
            uid, innermost_pid = int(status["Uid"][0]), int(status["NSpid"][-1])
        except (OSError, KeyError, IndexError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), command, uid, (int(fields[11]) + int(fields[12])) / ticks,
                             uptime - int(fields[19]) / ticks, fields[0], innermost_pid)
    return table


def descendants(table: dict, root: int) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, *_rest) in table.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def pool_children(worker: Process) -> list[int]:
    table = processes()
    return [pid for pid, (ppid, command, *_rest) in table.items() if ppid == worker.popen.pid and "celery" in command]


def zygotes(worker: Process, table: dict | None = None) -> list[int]:
    """The worker's zygotes, rules' zygotes included (forks of a zygote: the same command line)."""
    table = table if table is not None else processes()
    return [pid for pid in descendants(table, worker.popen.pid) if "graders.sandbox.zygote" in table[pid][1]]


class Sandbox(NamedTuple):
    pid: int
    keeper: int  # the process that waits for it: its keeper, or as root its zygote or rule's zygote
    zygote: int


def sandboxes(table: dict, worker: Process) -> list[Sandbox]:
    """The sandboxes themselves, with their keeper and zygote, all read from the one `table`: the
    zygote's descendants that are PID 1 of a PID namespace of their own (as root, children of the
    zygote or of a rule's zygote; in a user namespace, of a keeper)."""
    found = []
    found_zygotes = zygotes(worker, table)
    for zygote in [pid for pid in found_zygotes if table[pid][0] not in found_zygotes]:  # not a rule's zygote
        found.extend(Sandbox(pid, table[pid][0], zygote) for pid in descendants(table, zygote)
                     if table[pid][6] == 1)
    return found


def busy_sandbox(worker: Process, timeout: float, *, min_age: float = 0.15, kept: bool = False) -> Sandbox | None:
    """A sandbox that is running a submission: its CPU time grows (idle warm ones wait on a socket)
    or it is running right now, and it is older than `min_age` (a fresh one sets itself up). Its
    keeper comes from the same reading of the process table: a busy sandbox lives for a few tens of
    milliseconds, and a second reading would often find it gone. `kept`: only a sandbox waited for
    by another process than its zygote (a keeper, or as root a rule's zygote)."""
    deadline = time.monotonic() + timeout
    seen: dict[int, float] = {}
    while time.monotonic() < deadline:
        table = processes()
        for sandbox in sandboxes(table, worker):
            if kept and sandbox.keeper == sandbox.zygote:
                continue
            cpu, age, state = table[sandbox.pid][3], table[sandbox.pid][4], table[sandbox.pid][5]
            if age > min_age and (state == "R" or (sandbox.pid in seen and cpu > seen[sandbox.pid])):
                return sandbox
            seen[sandbox.pid] = cpu
        time.sleep(0.01)
    return None


def kill_busy(worker: Process, count: int, target, *, kept: bool = False,
              within: float = 10.0) -> tuple[list[int], int]:
    """Kill `target(sandbox)` of `count` busy sandboxes, one after the other, within `within` seconds;
    the pids killed, and how many found busy had ended before their kill.

    A sandbox found busy may end by itself before the kill (a softmax grading keeps one for about
    30 ms): that try hit nothing, so it does not count, and the next busy one is looked for. (Seen
    in CI: three such tries in a row, and the drill had injected nothing.)"""
    killed: list[int] = []
    gone = 0
    deadline = time.monotonic() + within
    while len(killed) < count and time.monotonic() < deadline:
        found = busy_sandbox(worker, timeout=max(0.0, deadline - time.monotonic()), kept=kept)
        if found is None:
            break
        pid = target(found)
        if kill(pid):
            killed.append(pid)
            time.sleep(0.3)
        else:
            gone += 1
    return killed, gone


def kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


# ---------------------------------------------------------------------------------------------
# A student's browser: pages and Submit over HTTP, through a uvicorn process serving the site.


class Browser:
    """One signed-in student's cookies (a session made in the database, a CSRF token) and timed requests."""

    def __init__(self, user, port: int) -> None:
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore()
        session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: user.get_session_auth_hash()})
        session.create()
        self.port = port
        # An unmasked CSRF secret in the cookie and the header: what Django checks one against the other.
        self.csrf = secrets.token_hex(16)
        self.cookie = f"sessionid={session.session_key}; csrftoken={self.csrf}"

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 30) -> dict:
        """{"status": HTTP status or None (no answer), "s": seconds}."""
        headers = {"Cookie": self.cookie, "HX-Request": "true"}
        body = None
        if form is not None:
            body = urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.csrf})
        started = time.monotonic()
        status = None
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            connection.close()
        except (OSError, http.client.HTTPException):
            pass
        return {"status": status, "s": round(time.monotonic() - started, 3)}


class Web:
    """One uvicorn process serving the site with the drills' database and Redis (started on first use)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.servers = None
        self.browser: Browser | None = None
        self.exercise = None

    def start(self, user, exercise) -> None:
        if self.servers is not None:
            return
        self.servers = self.stack.start_servers(1)
        self.browser = Browser(user, self.servers.ports[0])
        self.exercise = exercise
        answer = self.page()
        if answer["status"] != 200:
            raise RuntimeError(f"the drill's web server does not serve the exercise page: {answer}")

    def page(self) -> dict:
        course = self.exercise.course.slug
        return {"what": "page", **self.browser.request("GET", f"/c/{course}/exercises/{self.exercise.slug}/")}

    def submit(self) -> dict:
        course = self.exercise.course.slug
        path = f"/c/{course}/exercises/{self.exercise.slug}/submit/"
        return {"what": "submit", **self.browser.request("POST", path, {"code": self.exercise.files["solution.py"]})}

    def pages_during(self, seconds: float, drill: str) -> list[dict]:
        """A page and a Submit, again and again, for `seconds`; each with its status and time."""
        until = time.monotonic() + seconds
        answers = []
        while time.monotonic() < until:
            answers += [self.page(), self.submit()]
        return answers

    def stop(self) -> None:
        if self.servers is not None:
            self.servers.stop()


# ---------------------------------------------------------------------------------------------
# The drills.


class Stack:
    """PostgreSQL, Redis, the grading worker and the beat worker, and the exercise they grade."""

    def __init__(self, workdir: Path, postgres: PrivatePostgres | None, database_url: str,
                 redis: tuple[Process, str]) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.redis, self.redis_url = redis
        self.redis_port = int(self.redis_url.rsplit(":", 1)[1].split("/")[0])
        self.env = {**os.environ, **SWEEP_ENV, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url,
                    "ATTENTIVE_VAR_DIR": str(workdir)}
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.worker: Process | None = None
        self.beat: Process | None = None
        self.web = Web(self)

    def start_worker(self) -> None:
        from django.utils import timezone

        from exercises.models import WorkerHeartbeat

        since = timezone.now()
        self.worker = start_celery("worker", ["--queues", "grading,default", "--concurrency", "2"],
                                   self.env, self.workdir / "worker.log")
        wait_until(lambda: WorkerHeartbeat.objects.filter(ready=True, seen_at__gte=since).count() >= 2
                   and len(zygotes(self.worker)) >= 2, 120, every=0.2, what="the grading worker's two sandbox pools")

    def start_beat(self) -> None:
        self.beat = start_celery("beat", ["--beat", "--queues", "maintenance", "--pool", "solo", "--schedule",
                                          str(self.workdir / "celerybeat-schedule")], self.env,
                                 self.workdir / "beat.log")

    def start_servers(self, count: int):
        """`count` uvicorn processes serving the site (live_quiz.Servers) with this stack's database and Redis."""
        from django.conf import settings

        from bench import live_quiz

        # This process's secret key: the sessions it makes for its students (Browser) are signed with it.
        env = {**live_quiz.server_environment(SimpleNamespace(url=self.env["DATABASE_URL"]), self.workdir),
               "REDIS_URL": self.redis_url, "SECRET_KEY": settings.SECRET_KEY}
        live_quiz.manage(env, "collectstatic", "--no-input", "-v", "0")
        return live_quiz.Servers(env, count, self.workdir)

    def restart_redis(self, outage_s: float) -> None:
        self.redis.kill()
        time.sleep(outage_s)
        self.redis, _ = start_redis(self.redis_port)

    def stop(self) -> None:
        self.web.stop()
        for process in (self.worker, self.beat):
            if process is not None:
                process.stop(timeout=10)
        self.redis.kill()


def setup_exercises():
    """The drill's student, course and three exercises; returns (user, [(exercise, {answer name: text})])."""
    from django.contrib.auth import get_user_model

    from courses.models import Course, Lesson, Membership
    from exercises.models import Exercise
    from graders import engine
    from graders.code import exercise_files

    user = get_user_model().objects.create_user("drills", password="drills-password-not-secret")
    course = Course.objects.create(title="Drills", slug="drills")
    lesson = Lesson.objects.create(course=course, title="Drills", slug="drills")
    Membership.objects.create(user=user, course=course, role="student")
    made = []
    for path in EXERCISES:
        folder = ROOT / "content" / "nlp2llm" / "lessons" / path
        name = folder.name
        files = exercise_files(folder)
        info = engine.inspect(files)
        exercise = Exercise.objects.create(
            course=course, lesson=lesson, pack_id=f"drills-{name}", slug=name, title=name, kind=info.kind,
            max_score=info.max_score, files=files, version=info.version,
        )
        answers = {"correct": files["solution.py"], "unfinished": files["starter.py"]}
        if name == "01-softmax":
            answers.update({key: text for key, text in ANSWERS.items() if text is not None})
        for key, (before, after) in EDITS[name].items():
            if before not in files["solution.py"]:
                raise RuntimeError(f"{name}/solution.py changed: the {key!r} answer cannot be made from it")
            answers[key] = files["solution.py"].replace(before, after)
        made.append((exercise, answers))
    return user, made


def database_call(function, timeout: float = 60):
    """Run an ORM call from the drill itself, riding out a database that is restarting."""
    from django.db import InterfaceError, OperationalError, connection

    deadline = time.monotonic() + timeout
    while True:
        try:
            return function()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def finished_count(ids: list[int]) -> int:
    from exercises.models import Submission

    return database_call(lambda: Submission.objects.filter(pk__in=ids, status__in=Submission.FINISHED).count())


def calibrate(user, exercises: list, timeout: float) -> dict[tuple[int, str], float]:
    """Each answer's score, graded once by the workers before any fault: {(exercise id, answer): score}."""
    from exercises import services
    from exercises.models import Submission

    ids = {(exercise.pk, name): services.submit(user, exercise, text, staff_test=True).pk
           for exercise, answers in exercises for name, text in answers.items()}
    wait_until(lambda: finished_count(list(ids.values())) == len(ids), timeout, every=0.1, what="the calibration")
    expected = {}
    for key, pk in ids.items():
        submission = Submission.objects.get(pk=pk)
        if submission.status != Submission.Status.GRADED:
            raise RuntimeError(f"the {key!r} answer was not graded without any fault: {submission.verdict}")
        expected[key] = submission.score
    for exercise, _answers in exercises:
        if expected[(exercise.pk, "correct")] != exercise.max_score:
            raise RuntimeError(f"{exercise.slug}'s solution scored {expected[(exercise.pk, 'correct')]}/"
                               f"{exercise.max_score}")
    if len(set(expected.values())) < 3:
        raise RuntimeError(f"the answers do not score differently enough to catch a wrong verdict: {expected}")
    return expected


def inject(drill: str, stack: Stack, options) -> dict:
    """Do the drill's harm; return what was done, for the report."""
    if drill == "zygote":
        found = zygotes(stack.worker)
        return {"killed": [pid for pid in found[:1] if kill(pid)]}
    if drill == "sandbox":
        # Several busy sandboxes, one after the other: each test that loses its sandbox runs again.
        killed, gone = kill_busy(stack.worker, options.sandbox_kills, lambda found: found.pid)
        return {"killed": killed, "ended_before_the_kill": gone}
    if drill == "keeper":
        # The process that waits for a busy sandbox, other than its zygote (the host's OOM killer
        # could pick it): its keeper, or as root the rule's zygote of a "build it yourself" test's
        # sandbox. The sandbox dies with it, and no exit status is reported. The test runs again
        # in a fresh sandbox (as root, from a new rule's zygote).
        killed, gone = kill_busy(stack.worker, options.sandbox_kills, lambda found: found.keeper, kept=True)
        return {"killed": killed, "ended_before_the_kill": gone}
    if drill == "sandbox_storm":
        # As an OOM killer on a rampage: every sandbox of one zygote, busy or warm, killed as soon as
        # it appears, for a while. The test re-run in a fresh sandbox is killed too, so its grading is
        # an infrastructure failure: re-queued, no attempt spent, graded once the storm is over.
        found = busy_sandbox(stack.worker, timeout=10)
        killed = []
        if found is not None:
            until = time.monotonic() + options.storm_s
            while time.monotonic() < until:
                for sandbox in sandboxes(processes(), stack.worker):
                    if sandbox.zygote == found.zygote and sandbox.pid not in killed and kill(sandbox.pid):
                        killed.append(sandbox.pid)
                time.sleep(0.005)
        return {"killed": killed, "storm_s": options.storm_s}
    if drill == "worker_child":
        found = pool_children(stack.worker)
        return {"killed": [pid for pid in found[:1] if kill(pid)]}
    if drill == "worker":
        stack.worker.kill()  # the whole process group: main process, pool children, zygotes, sandboxes
        time.sleep(options.outage_s)
        stack.start_worker()  # what `restart: unless-stopped` does
        return {"down_s": options.outage_s}
    if drill == "redis":
        stack.restart_redis(options.outage_s)
        return {"down_s": options.outage_s}
    if drill == "postgres":
        stack.postgres.stop("fast")
        time.sleep(options.outage_s)
        stack.postgres.start()
        return {"down_s": options.outage_s}
    if drill in ("redis_frozen", "postgres_frozen"):
        frozen = [stack.redis.popen.pid] if drill == "redis_frozen" else stack.postgres.pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            # Meanwhile, what a student meets: a page of the site and a Submit, each timed.
            pages = stack.web.pages_during(options.frozen_s, drill)
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        return {"killed": frozen, "frozen_s": options.frozen_s, "pages": pages}
    raise ValueError(drill)


# What the grading worker logs when it recovers from a fault of ours, counted per drill as evidence
# that the fault hit what it aimed at.
LOG_PHRASES = {
    "zygote_replaced": "replaced the sandbox zygote",
    "delayed": "is delayed",
    "retried": "it will be retried",
    "requeued_database": "the message is requeued",
}


def worker_log_counts(log: Path, offset: int) -> dict[str, int]:
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return {}
    return {name: text.count(phrase) for name, phrase in LOG_PHRASES.items()}


def failed_tests(submission_id: int) -> dict:
    """What a wrong verdict said: its message and the tests it failed, to find the cause."""
    from exercises.models import Submission

    verdict = database_call(lambda: Submission.objects.get(pk=submission_id).verdict) or {}
    return {
        "message": (verdict.get("message") or "")[:300],
        "failed": [{"title": test["title"], "message": (test.get("message") or "")[:300]}
                   for test in verdict.get("tests", []) if not test.get("passed")],
    }


def run_drill(drill: str, stack: Stack, user, exercises: list, expected: dict[tuple[int, str], float],
              options) -> dict:
    from exercises import services
    from exercises.models import Submission

    # Every answer of every exercise in turn, the exercises interleaved.
    longest = max(len(answers) for _, answers in exercises)
    choices = [(exercise, list(answers)[index]) for index in range(longest) for exercise, answers in exercises
               if index < len(answers)]
    plan = [choices[index % len(choices)] for index in range(options.submissions)]
    texts = {(exercise.pk, name): text for exercise, answers in exercises for name, text in answers.items()}
    half = len(plan) // 2
    ids: dict[int, tuple[int, str]] = {}
    submit_seconds: list[float] = []

    def submit(batch: list) -> None:
        for exercise, name in batch:
            # Paced as a class submits, so that grading goes on while the fault is injected.
            time.sleep(options.pace_s)
            text = texts[(exercise.pk, name)]
            started = time.monotonic()
            pk = database_call(lambda text=text, exercise=exercise: services.submit(
                user, exercise, text, staff_test=True).pk)
            submit_seconds.append(time.monotonic() - started)
            ids[pk] = (exercise.pk, name)

    submit(plan[:half])
    first = list(ids)
    # Mid-way: a quarter graded, the rest of the first half queued or running.
    wait_until(lambda: finished_count(first) >= max(1, half // 4), 90, every=0.05, what="the first verdicts")
    log = stack.workdir / "worker.log"
    log_offset = log.stat().st_size if log.exists() else 0
    fault_at = time.monotonic()
    # The second half is submitted while the fault is injected, so that there is grading to hit.
    def submit_rest() -> None:
        from django.db import connection

        try:
            submit(plan[half:])
        finally:
            connection.close()

    submitter = threading.Thread(target=submit_rest, name="drill-submitter")
    submitter.start()
    try:
        done = inject(drill, stack, options)
    finally:
        submitter.join()
    every = list(ids)
    try:
        wait_until(lambda: finished_count(every) == len(every), options.drain_timeout, every=0.2,
                   what="the queue to drain")
    except TimeoutError:
        pass
    rows = database_call(lambda: list(Submission.objects.filter(pk__in=every).values_list(
        "pk", "status", "score", "verdicts_written", "attempts", "graded_at", "duration_ms")))
    finished = [row for row in rows if row[1] in Submission.FINISHED]
    wrong = [row for row in finished if row[1] != Submission.Status.GRADED or row[2] != expected[ids[row[0]]]]
    last = max((row[5] for row in finished), default=None)
    first_submitted = database_call(lambda: Submission.objects.filter(pk__in=every).order_by("submitted_at")
                                    .values_list("submitted_at", flat=True).first())
    return {
        "drill": drill,
        "submitted": len(every),
        "graded_once": sum(1 for row in finished if row[1] == Submission.Status.GRADED and row[3] == 1),
        "lost": len(every) - len(finished),
        "doubled": sum(1 for row in rows if row[3] > 1),
        "wrong": len(wrong),
        "errors": sum(1 for row in finished if row[1] == Submission.Status.ERROR),
        "wrong_examples": [{"id": row[0], "answer": ids[row[0]][1], "status": row[1], "score": row[2],
                            "expected": expected[ids[row[0]]], **failed_tests(row[0])} for row in wrong[:3]],
        "max_attempts": max((row[4] for row in rows), default=0),
        # A test re-run in a fresh sandbox shows here: the slowest grading against the median.
        "grading_ms_p50": percentile([row[6] for row in finished if row[6] is not None], 0.5),
        "grading_ms_max": max((row[6] for row in finished if row[6] is not None), default=None),
        "drain_s": round(time.monotonic() - fault_at, 1),
        "total_s": round((last - first_submitted).total_seconds(), 1) if last and first_submitted else None,
        "exercises": len({key[0] for key in ids.values()}),
        # The slowest submit (the view's work, without HTTP): a frozen broker must not hold it.
        "submit_s_max": round(max(submit_seconds), 2),
        "fault": done,
        # False when the fault found nothing to hit (no busy sandbox in time): the drill proved nothing.
        "injected": bool(done.get("killed", True)),
        "worker_log": worker_log_counts(log, log_offset),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}, 20 submissions each")
    parser.add_argument("--drills", default=",".join(DRILLS), help=f"comma-separated, of: {', '.join(DRILLS)}")
    parser.add_argument("--submissions", type=int, default=40, help="submissions per drill")
    parser.add_argument("--outage-s", type=float, default=3.0, help="how long a stopped piece stays down")
    parser.add_argument("--frozen-s", type=float, default=6.0, help="how long a frozen service stays frozen")
    parser.add_argument("--sandbox-kills", type=int, default=3, help="busy sandboxes killed in the sandbox drill")
    parser.add_argument("--pace-s", type=float, default=0.1, help="pause between two submissions")
    parser.add_argument("--storm-s", type=float, default=2.0, help="how long the sandbox storm kills")
    parser.add_argument("--players", type=int, default=60, help="phones in each live drill's game")
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds to wait for the queue to drain")
    options = parser.parse_args()
    drills = list(QUICK) if options.quick else [name.strip() for name in options.drills.split(",") if name.strip()]
    if options.quick:
        options.submissions = 20
        options.drain_timeout = 60
    unknown = set(drills) - set(DRILLS)
    if unknown:
        parser.error(f"unknown drills: {', '.join(sorted(unknown))}; choose from {', '.join(DRILLS)}")

    workdir = Path(tempfile.mkdtemp(prefix="attentive-faults-"))
    postgres, database_url = private_database(workdir)
    if postgres is None:
        for drill in [name for name in drills if name in ("postgres", "live_postgres", "postgres_frozen")]:
            print(json.dumps({"drill": drill, "skipped": True,
                              "reason": "cannot start a private PostgreSQL; the drill needs one it may stop"}),
                  flush=True)
            drills.remove(drill)
    stack = None
    failed = False
    redis = None
    try:
        redis = start_redis()
        stack = prepare_stack(workdir, postgres, database_url, redis)
        expected = None
        if any(drill not in live_drills.DRILLS for drill in drills):
            # The live drills need neither the grading worker nor the exercise.
            stack.start_beat()
            stack.start_worker()
            user, exercises = setup_exercises()
            expected = calibrate(user, exercises, timeout=120)
            if any(drill.endswith("_frozen") for drill in drills):
                stack.web.start(user, exercises[0][0])
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        calibration = {f"{key[0]}:{key[1]}": score for key, score in (expected or {}).items()}
        print(json.dumps({"calibration": calibration, "database": database_url.split(":", 1)[0], "machine": machine,
                          "load_average": [round(value, 2) for value in os.getloadavg()]}), flush=True)
        for drill in drills:
            if drill in live_drills.DRILLS:
                result = live_drills.run(drill, stack, options)
            else:
                result = run_drill(drill, stack, user, exercises, expected, options)
            result["load_average"] = [round(value, 2) for value in os.getloadavg()]
            print(json.dumps(result), flush=True)
            failed |= bool(result["lost"] or result["doubled"] or result["wrong"])
            slow = [page for page in result.get("fault", {}).get("pages", [])
                    if page["status"] is None or page["s"] > ANSWER_WITHIN_S]
            # This process submits as the view does; with the database frozen it waits like the view's
            # thread (the page's deadline is the web's answer), with Redis frozen it must not wait.
            if slow or (drill == "redis_frozen" and result["submit_s_max"] > ANSWER_WITHIN_S):
                print(f"faults: during the {drill} drill a page or a submit took over {ANSWER_WITHIN_S:g} s: "
                      f"{slow or result['submit_s_max']}", file=sys.stderr)
                failed = True
            if not result["injected"]:
                print(f"faults: the {drill} drill found nothing to kill; its counts prove nothing", file=sys.stderr)
                failed = True
    finally:
        tear_down(workdir, stack, postgres, redis)
    return 1 if failed else 0


def private_database(workdir: Path) -> tuple[PrivatePostgres | None, str]:
    """A private PostgreSQL and its URL, or (None, a SQLite file's URL) where none can start."""
    try:
        postgres = PrivatePostgres()
        return postgres, postgres.url
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as error:
        print(f"faults: no private PostgreSQL ({error}); using SQLite in {workdir}", file=sys.stderr)
        return None, f"sqlite:///{workdir / 'drills.sqlite3'}"


def prepare_stack(workdir: Path, postgres: PrivatePostgres | None, database_url: str,
                  redis: tuple[Process, str]) -> Stack:
    """Point this process's Django at the private services (so it rings the workers' broker), migrate."""
    os.environ.update({"DATABASE_URL": database_url, "ATTENTIVE_VAR_DIR": str(workdir), "REDIS_URL": redis[1],
                       "DJANGO_SETTINGS_MODULE": "attentive.settings"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return Stack(workdir, postgres, database_url, redis)


def tear_down(workdir: Path, stack: Stack | None, postgres: PrivatePostgres | None,
              redis: tuple[Process, str] | None) -> None:
    if stack is not None:
        stack.stop()
    elif redis is not None:
        redis[0].kill()
    if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
        from django.db import connections

        connections.close_all()
    if postgres is not None:
        postgres.destroy()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
