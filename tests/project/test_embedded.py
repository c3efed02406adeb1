"""The embedded path as a person runs it: set up, serve with a worker, grade, stop with Ctrl-C, keep the data."""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from bench.common import free_port
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env["ATTENTIVE_VAR_DIR"] = str(var_dir)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> tuple[Path, str]:
    """A var folder with the demo set up as `make run` sets it up (migrate, demo_setup: about 20 s,
    paid once for this module), and what demo_setup printed. Each test serves a copy of it."""
    var = tmp_path_factory.mktemp("demo-site")
    env = embedded_env(var)
    migrated = manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stderr
    setup = manage("demo_setup", env=env)
    assert setup.returncode == 0, setup.stderr
    return var, setup.stdout


def copy_of(demo_site: tuple[Path, str], tmp_path: Path) -> Path:
    var = tmp_path / "var"
    shutil.copytree(demo_site[0], var)
    return var


def test_serve_grades_and_stops_cleanly_and_keeps_the_data(demo_site, tmp_path):
    assert "instructor: teacher" in demo_site[1]
    var = copy_of(demo_site, tmp_path)
    env = embedded_env(var)
    port = free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"

        def page_answers():
            try:
                return urllib.request.urlopen(base + "/", timeout=2).status == 200
            except OSError:
                return False

        wait_until(page_answers, 60, every=0.2, what="the embedded site")
        database = var / "attentive.sqlite3"

        def worker_ready():
            with sqlite3.connect(database) as connection:
                return connection.execute("select count(*) from exercises_workerheartbeat where ready").fetchone()[0]

        wait_until(worker_ready, 90, every=0.5, what="the grading worker")

        # A student signs in and submits through the site; the worker in the other process grades it.
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_page = opener.open(base + "/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": "alice", "password": "attentive-demo"}
        opener.open(urllib.request.Request(base + "/accounts/login/", urllib.parse.urlencode(form).encode(),
                                           headers={"Referer": base + "/accounts/login/"}))
        with sqlite3.connect(database) as connection:
            query = "select slug from exercises_exercise where kind = 'code' order by id"
            slug = connection.execute(query).fetchone()[0]
        exercise = f"{base}/c/nlp2llm/exercises/{slug}/"
        page = opener.open(exercise).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        starter = re.search(r'data-editor-draft-url="[^"]+">(.*?)</textarea>', page, flags=re.S).group(1)
        form = {"csrfmiddlewaretoken": token, "code": starter}
        opener.open(urllib.request.Request(exercise + "submit/", urllib.parse.urlencode(form).encode(),
                                           headers={"Referer": exercise}))

        def verdict():
            with sqlite3.connect(database) as connection:
                row = connection.execute("select status, verdict from exercises_submission").fetchone()
            return row if row and row[0] in ("graded", "error") else None

        status, stored = wait_until(verdict, 60, every=0.2, what="the verdict")
        assert status == "graded"
        assert json.loads(stored)["max_score"] > 0

        started = time.monotonic()
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=30)
        assert server.returncode == 0, output.decode()[-2000:]
        assert time.monotonic() - started < 30
        assert "Stopped." in output.decode()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    # Nothing it started is left running.
    for pattern in (f"--port {port}", str(var / "celerybeat-schedule")):
        leftover = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        assert leftover == [], f"still running: {pattern}"
    # Running it again keeps the data.
    again = manage("demo_setup", env=env)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(var / "attentive.sqlite3") as connection:
        assert connection.execute("select count(*) from exercises_submission").fetchone()[0] == 1


# Holds its sandbox 1.5 s while loading: two of them overlap only if two are graded at once.
SLOW_SUBMISSION = """
import time
time.sleep(1.5)

def softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
"""
SUBMIT_TWO = f"""
from django.contrib.auth import get_user_model
from exercises import services
from exercises.models import Exercise

teacher = get_user_model().objects.get(username="teacher")
code_exercises = Exercise.objects.filter(kind="code")
softmax = next(exercise for exercise in code_exercises if "def softmax" in exercise.files["solution.py"])
for _ in range(2):
    services.submit(teacher, softmax, {SLOW_SUBMISSION!r}, staff_test=True)
"""


def test_the_embedded_worker_grades_two_submissions_at_once(demo_site, tmp_path):
    # One endless loop must not hold a class: `serve` runs its grading worker with two processes.
    var = copy_of(demo_site, tmp_path)
    env = embedded_env(var)
    port = free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    database = var / "attentive.sqlite3"

    def count(condition):
        with sqlite3.connect(database) as connection:
            return connection.execute(f"select count(*) from {condition}").fetchone()[0]

    try:
        wait_until(lambda: count("exercises_workerheartbeat where ready"), 120, every=0.5, what="the grading worker")
        submitted = manage("shell", "-c", SUBMIT_TWO, env=env)
        assert submitted.returncode == 0, submitted.stderr
        wait_until(lambda: count("exercises_submission where status = 'running'") == 2, 60, every=0.05,
                   what="both submissions to be graded at the same time")
        wait_until(lambda: count("exercises_submission where status = 'graded' and score = max_score") == 2, 60,
                   every=0.2, what="both verdicts")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
