"""Real processes for fault tests and benchmarks: a private Redis, Celery workers, on 127.0.0.1.

Each start function returns a handle whose `stop()` (or `kill()`) ends the process and
everything it started; they are bounded in time and never outlive the caller.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from bench.common import free_port

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this process uses (the test database, inside tests)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


# `scripts/dev.py run` as `make run` starts it, with only the pip step left out: every later
# step (migrate, collectstatic, demo_setup, serve) runs for real.
RUN_WITHOUT_PIP = """
import runpy, sys
dev = runpy.run_path("scripts/dev.py", run_name="dev")
dev["ensure_environment"].__globals__["ensure_environment"] = lambda requirements: None
dev["command_run"](sys.argv[1:])
"""


def make_run_command(*args: str) -> list[str]:
    """`scripts/dev.py run ARGS` without its pip step, to start from the project's root (cwd=ROOT)."""
    return [sys.executable, "-c", RUN_WITHOUT_PIP, *args]


def wait_until(condition, timeout: float, every: float = 0.05, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Process:
    popen: subprocess.Popen
    name: str

    def stop(self, timeout: float = 15) -> None:
        """Ask the main process politely (it stops its own children), then insist on the whole group."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.popen.wait()

    def kill(self) -> None:
        """SIGKILL the process and its children at once, as a crash or an OOM killer would."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()


def start_redis(port: int | None = None) -> tuple[Process, str]:
    """A private, memory-only redis-server on 127.0.0.1 (so tests may kill it without harm)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt install redis-server)")
    port = port or free_port()
    popen = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    process = Process(popen, f"redis:{port}")

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_until(answers, 10, what=f"redis on port {port}")
    return process, f"redis://127.0.0.1:{port}/0"


def start_worker(redis_url: str | None, *, concurrency: int = 2, extra_env: dict[str, str] | None = None,
                 log: Path | None = None) -> Process:
    """A Celery grading worker (with beat, so the sweeper runs) against this process's database.

    Without a Redis URL it uses the filesystem broker under ATTENTIVE_VAR_DIR, as the embedded path does.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url or "",
        "GRADING_SWEEP_SECONDS": "1",
        **(extra_env or {}),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    output = open(log, "ab") if log else subprocess.DEVNULL
    popen = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "attentive", "worker", "--beat",
         "--schedule", str(Path(env.get("ATTENTIVE_VAR_DIR", ROOT / "var")) / f"beat-{os.getpid()}-{time.time_ns()}"),
         "--queues", "grading,default,maintenance", "--concurrency", str(concurrency), "--loglevel", "INFO",
         "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return Process(popen, "worker")
