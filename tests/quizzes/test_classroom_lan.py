"""Classroom mode (`make run LAN=1`): the address it picks, the settings it derives, and a phone on
another network namespace joining a game through the address it printed, and unable to sign in
as the instructor with the published demo password."""

import importlib.util
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore

from bench.common import free_port
from quizzes import services
from quizzes.models import Player
from tests.processes import Process, database_url, make_run_command, wait_until
from tests.quizzes.questions import add_question

ROOT = Path(__file__).resolve().parents[2]


def dev_script():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- choosing the address ------------------------------------------------------------------------


def test_the_address_of_the_default_route_comes_first():
    dev = dev_script()
    interfaces = [("lo", "127.0.0.1"), ("docker0", "172.17.0.1"), ("eth0", "193.48.10.7"), ("wlan0", "192.168.1.20")]
    assert dev.lan_candidates(interfaces, "192.168.1.20") == ["192.168.1.20", "193.48.10.7"]


def test_without_a_default_route_private_addresses_come_first():
    dev = dev_script()
    interfaces = [("eth0", "193.48.10.7"), ("wlan0", "10.4.0.12"), ("veth1a2b", "10.200.0.1")]
    assert dev.lan_candidates(interfaces, None) == ["10.4.0.12", "193.48.10.7"]


def test_a_vpn_carrying_the_default_route_is_never_given_to_the_class():
    dev = dev_script()
    interfaces = [("tun0", "10.8.0.6"), ("wlan0", "192.168.1.20"), ("enp0s31f6", "169.254.3.3")]
    assert dev.lan_candidates(interfaces, "10.8.0.6") == ["192.168.1.20"]


def test_an_address_that_is_not_this_machines_is_refused_with_the_ones_it_has(capsys):
    dev = dev_script()
    with pytest.raises(SystemExit) as stopped:
        dev.classroom_url("203.0.113.250", 8000)
    assert "203.0.113.250 is not an address of this machine" in str(stopped.value)


@pytest.mark.parametrize(("variables", "flag"), [
    ([], ""), (["LAN=1"], "--lan"), (["LAN=yes"], "--lan"), (["LAN=192.168.1.20"], "--lan-address 192.168.1.20"),
])
def test_make_run_lan_passes_the_switch_on(variables, flag):
    command = ["make", "--no-print-directory", "-n", "run", "PYTHON=python3", *variables]
    dry_run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert dry_run.stdout.strip() == f"python3 scripts/dev.py run {flag}".strip()


def test_the_settings_follow_the_classroom_address():
    program = ("import django, json; django.setup(); from django.conf import settings as s; "
               "print(json.dumps([s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.SITE_URL]))")
    env = {**os.environ, "LAN_URL": "http://10.1.2.3:8123", "DJANGO_SETTINGS_MODULE": "attentive.settings"}
    for name in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True)
    hosts, origins, site_url = json.loads(result.stdout)
    assert "10.1.2.3" in hosts and "127.0.0.1" in hosts  # noqa: PT018
    assert origins == ["http://10.1.2.3:8123"]
    assert site_url == "http://10.1.2.3:8123"


# -- a phone on another network --------------------------------------------------------------------


class Namespace:
    """A network namespace joined to this one by a veth pair: a room with one phone in it.

    Its only way out is the veth, with a default route through this machine, so it reaches
    the server on any of this machine's addresses, never on 127.0.0.1.
    """

    def __init__(self):
        if os.geteuid() != 0 or shutil.which("ip") is None:
            pytest.fail("the classroom-mode test makes a network namespace: run it as root, with iproute2 installed")
        tag = os.getpid() % 100_000
        self.name = f"attentive-lan-{tag}"
        self.outside, self.inside = f"alo{tag}", f"ali{tag}"
        self.subnet = f"10.{200 + tag % 50}.{tag % 250}"
        self.commands = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.outside, "type", "veth", "peer", "name", self.inside],
            ["ip", "link", "set", self.inside, "netns", self.name],
            ["ip", "addr", "add", f"{self.subnet}.1/30", "dev", self.outside],
            ["ip", "link", "set", self.outside, "up"],
            *[["ip", "netns", "exec", self.name, *command] for command in (
                ["ip", "addr", "add", f"{self.subnet}.2/30", "dev", self.inside],
                ["ip", "link", "set", self.inside, "up"],
                ["ip", "link", "set", "lo", "up"],
                ["ip", "route", "add", "default", "via", f"{self.subnet}.1"],
            )],
        ]

    def __enter__(self):
        try:
            for command in self.commands:
                subprocess.run(command, check=True, capture_output=True, timeout=20)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc):
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "delete", self.outside], capture_output=True, timeout=20)

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *command], capture_output=True, text=True,
                              timeout=60)


