"""`manage.py serve`: the site and its worker stop together, quietly, and leave nothing running."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.app import trace

from bench.common import free_port
from courses.management.commands.serve import group_alive
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env["ATTENTIVE_VAR_DIR"] = str(var_dir)
    return env


def children(pid: int) -> dict[int, str]:
    """Live child processes of `pid`: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != b"Z":
            found[int(entry)] = command
    return found


def group_size(pgid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            count += int(fields[2]) == pgid and fields[0] != b"Z"
    return count


@pytest.fixture
def served(tmp_path):
    """`manage.py serve` on a fresh embedded database, its output in a file; the worker's pid once it runs."""
    env = embedded_env(tmp_path)
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(free_port())], cwd=ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def worker():
            return next((pid for pid, command in children(server.pid).items() if "grading@" in command), None)

        worker_pid = wait_until(worker, 60, every=0.2, what="the worker process")
        # Its two pool processes have started too: the group it leads has three members.
        wait_until(lambda: group_size(worker_pid) >= 3, 90, every=0.2, what="the worker's pool")
        yield server, worker_pid, log
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_a_worker_that_dies_takes_down_serve_and_everything_the_worker_started(served):
    server, worker_pid, log = served
    os.kill(worker_pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert server.wait(timeout=30) != 0
    assert "the worker process stopped" in log.read_text()
    assert not group_alive(worker_pid), "the dead worker's pool is still running"
    assert children(server.pid) == {}


def test_ctrl_c_stops_everything_quietly_and_hides_the_sweeps(served):
    server, worker_pid, log = served
    # The sweeper runs every 10 s: let it run once.
    wait_until(lambda: "grading@" in log.read_text() and "ready" in log.read_text(), 60, every=0.2,
               what="the worker to be ready")
    time.sleep(11)
    started = time.monotonic()
    os.killpg(server.pid, signal.SIGINT)
    assert server.wait(timeout=30) == 0
    assert time.monotonic() - started < 30
    output = log.read_text()
    assert "Stopped." in output
    assert "ERROR" not in output, output[-3000:]
    assert "Sending due task" not in output
    assert "sweep_stuck_submissions[" not in output
    assert not group_alive(worker_pid)


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append((record.name, record.levelname, record.getMessage()))


@pytest.fixture
def celery_lines():
    """What Celery's loggers let through, at the level a worker runs them (INFO, or DEBUG when set)."""
    kept = Kept()
    loggers = [logging.getLogger(name) for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(kept)
        logger.setLevel(logging.INFO)
    yield kept, loggers
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(kept)
        logger.setLevel(level)


def log_a_run_of(task_name: str) -> None:
    """The lines Celery writes when beat sends a task and a worker runs it, through Celery's own calls."""
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "every-10-s", task_name)
    context = {"id": "1", "name": task_name, "args": "()", "kwargs": "{}", "eta": None}
    trace.info(trace.LOG_RECEIVED, context)
    trace.info(trace.LOG_SUCCESS, {**context, "return_value": "0", "runtime": 0.01})


def test_celerys_lines_about_the_periodic_sweeps_are_debug_lines(celery_lines):
    kept, loggers = celery_lines
    log_a_run_of("graders.sweep_stuck_submissions")
    log_a_run_of("reflections.sweep_theme_computations")
    assert kept.records == []
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    log_a_run_of("graders.sweep_stuck_submissions")
    assert [level for _name, level, _message in kept.records] == ["DEBUG", "DEBUG", "DEBUG"]
    assert "Sending due task every-10-s (graders.sweep_stuck_submissions)" in kept.records[0][2]


def test_lines_about_grading_and_a_failed_sweep_stay_as_they_are(celery_lines):
    kept, _loggers = celery_lines
    log_a_run_of("graders.grade_submission")
    assert [level for _name, level, _message in kept.records] == ["INFO", "INFO", "INFO"]
    logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised unexpected: %(exc)s",
                                                {"name": "graders.sweep_stuck_submissions", "id": "2", "exc": "boom"},
                                                extra={"data": {"name": "graders.sweep_stuck_submissions"}})
    assert kept.records[-1][1] == "ERROR"


def test_a_sweep_that_found_something_says_so(caplog, monkeypatch):
    from exercises import grading, tasks

    monkeypatch.setattr(grading, "sweep", lambda: {"requeued_running": 1, "gave_up": 0, "rung": 2})
    with caplog.at_level(logging.INFO, logger="exercises.tasks"):
        tasks.sweep_stuck_submissions()
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", "sweeper: 1 submissions taken back from a stopped worker, 2 sent again after a lost message, "
                    "0 given up after too many attempts")]


def test_serving_debug_pages_beyond_this_machine_is_warned_about(settings):
    from courses.management.commands.serve import debug_exposure

    settings.DEBUG = True
    assert "DEBUG is on and the site answers on 0.0.0.0" in debug_exposure("0.0.0.0")
    assert debug_exposure("127.0.0.1") is None
    settings.DEBUG = False
    assert debug_exposure("0.0.0.0") is None
