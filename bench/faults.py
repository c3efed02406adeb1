"""Fault drills of the grading path: kill or restart one piece mid-way, then count what survived.

    python bench/faults.py [--quick] [--drills zygote,sandbox,...] [--submissions 40]

Starts everything on 127.0.0.1 free ports and stops it all by itself: a private PostgreSQL
(initdb in a temporary directory, as the `postgres` user when run as root; else a throwaway
database on the server at 5432), a private Redis, and the layout of docker-compose.yml: one
grading worker (`--queues grading,default --concurrency 2`) and the beat worker apart
(`--beat --queues maintenance --pool solo`).

Each drill submits N softmax submissions (correct and wrong answers mixed, each answer's score
measured once before any fault), injects its fault when about half of the first half is graded,
submits the rest, waits for the queue to drain and prints ONE JSON object: `drill`, `submitted`,
`graded_once`, `lost` (never finished), `doubled` (more than one verdict written), `wrong` (a
status or score other than the expected one), `drain_s` (from the fault to the last verdict).
The live-quiz drills (`live_uvicorn`, `live_redis`, `live_postgres`, `--players` phones on two
uvicorn processes; bench/live_drills.py says how) use the same PostgreSQL and Redis, and no worker.
`--quick` runs the zygote and sandbox kills with 20 submissions each (about two minutes) and
exits 1 if any drill reports lost, doubled or wrong submissions, so CI can call it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import live_drills  # noqa: E402
from bench.common import free_port, percentile  # noqa: E402 (needs the project root on the path)
from tests.processes import Process, start_redis, wait_until  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DRILLS = ("zygote", "sandbox", "sandbox_storm", "worker_child", "worker", "redis", "postgres", *live_drills.DRILLS)
QUICK = ("zygote", "sandbox", "sandbox_storm")
# The sweeper's clock, shortened from the defaults (10 s, 15 s, 30 s) so that drills that rely on
# it (a dead worker, a lost doorbell) finish in seconds; the mechanism is the same.
SWEEP_ENV = {"GRADING_SWEEP_SECONDS": "2", "GRADING_STALE_SECONDS": "8", "GRADING_REQUEUE_AFTER_SECONDS": "10"}

# Answers to the softmax exercise, right and wrong in different ways; each one's score is measured
# once, without faults, before the drills (so the drills do not depend on the exercise's points).
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


def processes() -> dict[int, tuple[int, str, int, float, float, str]]:
    """Every process: pid -> (parent pid, command line, real uid, cpu seconds, age in seconds, state)."""
    table = {}
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            uid = int(next(line for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                           if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), command, uid, (int(fields[11]) + int(fields[12])) / ticks,
                             uptime - int(fields[19]) / ticks, fields[0])
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


def zygotes(worker: Process) -> list[int]:
    table = processes()
    return [pid for pid in descendants(table, worker.popen.pid) if "graders.sandbox.zygote" in table[pid][1]]


def sandboxes(table: dict, worker: Process) -> list[tuple[int, int]]:
    """The sandboxes themselves, with their zygote: its grandchildren (zygote -> keeper -> sandbox)."""
    found = []
    for zygote in [pid for pid in descendants(table, worker.popen.pid) if "graders.sandbox.zygote" in table[pid][1]]:
        for keeper in [pid for pid, row in table.items() if row[0] == zygote]:
            found.extend((pid, zygote) for pid, row in table.items() if row[0] == keeper)
    return found


def busy_sandbox(worker: Process, timeout: float, *, zygote: int | None = None,
                 min_age: float = 0.15) -> tuple[int, int] | None:
    """A sandbox that is running a submission, and its zygote: its CPU time grows (idle warm ones
    wait on a socket) or it is running right now, and it is older than `min_age` (a fresh one sets itself up)."""
    deadline = time.monotonic() + timeout
    seen: dict[int, float] = {}
    while time.monotonic() < deadline:
        table = processes()
        for pid, parent in sandboxes(table, worker):
            if zygote is not None and parent != zygote:
                continue
            cpu, age, state = table[pid][3], table[pid][4], table[pid][5]
            if age > min_age and (state == "R" or (pid in seen and cpu > seen[pid])):
                return pid, parent
            seen[pid] = cpu
        time.sleep(0.01)
    return None


def kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


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

    def restart_redis(self, outage_s: float) -> None:
        self.redis.kill()
        time.sleep(outage_s)
        self.redis, _ = start_redis(self.redis_port)

    def stop(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None:
                process.stop(timeout=10)
        self.redis.kill()


def setup_exercise():
    from django.contrib.auth import get_user_model

    from courses.models import Course, Lesson, Membership
    from exercises.models import Exercise
    from graders import engine
    from graders.code import exercise_files

    folder = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises" / "01-softmax"
    if not folder.is_dir():
        folder = ROOT / "tests" / "security" / "softmax_exercise"
    files = exercise_files(folder)
    info = engine.inspect(files)
    user = get_user_model().objects.create_user("drills", password="drills-password-not-secret")
    course = Course.objects.create(title="Drills", slug="drills")
    lesson = Lesson.objects.create(course=course, title="Drills", slug="drills")
    Membership.objects.create(user=user, course=course, role="student")
    exercise = Exercise.objects.create(
        course=course, lesson=lesson, pack_id="drills-softmax", slug="softmax", title="Softmax", kind=info.kind,
        max_score=info.max_score, files=files, version=info.version,
    )
    answers = {name: text if text is not None else files["solution.py"] for name, text in ANSWERS.items()}
    return user, exercise, answers


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


def calibrate(user, exercise, answers: dict[str, str], timeout: float) -> dict[str, float]:
    """Each answer's score, graded once by the workers before any fault."""
    from exercises import services
    from exercises.models import Submission

    ids = {name: services.submit(user, exercise, text, staff_test=True).pk for name, text in answers.items()}
    wait_until(lambda: finished_count(list(ids.values())) == len(ids), timeout, every=0.1, what="the calibration")
    expected = {}
    for name, pk in ids.items():
        submission = Submission.objects.get(pk=pk)
        if submission.status != Submission.Status.GRADED:
            raise RuntimeError(f"the {name!r} answer was not graded without any fault: {submission.verdict}")
        expected[name] = submission.score
    if expected["correct"] != exercise.max_score:
        raise RuntimeError(f"the exercise's solution scored {expected['correct']}/{exercise.max_score}")
    return expected


