"""`manage.py serve`: the embedded site — an ASGI server, a grading worker and beat, stopped together.

Ctrl-C (or SIGTERM) stops them all, quietly: each child's main process is asked to stop, and
stops its own helpers (Celery's pool and beat) in order. If any process dies on its own, the
others are stopped too, and so is everything the dead one had started (its process group),
and the command exits with an error: a broken worker is never left hidden behind a working
web page, nor a beat still scheduling behind a dead worker.

The children write to this command's output. Celery logs its lines about the periodic sweeps
(three every 10 s) at DEBUG (attentive/celery.py), so that the logins printed before stay on
the screen; `-v 2` runs the sweeper's process at DEBUG, and shows them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_SECONDS = 15


def group_alive(pgid: int) -> bool:
    """Whether a live process of the group is left (its leader may be gone, its children not).

    Read from /proc, so that zombies (which a container's first process may never reap) do not count.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = None
    if entries is None:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command's name: state, ppid, pgrp.
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def debug_exposure(host: str) -> str | None:
    """The warning to print when the site would serve its debug pages beyond this machine."""
    if not settings.DEBUG or host in ("localhost", "::1") or host.startswith("127."):
        return None
    return (f"DEBUG is on and the site answers on {host}: to anyone on the network, an unknown address lists "
            "every URL pattern and an error shows its traceback and settings. scripts/dev.py run and serve "
            "turn DEBUG off; set DEBUG=false here unless you are debugging on a network you trust.")


def signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


class Command(BaseCommand):
    help = "Serve Attentive on one machine: uvicorn (HTTP + WebSockets) and a Celery grading worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="serve pages only")

    def handle(self, host: str, port: int, no_worker: bool, verbosity: int = 1, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if warning := debug_exposure(host):
            self.stderr.write(self.style.WARNING(warning))
        python = sys.executable
        commands = {
            "web": [python, "-m", "uvicorn", "attentive.asgi:application", "--host", host, "--port", str(port),
                    "--no-access-log", "--lifespan", "off", "--ws-max-size", "1048576"],
        }
        if not no_worker:
            commands["worker"] = [
                python, "-m", "celery", "-A", "attentive", "worker", "--hostname", "grading@%h",
                "--queues", "grading,default", "--concurrency", "2", "--loglevel", "INFO",
            ]
            # Beat and the sweeper it schedules, in a process that grades nothing: a backlog of
            # submissions cannot hold back the sweep that rescues stuck ones.
            commands["maintenance"] = [
                python, "-m", "celery", "-A", "attentive", "worker", "--hostname", "maintenance@%h", "--beat",
                "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
                "--queues", "maintenance", "--pool", "solo", "--loglevel", "DEBUG" if verbosity >= 2 else "INFO",
            ]
        processes: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            # Each child leads a process group of its own, so a Ctrl-C reaches it only through us,
            # we can shut the children down in order, and whatever a child starts can be found again.
            processes[name] = subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True,
                                               stderr=subprocess.STDOUT)
        self.stdout.write(self.style.SUCCESS(f"Attentive is running on http://{host}:{port}/ — Ctrl-C stops it."))
        self.stdout.flush()  # the children write to the same output: this line must not wait in a buffer
        failed = None
        while not stopping and failed is None:
            time.sleep(0.3)
            for name, process in processes.items():
                if process.poll() is not None:
                    failed = name
                    break
        self._stop_all(processes)
        if failed:
            raise CommandError(f"the {failed} process stopped (exit code {processes[failed].returncode}); "
                               "everything was shut down. Its log is above.")
        self.stdout.write("Stopped.")

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        """Ask each child to stop, then make sure nothing of theirs is left, helpers included."""
        for process in processes.values():
            if process.poll() is None:
                # Only the main process: it stops its helpers itself. Signalling the whole group
                # would kill Celery's pool under it, and it would report that as an error.
                process.send_signal(signal.SIGTERM)
            else:
                # It died: what it started is still in its group, with nobody to stop it.
                signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait()
        for process in processes.values():
            while group_alive(process.pid) and time.monotonic() < deadline:
                signal_group(process.pid, signal.SIGTERM)
                time.sleep(0.2)
            signal_group(process.pid, signal.SIGKILL)
