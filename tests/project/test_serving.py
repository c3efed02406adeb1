"""`make run` and `scripts/dev.py serve` serve as production does: DEBUG off (a 404 lists no URL),
static files through WhiteNoise, a secret key made once in var/; a developer opts in to debug."""

import importlib.util
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.common import free_port
from tests.processes import make_run_command, wait_until

ROOT = Path(__file__).resolve().parents[2]


def dev_script():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_environment(tmp_path, monkeypatch):
    """The environment `make run` gives the server, for a var/ folder of its own."""
    monkeypatch.setattr(os, "environ", os.environ.copy())  # dev.py sets variables: keep them in here
    for name in ("DEBUG", "HTTPS", "SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL", "REDIS_URL",
                 "DJANGO_ALLOW_ASYNC_UNSAFE", "ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATTENTIVE_VAR_DIR", str(tmp_path))

    def make(args=()):
        rest = dev_script().serving_environment(list(args))
        return dict(os.environ), rest

    return make


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_make_run_turns_debug_off_and_keeps_a_secret_key_in_var(run_environment, tmp_path):
    env, rest = run_environment(["--port", "8080"])
    assert rest == ["--port", "8080"]
    assert env["DEBUG"] == "false"
    assert env["HTTPS"] == "false"
    assert env["SECRET_KEY_FILE"] == str(tmp_path / "secret-key")
    printed = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)",
                     env=env)
    assert printed.returncode == 0, printed.stderr
    debug, key = printed.stdout.strip().splitlines()[-1].split()
    assert debug == "False"
    key_file = tmp_path / "secret-key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env=env)
    assert again.stdout.strip().splitlines()[-1] == key


def test_a_developer_opts_in_to_debug(run_environment):
    env, rest = run_environment(["--debug"])
    assert rest == []
    assert env["DEBUG"] == "true"


@pytest.fixture
def serve_command(run_environment, monkeypatch):
    """`scripts/dev.py serve ARGS` up to the moment it hands over to the server: the commands it
    ran before, and the server's command line and environment."""
    def start(args):
        dev = dev_script()
        monkeypatch.setattr(dev, "PYTHON", Path(sys.executable))  # this checkout may have no .venv of its own
        ran, served = [], []
        monkeypatch.setattr(dev, "run", lambda *command, **kwargs: ran.append([str(part) for part in command]))
        monkeypatch.setattr(dev.os, "execv", lambda program, argv: served.append((argv, dict(os.environ))))
        monkeypatch.chdir(ROOT)
        dev.command_serve(list(args))
        (argv, env), = served
        return ran, argv, env

    return start


def test_serve_serves_as_run_does_with_debug_off_and_collected_static_files(serve_command, tmp_path):
    ran, argv, env = serve_command(["--port", "8123"])
    assert env["DEBUG"] == "false"
    assert env["HTTPS"] == "false"
    assert env["SECRET_KEY_FILE"] == str(tmp_path / "secret-key")
    assert [command[1:] for command in ran] == [["manage.py", "collectstatic", "--no-input", "-v", "0"]]
    assert argv[1:] == ["manage.py", "serve", "--host", "127.0.0.1", "--port", "8123"]


def test_serve_collects_nothing_when_the_collected_files_are_up_to_date(serve_command, tmp_path):
    manifest = tmp_path / "staticfiles" / "staticfiles.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    sources = dev_script().static_sources()  # the site's static folder and each app's
    later = max(path.stat().st_mtime for folder in sources for path in folder.rglob("*") if path.is_file()) + 60
    os.utime(manifest, (later, later))
    ran, _argv, env = serve_command([])
    assert env["DEBUG"] == "false"
    assert ran == []


def test_serve_lets_a_developer_opt_in_to_debug(serve_command):
    ran, argv, env = serve_command(["--debug"])
    assert env["DEBUG"] == "true"
    assert ran == []  # Django serves the static files itself
    assert "--debug" not in argv


def test_the_served_site_shows_no_url_list_and_serves_static_files(run_environment):
    env, _rest = run_environment()
    collected = manage("collectstatic", "--no-input", "-v", "0", env=env)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def not_found_page():
            try:
                urllib.request.urlopen(base + "/no-such-page/", timeout=2)
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode(), error.headers
            except OSError:
                return None
            return None

        status, page, headers = wait_until(not_found_page, 60, every=0.2, what="the served site")
        assert status == 404
        assert "Page not found" in page
        assert "URLconf" not in page
        assert "c/&lt;slug:course_slug&gt;" not in page
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        stylesheet = next(part.split('"')[0] for part in page.split('href="/static/')[1:]
                          if part.startswith("css/site."))
        assert stylesheet.startswith("css/site.")
        assert stylesheet != "css/site.css"
        served = urllib.request.urlopen(f"{base}/static/{stylesheet}", timeout=5)
        assert served.status == 200
        assert "max-age=315360000" in served.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def sign_in(base: str, username: str, password: str) -> str:
    """Where the sign-in form leads: the home page when it worked, the form again when not."""
    import http.cookiejar
    import re
    import urllib.parse

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}/accounts/login/", data=data.encode(), headers={"Referer": base + "/"})
    return urllib.parse.urlparse(opener.open(request, timeout=10).url).path


def test_make_run_sets_up_and_serves_the_demo_with_debug_off(run_environment, tmp_path):
    env, _ = run_environment()
    env = {name: value for name, value in os.environ.items()
           if name not in ("DEBUG", "HTTPS", "SECRET_KEY_FILE", "LAN_URL")}
    port = free_port()
    popen = subprocess.Popen(make_run_command("--port", str(port), "--no-worker"), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def home_page():
            if popen.poll() is not None:
                raise AssertionError(f"make run stopped before serving:\n{popen.stdout.read()}")
            try:
                return urllib.request.urlopen(base + "/accounts/login/", timeout=2).status == 200
            except OSError:
                return None

        wait_until(home_page, 300, every=0.5, what="the site make run serves")
        assert sign_in(base, "teacher", "attentive-demo") == "/"
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(base + "/no-such-page/", timeout=5)
        assert not_found.value.code == 404
        assert "URLconf" not in not_found.value.read().decode()
    finally:
        os.killpg(popen.pid, 15)
        popen.wait(timeout=30)
