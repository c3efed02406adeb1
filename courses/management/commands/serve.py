"""`manage.py serve`: the embedded site — an ASGI server, a grading worker and beat, stopped together.

Ctrl-C (or SIGTERM) stops them all. If one dies on its own, the others are stopped too and
the command exits with an error, so a broken worker is never left hidden behind a
working web page.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve Attentive on one machine: uvicorn (HTTP + WebSockets) and a Celery grading worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="serve pages only")

    def handle(self, host: str, port: int, no_worker: bool, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
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
                "--queues", "maintenance", "--pool", "solo", "--loglevel", "INFO",
            ]
        processes: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            # Each child gets its own process group, so a Ctrl-C reaches it only through us
            # and we can shut the children down in order.
            processes[name] = subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)
        self.stdout.write(self.style.SUCCESS(f"Attentive is running on http://{host}:{port}/ — Ctrl-C stops it."))
        failed = None
        while not stopping and failed is None:
            time.sleep(0.3)
            for name, process in processes.items():
                if process.poll() is not None:
                    failed = name
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if failed:
            raise CommandError(f"the {failed} process stopped (exit code {processes[failed].returncode}); "
                               "everything was shut down. Its log is above.")
        self.stdout.write("Stopped.")
