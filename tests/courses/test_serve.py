"""`manage.py serve`: the site and its worker stop together, quietly, and leave nothing running."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import free_port
from courses.management.commands.serve import SWEEP_LINE, group_alive
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


def test_only_the_sweeps_lines_are_left_out():
    assert SWEEP_LINE.search("INFO celery.beat: Scheduler: Sending due task sweep-stuck-submissions (graders.sweep)")
    assert SWEEP_LINE.search("INFO celery.app.trace: Task graders.sweep_stuck_submissions[1] succeeded in 0.1s")
    assert not SWEEP_LINE.search("INFO celery.app.trace: Task graders.grade_submission[2] succeeded in 0.1s")
    assert not SWEEP_LINE.search("ERROR celery.worker: the sweep of 10 s failed")


def test_serving_debug_pages_beyond_this_machine_is_warned_about(settings):
    from courses.management.commands.serve import debug_exposure

    settings.DEBUG = True
    assert "DEBUG is on and the site answers on 0.0.0.0" in debug_exposure("0.0.0.0")
    assert debug_exposure("127.0.0.1") is None
    settings.DEBUG = False
    assert debug_exposure("0.0.0.0") is None
