"""Grading benchmark: submissions of the softmax exercise through the whole path, warm and cold.

    python bench/grading.py [--rate 1] [--paced 40] [--burst 200] [--cold 8] [--py-spy DIR] [--keep]

Starts what it needs on 127.0.0.1 (a private Redis, a throwaway PostgreSQL database if a
server answers on 5432, else SQLite, and a Celery grading worker), then measures:
- paced: one submission every 1/rate seconds, submit-to-verdict latency (p50/p95/p99);
- burst: `burst` submissions queued at once, sustained verdicts per second, and the CPU
  milliseconds per verdict (the worker's and all its descendants' CPU time over the burst,
  sandboxes included, divided by the verdicts): the figure that says how many cores a class needs.
  As root, the worker's tree is counted by a cpuacct cgroup of its own: the zygote lets the
  kernel reap its keepers, so their CPU (and their sandboxes') reaches no parent's `cutime`
  and a count from /proc alone (the fallback) misses it;
- cold: the same grading with a cold interpreter per submission (a new sandbox pool that
  imports torch from scratch), the baseline for `speedup`.
Prints one JSON object. Stops everything it started, and gives up after --timeout seconds.
`--py-spy DIR` samples the worker and its descendants during the burst (raw stacks in DIR);
`--keep` keeps the work folder, with the worker's log, which it otherwise removes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
sys.path.insert(0, str(ROOT))

from bench.common import percentile, proc_table, subtree, tree_cpu_seconds  # noqa: E402 (needs the project root on the path)
from bench.verdict_cpu import cpu_counter  # noqa: E402


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def create_database(name: str) -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1.0, help="paced submissions per second")
    parser.add_argument("--paced", type=int, default=40, help="how many paced submissions")
    parser.add_argument("--burst", type=int, default=200, help="how many submissions queued at once")
    parser.add_argument("--cold", type=int, default=8, help="how many cold-interpreter gradings")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=280, help="give up after this many seconds")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="profile the worker and its descendants with py-spy during the burst, into DIR")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (the worker's log: when each task was received and succeeded)")
    options = parser.parse_args()
    started = time.monotonic()
    os.environ["BENCH_LOAD_AT_START"] = " ".join(f"{load:.2f}" for load in os.getloadavg())

    workdir = Path(tempfile.mkdtemp(prefix="attentive-bench-"))
    database_name = f"attentive_bench_{os.getpid()}"
    use_postgres = postgres_available()
    os.environ["ATTENTIVE_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = create_database(database_name) if use_postgres else ""
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "attentive.settings"

    from tests.processes import start_redis

    redis, redis_url = start_redis()
    os.environ["REDIS_URL"] = redis_url
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        worker = run(options, started, workdir, redis.popen.pid)
    finally:
        if worker is not None:
            worker.stop()
        remove_worker_cgroup()
        redis.kill()
        if use_postgres:
            from django.db import connections

            connections.close_all()
            drop_database(database_name)
        if options.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(options, started: float, workdir: Path, redis_pid: int):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from courses.models import Course, Lesson, Membership
    from exercises import services
    from exercises.models import Exercise, Submission, WorkerHeartbeat
    from graders import engine
    from graders.code import exercise_files, grade_code
    from graders.sandbox import SandboxPool
    from tests.processes import start_worker, wait_until

    deadline = started + options.timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the benchmark ran out of time")
        return left

    folder = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises" / "01-softmax"
    if not folder.is_dir():
        folder = ROOT / "tests" / "security" / "softmax_exercise"
    files = exercise_files(folder)
    solution = files["solution.py"]
    info = engine.inspect(files)
    user = get_user_model().objects.create_user("bench", password="bench-password-not-secret")
    course = Course.objects.create(title="Bench", slug="bench")
    lesson = Lesson.objects.create(course=course, title="Bench", slug="bench")
    Membership.objects.create(user=user, course=course, role="student")
    exercise = Exercise.objects.create(
        course=course, lesson=lesson, pack_id="bench-softmax", slug="softmax", title="Softmax", kind=info.kind,
        max_score=info.max_score, files=files, version=info.version,
    )

    since = timezone.now()
    # The worker runs as docker-compose.yml deploys it: DEBUG off (no SQL kept per query), the
    # sweeper at its own pace (the tests' one-second sweep is for them).
    deployed = {"ATTENTIVE_VAR_DIR": str(workdir), "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 40,
                "GRADING_SWEEP_SECONDS": "10"}
    worker = start_worker(os.environ["REDIS_URL"], concurrency=options.concurrency, extra_env=deployed,
                          log=workdir / "worker.log")
    wait_until(lambda: WorkerHeartbeat.objects.filter(ready=True, seen_at__gte=since).count() >= options.concurrency,
               min(90, remaining()), what="the grading workers to warm up")

    def finished_latencies(ids: list[int]) -> list[float]:
        rows = Submission.objects.filter(pk__in=ids).values_list("status", "score", "submitted_at", "graded_at")
        wrong = [row for row in rows if row[0] != "graded" or row[1] != info.max_score]
        if wrong:
            raise RuntimeError(f"{len(wrong)} submissions were not graded full marks: {wrong[:3]}")
        return [(graded - submitted).total_seconds() * 1000 for _, _, submitted, graded in rows]

    def all_done(ids: list[int]) -> bool:
        return not Submission.objects.filter(pk__in=ids).exclude(status__in=Submission.FINISHED).exists()

    # Paced: one submission at a time, as a class works through an exercise.
    paced_ids = []
    paced_start = time.monotonic()
    for index in range(options.paced):
        time.sleep(max(0.0, paced_start + index / options.rate - time.monotonic()))
        paced_ids.append(services.submit(user, exercise, solution, staff_test=True).pk)
        remaining()
    wait_until(lambda: all_done(paced_ids), min(60, remaining()), every=0.01, what="the paced verdicts")
    latencies = finished_latencies(paced_ids)

    # Burst: a whole class submits at the bell.
    cgroup = worker_cgroup(worker.popen.pid)
    spy = profile(worker.popen.pid, options.py_spy)
    cpu_before = cpu_by_role(worker.popen.pid, redis_pid, cgroup)
    burst_started = time.monotonic()
    burst_ids = [services.submit(user, exercise, solution, staff_test=True).pk for _ in range(options.burst)]
    queued_s = time.monotonic() - burst_started
    wait_until(lambda: all_done(burst_ids), min(180, remaining()), every=0.02, what="the burst verdicts")
    time.sleep(0.5)  # the last sandboxes' keepers end and the refill after the last verdict
    cpu_after = cpu_by_role(worker.popen.pid, redis_pid, cgroup)
    burst_cpu = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
    burst_cpu_s = burst_cpu["trusted"] + burst_cpu["sandboxes"]
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file when told to stop
        spy.wait(timeout=30)
    finished_latencies(burst_ids)
    last_graded = Submission.objects.filter(pk__in=burst_ids).order_by("-graded_at").values_list(
        "graded_at", flat=True).first()
    burst_elapsed = (last_graded - Submission.objects.get(pk=burst_ids[0]).submitted_at).total_seconds()
    timeline = burst_timeline(Submission.objects.filter(pk__in=burst_ids), options.concurrency)
    connection.close()

    # Cold: a fresh interpreter (import torch, start a zygote) for each submission.
    cold = []
    for _ in range(options.cold):
        remaining()
        begin = time.monotonic()
        with SandboxPool(size=1) as pool:
            verdict = grade_code(files, solution, pool)
        cold.append((time.monotonic() - begin) * 1000)
        if verdict.score != info.max_score:
            raise RuntimeError(f"the cold grading gave {verdict.score}/{verdict.max_score}: {verdict.message}")

    p50 = statistics.median(latencies)
    result = {
        "benchmark": "grading",
        "exercise": str(folder.relative_to(ROOT)),
        "database": connection.vendor,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "worker_concurrency": options.concurrency,
        "paced_submissions": len(latencies),
        "rate_per_s": options.rate,
        "p50_ms": round(p50, 1),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": round(max(latencies), 1),
        "burst": options.burst,
        "burst_enqueue_s": round(queued_s, 2),
        "burst_s": round(burst_elapsed, 2),
        "verdicts_per_s": round(options.burst / burst_elapsed, 1),
        "cpu_ms_per_verdict": round(burst_cpu_s * 1000 / options.burst, 1),
        "cpu_counted_by": "cgroup" if cgroup is not None else "/proc (keepers and sandboxes missed)",
        # Where that CPU went, and what the database server and Redis spent beside it (the
        # database's share includes this script's own submissions).
        "cpu_ms_per_verdict_by_part": {role: round(seconds * 1000 / options.burst, 1)
                                       for role, seconds in burst_cpu.items()},
        # Wall time: in the worker from claim to recorded verdict, in the grader alone (sandbox
        # taken, tests run), and how much of the pool's time was spent on a verdict at all.
        **timeline,
        "cold_runs": len(cold),
        "cold_p50_ms": round(statistics.median(cold), 1),
        "speedup": round(statistics.median(cold) / p50, 1),
        "elapsed_s": round(time.monotonic() - started, 1),
        # Other work on the machine shows here: compare runs of similar load, or alternate them.
        "load_average": {"start": os.environ["BENCH_LOAD_AT_START"],
                         "end": " ".join(f"{load:.2f}" for load in os.getloadavg())},
    }
    print(json.dumps(result))
    return worker


def burst_timeline(submissions, concurrency: int) -> dict:
    """Mean wall milliseconds per verdict from claim to verdict and in the grader, and the share of
    the pool processes' time between the first claim and the last verdict spent so."""
    rows = list(submissions.values_list("claimed_at", "graded_at", "duration_ms"))
    claimed = [(graded - claimed_at).total_seconds() for claimed_at, graded, _ in rows]
    window = (max(graded for _, graded, _ in rows) - min(claimed_at for claimed_at, _, _ in rows)).total_seconds()
    return {
        "claim_to_verdict_ms": round(statistics.mean(claimed) * 1000, 1),
        "grader_ms": round(statistics.mean(duration for _, _, duration in rows), 1),
        "pool_busy_share": round(sum(claimed) / (concurrency * window), 2),
    }