def read_until(process: subprocess.Popen, marker: str, timeout: float) -> tuple[str, str]:
    """The first line of the process's output holding marker, and everything read until then."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        seen += line
        if marker in line:
            return line, seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no line with {marker!r} within {timeout} s; the output was:\n{seen}")


def test_a_phone_on_the_rooms_network_joins_through_the_printed_address(transactional_db, cast, make_quiz, tmp_path,
                                                                        settings):
    """`make run LAN=1` as a teacher runs it: `scripts/dev.py run --lan` (only its pip step left out),
    DEBUG off, static files collected, the demo set up with a fresh password printed here."""
    quiz = make_quiz(())
    add_question(quiz, "single")
    game = services.create_game(quiz=quiz, host=cast.instructor)
    host_session = SessionStore()
    host_session.update({"_auth_user_id": str(cast.instructor.pk),
                         "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                         "_auth_user_hash": cast.instructor.get_session_auth_hash()})
    host_session.create()
    port = free_port()
    # The server reads the test's database and signs sessions as the test does; its var/ folder
    # (collected static files, the broker's folders) is the test's own.
    env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY,
           "ATTENTIVE_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL", "LAN_URL", "DEBUG",
                 "HTTPS", "SECRET_KEY_FILE", "STATIC_ROOT"):
        env.pop(name, None)
    with Namespace() as room:
        popen = subprocess.Popen(make_run_command("--lan", "--port", str(port), "--no-worker"), cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        server = Process(popen, "classroom server")
        try:
            line, printed = read_until(popen, "students join at", timeout=300)
            password = re.search(r"Demo logins, for this session only \(password '([^']+)'", printed).group(1)
            assert password != "attentive-demo"
            join_page = line.split("students join at", 1)[1].split()[0]
            base = join_page.removesuffix("/play/")
            assert base.startswith("http://")
            assert base.endswith(f":{port}")
            address = base.removeprefix("http://").rsplit(":", 1)[0]
            assert not address.startswith("127.")

            def serving() -> bool:
                try:
                    return urllib.request.urlopen(f"{base}/play/", timeout=2).status == 200
                except OSError:
                    return False

            wait_until(serving, 60, every=0.3, what="the classroom server")
            # On the room's network it serves as production does: no debug page lists the URLs.
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(f"{base}/no-such-page/", timeout=10)
            assert missing.value.code == 404
            assert "URLconf" not in missing.value.read().decode()
            phone = room.run(sys.executable, str(ROOT / "tests" / "quizzes" / "lan_phone.py"), base, game.pin, "Ann",
                             "teacher", "attentive-demo", "teacher", password)
            assert phone.returncode == 0, phone.stderr
            seen = json.loads(phone.stdout)
            assert (seen["form"], seen["joined"]) == (200, 200)
            assert seen["landed"] == f"{base}/play/game/{game.pk}/"
            assert seen["state"]["state"]["phase"] == "lobby"
            assert seen["state"]["me"]["nickname"] == "Ann"
            assert Player.objects.get(game=game).nickname == "Ann"
            # DEBUG off: the page names the collected, hashed stylesheet, and WhiteNoise serves it.
            stylesheet, status = seen["stylesheet"]
            assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", stylesheet), stylesheet
            assert status == 200
            # A student in the room cannot be the instructor with the README's password; the printed one works.
            assert seen["sign_ins"] == [["teacher", "attentive-demo", "/accounts/login/"], ["teacher", password, "/"]]

            # The projector's join link and QR code carry the address given to the class.
            projector = urllib.request.Request(f"{base}/c/nlp/games/{game.pk}/host/",
                                               headers={"Cookie": f"sessionid={host_session.session_key}"})
            page = urllib.request.urlopen(projector, timeout=20).read().decode()
            assert f"{base}/play/{game.pin}/" in page
            assert f"Join at <strong>{address}:{port}/play/</strong>" in page
        finally:
            server.stop()