def inject(drill: str, stack: Stack, options) -> dict:
    """Do the drill's harm; return what was done, for the report."""
    if drill == "zygote":
        found = zygotes(stack.worker)
        return {"killed": [pid for pid in found[:1] if kill(pid)]}
    if drill == "sandbox":
        # Several busy sandboxes, one after the other: each test that loses its sandbox runs again.
        killed = []
        for _ in range(options.sandbox_kills):
            found = busy_sandbox(stack.worker, timeout=10)
            if found is not None and kill(found[0]):
                killed.append(found[0])
            time.sleep(0.3)
        return {"killed": killed}
    if drill == "sandbox_storm":
        # As an OOM killer on a rampage: every sandbox of one zygote, busy or warm, killed as soon as
        # it appears, for a while. The test re-run in a fresh sandbox is killed too, so its grading is
        # an infrastructure failure: re-queued, no attempt spent, graded once the storm is over.
        found = busy_sandbox(stack.worker, timeout=10)
        killed = []
        if found is not None:
            until = time.monotonic() + options.storm_s
            while time.monotonic() < until:
                for pid, parent in sandboxes(processes(), stack.worker):
                    if parent == found[1] and pid not in killed and kill(pid):
                        killed.append(pid)
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


def run_drill(drill: str, stack: Stack, user, exercise, answers: dict[str, str], expected: dict[str, float],
              options) -> dict:
    from exercises import services
    from exercises.models import Submission

    names = list(answers)
    plan = [names[index % len(names)] for index in range(options.submissions)]
    half = len(plan) // 2
    ids: dict[int, str] = {}

    def submit(batch: list[str]) -> None:
        for name in batch:
            # Paced as a class submits, so that grading goes on while the fault is injected.
            time.sleep(options.pace_s)
            text = answers[name]
            ids[database_call(lambda text=text: services.submit(user, exercise, text, staff_test=True).pk)] = name

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
        "wrong_examples": [{"id": row[0], "answer": ids[row[0]], "status": row[1], "score": row[2],
                            "expected": expected[ids[row[0]]], **failed_tests(row[0])} for row in wrong[:3]],
        "max_attempts": max((row[4] for row in rows), default=0),
        # A test re-run in a fresh sandbox shows here: the slowest grading against the median.
        "grading_ms_p50": percentile([row[6] for row in finished if row[6] is not None], 0.5),
        "grading_ms_max": max((row[6] for row in finished if row[6] is not None), default=None),
        "drain_s": round(time.monotonic() - fault_at, 1),
        "total_s": round((last - first_submitted).total_seconds(), 1) if last and first_submitted else None,
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
    postgres = None
    try:
        postgres = PrivatePostgres()
        database_url = postgres.url
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as error:
        for drill in [name for name in drills if name in ("postgres", "live_postgres")]:
            print(json.dumps({"drill": drill, "skipped": True,
                              "reason": f"cannot start a private PostgreSQL ({error}); the restart drill "
                                        "needs one it may stop"}), flush=True)
            drills.remove(drill)
        print(f"faults: no private PostgreSQL ({error}); using SQLite in {workdir}", file=sys.stderr)
        database_url = f"sqlite:///{workdir / 'drills.sqlite3'}"
    stack = None
    failed = False
    redis = None
    try:
        # Before Django reads its settings: this process rings the same broker as the workers.
        redis = start_redis()
        os.environ.update({"DATABASE_URL": database_url, "ATTENTIVE_VAR_DIR": str(workdir), "REDIS_URL": redis[1],
                           "DJANGO_SETTINGS_MODULE": "attentive.settings"})
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        stack = Stack(workdir, postgres, database_url, redis)
        expected = None
        if any(drill not in live_drills.DRILLS for drill in drills):
            # The live drills need neither the grading worker nor the exercise.
            stack.start_beat()
            stack.start_worker()
            user, exercise, answers = setup_exercise()
            expected = calibrate(user, exercise, answers, timeout=90)
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        print(json.dumps({"calibration": expected, "database": database_url.split(":", 1)[0], "machine": machine,
                          "load_average": [round(value, 2) for value in os.getloadavg()]}), flush=True)
        for drill in drills:
            if drill in live_drills.DRILLS:
                result = live_drills.run(drill, stack, options)
            else:
                result = run_drill(drill, stack, user, exercise, answers, expected, options)
            result["load_average"] = [round(value, 2) for value in os.getloadavg()]
            print(json.dumps(result), flush=True)
            failed |= bool(result["lost"] or result["doubled"] or result["wrong"])
            if not result["injected"]:
                print(f"faults: the {drill} drill found nothing to kill; its counts prove nothing", file=sys.stderr)
    finally:
        if stack is not None:
            stack.stop()
        elif redis is not None:
            redis[0].kill()
        from django.db import connections

        connections.close_all()
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