def worker_cgroup(worker_pid: int) -> Path | None:
    """A cpuacct cgroup holding the (warm) worker and every descendant, or None where there is none.

    Processes forked later (keepers, sandboxes) are born in it, and it counts their CPU when the
    kernel reaps them unwaited, which no /proc `cutime` does.
    """
    if os.geteuid() != 0 or not (CPUACCT / "cpuacct.usage").exists():
        return None
    cgroup = CPUACCT / f"attentive-bench-grading-{os.getpid()}"
    cgroup.mkdir()
    for pid in sorted(subtree(proc_table(), worker_pid)):
        try:
            (cgroup / "cgroup.procs").write_text(str(pid))
        except OSError:  # ended meanwhile
            pass
    return cgroup


def remove_worker_cgroup() -> None:
    cgroup = CPUACCT / f"attentive-bench-grading-{os.getpid()}"
    for _ in range(50):  # empty once the worker's last processes are gone
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.2)


def cpu_by_role(worker_pid: int, redis_pid: int, cgroup: Path | None) -> dict[str, float]:
    """CPU seconds so far: the worker's trusted processes, its sandboxes (the zygotes, keepers and
    every sandbox they started), the PostgreSQL server's processes and the private Redis."""
    table = proc_table()
    worker = tree_cpu_seconds(worker_pid, table)
    zygotes = [pid for pid in subtree(table, worker_pid) if table[pid][1].startswith("python") and
               "graders.sandbox.zygote" in _command(pid)]
    # A rule's zygote (a fork of a zygote, the same command line) is in its zygote's tree already.
    zygotes = [pid for pid in zygotes if table[pid][0] not in zygotes]
    trusted = worker - sum(tree_cpu_seconds(pid, table) for pid in zygotes)
    whole = cpu_counter(cgroup) if cgroup is not None else worker
    return {
        "trusted": trusted,
        "sandboxes": whole - trusted,
        "postgres": sum(cpu for _ppid, name, cpu in table.values() if name.startswith("postgres")),
        "redis": table.get(redis_pid, (0, "", 0.0))[2],
    }


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def profile(pid: int, folder: Path | None) -> subprocess.Popen | None:
    """py-spy sampling `pid` and its descendants until interrupted (raw stacks, for flame graphs or grep)."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--subprocesses", "--nonblocking", "--rate", "200", "--format", "raw",
                             "--output", str(folder / "worker-burst.txt"), "--pid", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
