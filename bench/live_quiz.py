#!/usr/bin/env python3
"""Benchmark a live quiz: N simulated players over real WebSockets against real uvicorn processes.

    python bench/live_quiz.py --players 2000 [--processes 2] [--database postgres|sqlite] [--py-spy DIR [--py-spy-gil]]
    python bench/live_quiz.py --players 200 --questions 3 --no-baseline --check    # CI: integrity only

It starts what it needs on 127.0.0.1 and stops it again: a throwaway PostgreSQL database
(or SQLite file), `--processes` uvicorn servers on free ports sharing the Redis channel
layer (Redis must already run on 127.0.0.1:6379), a host and N players. Players join over
HTTP with a nickname, like phones, connect their WebSockets round-robin to the servers,
and play a 10-question game (single choice, answers shuffled), each answering at a random
moment of the first `--answer-window` seconds of each question, right 70% of the time.

Then, in the same run, the machine's own limit: the same N clients on a minimal ASGI
broadcast server (`baseline_application`: no Django, no database, the same Redis, as many
processes), which acknowledges each message at once and relays a Redis publication of a
frame the size of a reveal to every client it holds. One JSON object is printed:

    players, processes, join_s (all HTTP joins), connect_s (all WebSockets up and in the game),
    ack_p50_ms, ack_p95_ms          answer sent -> server's acknowledgement received
    fanout_p50_ms, fanout_p95_ms    a reveal starting on the server -> the last player receiving it
                                    (one sample per question)
    lost                            joins, connections, acknowledgements or reveals that never came,
                                    plus answers the server refused
    stored_answers, doubled, wrong_scores, wrong_points, not_as_answered
                                    from the database after the game: one answer stored per
                                    acknowledgement, none twice, every score the sum of its answers'
                                    points, every answer's points what Kahoot's rule and the streak
                                    give for its time and rightness, every rightness what the player
                                    meant to answer
    integrity                       all of the above as they must be (--check exits 1 otherwise)
    baseline_ack_*, baseline_fanout_* and our ratios to them, targets_met, gc pauses, machine.

Everything is bounded: at most 5000 players, and the run stops after --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile  # noqa: E402 (needs the project root on the path)

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# A Redis database of its own, so that a run never meets the test suite's channel layer
# (--redis-db: two runs at once on one Redis must not share one either).
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "11"))
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
MAX_PLAYERS = 5000
MAX_PROCESSES = 8
TIME_LIMIT = 20
CHOICES = 4
RIGHT = "Answer 0"  # the right choice's text: players find it wherever this game shows it
TARGETS = {"join_s": 20, "ack_p95_ms": 100, "fanout_p95_ms": 500}
BASELINE_CHANNEL = "attentive-bench-baseline"
BASELINE_BROADCASTS = 10


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.system()}


# -- the servers the benchmark needs ------------------------------------------------------------


def check_redis() -> None:
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        fail(f"Redis is not running on {REDIS_HOST}:{REDIS_PORT} ({error}). Start it, e.g. "
             f"`redis-server --bind 127.0.0.1 --port {REDIS_PORT} --daemonize yes`, and run again.")


class Database:
    """A throwaway PostgreSQL database, or an SQLite file, dropped at the end."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.name = f"attentive_bench_{os.getpid()}_{secrets.token_hex(3)}"
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            return
        import psycopg

        try:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as connection:
                connection.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.Error as error:
            fail(f"cannot create a PostgreSQL database at {POSTGRES_ADMIN} ({error}); "
                 "run PostgreSQL on 127.0.0.1:5432 or use --database sqlite")
        self.url = f"postgres://postgres@127.0.0.1:5432/{self.name}"

    def drop(self) -> None:
        if self.kind != "postgres":
            return
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def server_environment(database: Database, workdir: Path) -> dict:
    """Production settings (DEBUG off), on 127.0.0.1 without TLS.

    Database connections are not kept (DB_CONN_MAX_AGE stays 0, the default): under ASGI
    every request runs in a thread of its own (up to 64 kept per process), so kept connections
    pile up until PostgreSQL refuses more.
    """
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "attentive.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database.url,
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        "ATTENTIVE_VAR_DIR": str(workdir / "var"),
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "WARNING",
        "QUIZ_JOINS_PER_IP_PER_MINUTE": "1000000",
        "PYTHONPATH": str(ROOT),
    }


def manage(env: dict, *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")


SETUP = """
import json, sys
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from courses.models import Course, Membership
from quizzes import services
from quizzes.models import Question, Quiz

questions, time_limit, choices = (int(value) for value in sys.argv[1:4])
host = get_user_model().objects.create_user("bench-host", password="unused-" + sys.argv[4])
course = Course.objects.create(title="Bench", slug="bench")
Membership.objects.create(user=host, course=course, role=Membership.Role.INSTRUCTOR)
quiz = Quiz.objects.create(course=course, title="Bench quiz")
for number in range(questions):
    Question.objects.create(quiz=quiz, position=number, kind="single", text=f"Question {number + 1}?",
                            time_limit=time_limit, spec={"choices": [
                                {"text": f"Answer {choice}", "correct": choice == 0} for choice in range(choices)]})
game = services.create_game(quiz=quiz, host=host, reading_seconds=1)
session = SessionStore()
session["_auth_user_id"] = str(host.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = host.get_session_auth_hash()
session.create()
print(json.dumps({"game": game.pk, "pin": game.pin, "host_session": session.session_key}))
"""


def create_game(env: dict, questions: int) -> dict:
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup()\n{SETUP}", str(questions),
                             str(TIME_LIMIT), str(CHOICES), secrets.token_hex(8)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"creating the game failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Servers:
    """`count` uvicorn processes serving `app` (the site, or the minimal baseline)."""

    def __init__(self, env: dict, count: int, workdir: Path, app: str = "bench_application"):
        self.ports = [free_port() for _ in range(count)]
        self.processes = []
        self.workdir = workdir
        for port in self.ports:
            log = open(workdir / f"uvicorn-{port}.log", "w")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"live_quiz:{app}", "--factory",
                 "--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port),
                 "--no-access-log", "--lifespan", "off", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))
        deadline = time.monotonic() + 30
        for port, process in zip(self.ports, self.processes, strict=True):
            while True:
                if process.poll() is not None:
                    fail(f"uvicorn on port {port} exited; see {workdir}/uvicorn-{port}.log")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        fail(f"uvicorn on port {port} did not start within 30 s")
                    time.sleep(0.1)

    def port_for(self, index: int) -> int:
        return self.ports[index % len(self.ports)]

    def profile(self, folder: Path | None, tag: str, gil: bool = False) -> list[subprocess.Popen]:
        """py-spy on every server, sampling until it exits or is stopped (raw stacks, for flame graphs
        or grep). `gil`: only the thread holding the GIL, i.e. where the process spends its CPU."""
        if folder is None:
            return []
        folder.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        return [subprocess.Popen([spy, "record", "--nonblocking", "--rate", "50", "--format", "raw",
                                  *(["--gil"] if gil else []),
                                  "--output", str(folder / f"{tag}-{port}.txt"), "--pid", str(process.pid)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for port, process in zip(self.ports, self.processes, strict=True)]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


GC_MARK = "bench-gc-pause-ms="


def watch_garbage_collector() -> Callable[[], None]:
    """Log every garbage collection that stops the server for more than 10 ms, once serving.

    A collection stops the event loop, and with it every connection of the process. With
    BENCH_GC_THRESHOLD set (--gc-threshold), first raise the collector's threshold: a
    what-if for deployments, not what the site does by itself.
    """
    import gc

    threshold = os.environ.get("BENCH_GC_THRESHOLD")
    if threshold:
        gc.set_threshold(int(threshold), 20, 20)
    started = [0.0]
    serving = [False]  # collections while importing the site are not pauses of a game

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif serving[0] and (elapsed := (time.perf_counter() - started[0]) * 1000) > 10:
            print(f"{GC_MARK}{elapsed:.0f}", file=sys.stderr, flush=True)

    gc.callbacks.append(callback)
    return lambda: serving.__setitem__(0, True)


def gc_pauses(workdir: Path) -> list[float]:
    pauses = []
    for log in workdir.glob("uvicorn-*.log"):
        pauses += [float(line.split(GC_MARK, 1)[1]) for line in log.read_text().splitlines() if GC_MARK in line]
    return pauses


def bench_application():
    """The site, as `attentive.asgi` serves it, with the garbage collector watched."""
    import django

    now_serving = watch_garbage_collector()
    django.setup()
    from attentive.asgi import application

    now_serving()
    return application


def baseline_application():
    """The machine's own limit: a minimal ASGI broadcast server. No Django, no database, the same Redis.

    Each WebSocket message is acknowledged at once; each frame published on Redis is sent to
    every client this process holds, one after the other, as a process of the site does.
    """
    import redis.asyncio

    watch_garbage_collector()()
    clients: set = set()
    relaying: list[asyncio.Task] = []

    async def relay() -> None:
        connection = redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        subscription = connection.pubsub()
        await subscription.subscribe(BASELINE_CHANNEL)
        async for message in subscription.listen():
            if message["type"] == "message":
                frame = message["data"].decode()
                for send in list(clients):
                    try:
                        await send({"type": "websocket.send", "text": frame})
                    except Exception:
                        clients.discard(send)

    async def app(scope, receive, send):
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if not relaying:
            relaying.append(asyncio.get_running_loop().create_task(relay()))
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                clients.add(send)
            elif event["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": '{"type":"ack"}'})
            else:
                clients.discard(send)
                return

    return app


# -- the players --------------------------------------------------------------------------------


def nickname(number: int) -> str:
    """"Player" and the number in consonants: digits read as letters (5 = s, 4 = a) can spell
    words the nickname filter refuses, and a phone would then have to choose another."""
    return "Player" + "".join("bcdfghjklm"[int(digit)] for digit in str(number))


def join(port: int, pin: str, nickname: str) -> str | None:
    """Join like a phone: fetch the form (CSRF and session cookies), post a nickname with the cookies
    the form set, as a browser does; return the session cookie."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/play/{pin}/")
        response = connection.getresponse()
        response.read()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        token = cookies["csrftoken"].value
        body = urlencode({"csrfmiddlewaretoken": token, "nickname": nickname})
        connection.request("POST", f"/play/{pin}/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())})
        response = connection.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        connection.close()
        if response.status != 302 or "sessionid" not in cookies:
            return None
        return cookies["sessionid"].value
    except (OSError, http.client.HTTPException, KeyError):
        return None


class Player:
    def __init__(self, number: int, port: int, session: str | None):
        self.number = number
        self.port = port
        self.session = session
        self.acks: list[float] = []
        self.sent = 0
        self.refused = 0
        self.reveals: dict[int, float] = {}  # question -> ms from the server's reveal to receipt
        self.receipts: dict[int, float] = {}  # state version -> ms after the phase started
        self.meant: dict[int, bool] = {}  # question -> whether the answer sent was the right one
        self.reveal_bytes: list[int] = []
        self.connected = False
        self.finished = False


async def open_socket(port: int, path: str, session: str | None = None):
    import websockets

    headers = {"Origin": f"http://127.0.0.1:{port}"}
    if session:
        headers["Cookie"] = f"sessionid={session}"
    for attempt in range(5):
        try:
            return await websockets.connect(f"ws://127.0.0.1:{port}{path}", additional_headers=headers,
                                            open_timeout=30, ping_interval=None, max_queue=None)
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            await asyncio.sleep(0.2 * (attempt + 1))
    return None


async def play(player: Player, game_id: int, window: float, ready: asyncio.Event, connected: list) -> None:
    socket_ = await open_socket(player.port, f"/ws/quiz/{game_id}/play/", player.session)
    if socket_ is None:
        return
    player.connected = True
    connected.append(player)
    if len(connected) == ready.expected:
        ready.set()
    pending: dict[int, float] = {}
    answered: set[int] = set()

    async def answer_later(question: int, choices: list[dict]) -> None:
        await asyncio.sleep(random.uniform(0, window))
        pending[question] = time.perf_counter()
        player.sent += 1
        right = random.random() < 0.7
        shown = [choice["id"] for choice in choices if (choice["text"] == RIGHT) == right]
        player.meant[question] = right
        choice = random.choice(shown)
        await socket_.send(json.dumps({"type": "answer", "question": question, "answer": {"choice": choice}}))

    tasks = []
    try:
        async for frame in socket_:
            received = time.time() * 1000
            message = json.loads(frame)
            if message["type"] == "state":
                state = message["state"]
                player.receipts[state["version"]] = received - state["phase_started_at"]
                if state["phase"] == "answering" and state["question_index"] not in answered:
                    answered.add(state["question_index"])
                    tasks.append(asyncio.create_task(answer_later(state["question_index"],
                                                                  state["question"]["choices"])))
                elif state["phase"] == "reveal":
                    player.reveals[state["question_index"]] = received - state["phase_started_at"]
                    player.reveal_bytes.append(len(frame))
                elif state["phase"] == "podium":
                    player.finished = True
                    break
            elif message["type"] in ("ack", "rejected"):
                started = pending.pop(message["question"], None)
                if message["type"] == "ack" and started is not None:
                    player.acks.append((time.perf_counter() - started) * 1000)
                else:
                    player.refused += 1
    except Exception:
        pass  # a dropped connection shows as missing reveals and acknowledgements in `lost`
    finally:
        for task in tasks:
            task.cancel()
        await socket_.close()


async def host(port: int, game_id: int, session: str, ready: asyncio.Event, pause: float, reveal_times: dict) -> None:
    socket_ = await open_socket(port, f"/ws/quiz/{game_id}/host/", session)
    if socket_ is None:
        fail("the host could not connect")
    await ready.wait()
    async for frame in socket_:
        message = json.loads(frame)
        if message["type"] != "state":
            continue
        state = message["state"]
        if state["phase"] == "lobby":
            await socket_.send(json.dumps({"type": "start", "version": state["version"]}))
        elif state["phase"] == "reveal":
            reveal_times[state["question_index"]] = state["phase_started_at"]
            await asyncio.sleep(pause)
            await socket_.send(json.dumps({"type": "next", "version": state["version"]}))
        elif state["phase"] == "scoreboard":
            await asyncio.sleep(pause / 2)
            await socket_.send(json.dumps({"type": "next", "version": state["version"]}))
        elif state["phase"] == "podium":
            break
    await socket_.close()


async def baseline(ports: list[int], count: int, window: float, frame_bytes: int) -> dict:
    """The same clients on the minimal broadcast server: one acknowledged message each at a random
    moment of `window` seconds, then BASELINE_BROADCASTS frames published on Redis a second apart."""
    import redis

    sockets = await asyncio.gather(*(open_socket(ports[number % len(ports)], "/baseline/")
                                     for number in range(count)))
    live = [socket_ for socket_ in sockets if socket_ is not None]
    acks: list[float] = []
    fanouts: dict[int, list[float]] = {}

    async def client(socket_) -> None:
        await asyncio.sleep(random.uniform(0, window))
        started = time.perf_counter()
        await socket_.send('{"type":"answer","question":0,"answer":{"choice":0}}')
        async for frame in socket_:
            received = time.time() * 1000
            if frame == '{"type":"ack"}':
                acks.append((time.perf_counter() - started) * 1000)
                continue
            message = json.loads(frame)
            fanouts.setdefault(message["n"], []).append(received - message["t"])
            if message["n"] == BASELINE_BROADCASTS - 1:
                return

    publisher = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    clients = [asyncio.create_task(client(socket_)) for socket_ in live]
    await asyncio.sleep(window + 1)
    padding = "x" * max(0, frame_bytes - 60)
    for number in range(BASELINE_BROADCASTS):
        frame = json.dumps({"type": "state", "n": number, "t": time.time() * 1000, "padding": padding})
        await asyncio.to_thread(publisher.publish, BASELINE_CHANNEL, frame)
        await asyncio.sleep(1)
    await asyncio.wait(clients, timeout=10)
    for task in clients:
        task.cancel()
    await asyncio.gather(*(socket_.close() for socket_ in live), return_exceptions=True)
    publisher.close()
    lasts = [max(times) for times in fanouts.values()]
    return {"connected": len(live), "acks": acks, "fanout_last": lasts,
            "missed": sum(len(live) - len(times) for times in fanouts.values())
            + len(live) * (BASELINE_BROADCASTS - len(fanouts))}


async def run_game(args, servers: Servers, game: dict, sessions: list[str | None]) -> dict:
    players = [Player(number, servers.port_for(number), session) for number, session in enumerate(sessions)]
    ready = asyncio.Event()
    ready.expected = sum(1 for player in players if player.session)
    connected: list[Player] = []
    reveal_times: dict[int, int] = {}
    started = time.perf_counter()
    host_task = asyncio.create_task(host(servers.ports[0], game["game"], game["host_session"], ready, args.pause,
                                         reveal_times))
    player_tasks = [asyncio.create_task(play(player, game["game"], args.answer_window, ready, connected))
                    for player in players if player.session]
    try:
        await asyncio.wait_for(ready.wait(), timeout=60)
    except TimeoutError:
        ready.set()  # play with whoever connected
    connect_s = time.perf_counter() - started
    await host_task
    await asyncio.wait(player_tasks, timeout=10)
    return {"players": players, "connect_s": connect_s, "reveals": reveal_times}


VERIFY = """
import json, sys
from quizzes import services
from quizzes.models import Answer, Game

game = Game.objects.get(pk=int(sys.argv[1]))
answers = list(Answer.objects.filter(game_question__game=game).select_related("game_question"))
mine = {}
for answer in answers:
    mine.setdefault(answer.player_id, {})[answer.game_question.position] = answer
wrong_points = wrong_scores = 0
rightness = {}
for player in game.players.all():
    streak = total = 0
    for position in range(game.question_count):
        answer = mine.get(player.pk, {}).get(position)
        right = answer is not None and answer.fraction == 1.0
        streak = streak + 1 if right else 0
        if answer is None:
            continue
        data = answer.game_question.data
        base = services.answer_points(data["points"], answer.fraction, answer.elapsed_ms / 1000,
                                      data["time_limit"] * max(player.time_factor, 1.0), speed=game.speed_points)
        bonus = services.streak_bonus(streak) if right else 0
        # elapsed_ms is rounded: the stored base may differ from this by one point, never more.
        wrong_points += abs(base - answer.base_points) > 1 or answer.points != answer.base_points + bonus
        total += answer.points
    wrong_scores += player.score != total
    rightness[player.nickname] = {str(position): answer.fraction == 1.0
                                  for position, answer in mine.get(player.pk, {}).items()}
print(json.dumps({"answers": len(answers), "doubled": len(answers) - len({(a.player_id, a.game_question_id)
                                                                          for a in answers}),
                  "wrong_points": wrong_points, "wrong_scores": wrong_scores, "rightness": rightness}))
"""


def verify(env: dict, game_id: int) -> dict:
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup()\n{VERIFY}", str(game_id)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"checking the game in the database failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return None if ours is None or not theirs else round(ours / max(theirs, 0.1), 1)


def summarize(args, joined: list[str | None], join_s: float, outcome: dict, stored: dict, base: dict,
              elapsed: float, pauses: list) -> dict:
    players: list[Player] = outcome["players"]
    acks = [value for player in players for value in player.acks]
    per_question_last = []
    per_player = []
    missing_reveals = 0
    for question in range(args.questions):
        times = [player.reveals[question] for player in players if question in player.reveals]
        per_player.extend(times)
        missing_reveals += sum(1 for player in players if player.connected and question not in player.reveals)
        if times:
            per_question_last.append(max(times))
    lost = {
        "joins": sum(1 for session in joined if session is None),
        "connections": sum(1 for player in players if player.session and not player.connected),
        "acknowledgements": sum(player.sent - len(player.acks) - player.refused for player in players),
        "refused_answers": sum(player.refused for player in players),
        "reveals": missing_reveals,
        "unfinished": sum(1 for player in players if player.connected and not player.finished),
    }
    not_as_answered = 0
    for player in players:
        recorded = stored["rightness"].get(nickname(player.number), {})
        not_as_answered += sum(1 for question, right in player.meant.items()
                               if question in player.reveals and recorded.get(str(question)) is not right)
    result = {
        "players": args.players,
        "processes": args.processes,
        "database": args.database,
        "questions": args.questions,
        "answer_window_s": args.answer_window,
        "join_s": round(join_s, 2),
        "connect_s": round(outcome["connect_s"], 2),
        "ack_p50_ms": percentile(acks, 0.5),
        "ack_p95_ms": percentile(acks, 0.95),
        "ack_max_ms": percentile(acks, 1.0),
        "fanout_p50_ms": percentile(per_question_last, 0.5),
        "fanout_p95_ms": percentile(per_question_last, 0.95),
        "fanout_player_p50_ms": percentile(per_player, 0.5),
        "fanout_player_p95_ms": percentile(per_player, 0.95),
        "answers": len(acks),
        "lost": sum(lost.values()),
        "lost_detail": lost,
        "stored_answers": stored["answers"],
        "doubled": stored["doubled"],
        "wrong_scores": stored["wrong_scores"],
        "wrong_points": stored["wrong_points"],
        "not_as_answered": not_as_answered,
        "baseline_ack_p50_ms": percentile(base["acks"], 0.5),
        "baseline_ack_p95_ms": percentile(base["acks"], 0.95),
        "baseline_fanout_p50_ms": percentile(base["fanout_last"], 0.5),
        "baseline_fanout_p95_ms": percentile(base["fanout_last"], 0.95),
        "baseline_missed": base["missed"] + args.players - base["connected"],
        "gc_pauses_over_10ms": len(pauses),
        "gc_pause_total_ms": round(sum(pauses)),
        "gc_pause_max_ms": max(pauses, default=None),
        "gc_threshold": args.gc_threshold,
        "duration_s": round(elapsed, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "machine": machine(),
    }
    result["ack_p95_vs_baseline"] = ratio(result["ack_p95_ms"], result["baseline_ack_p95_ms"])
    result["fanout_p95_vs_baseline"] = ratio(result["fanout_p95_ms"], result["baseline_fanout_p95_ms"])
    result["integrity"] = (
        result["lost"] == 0 and result["stored_answers"] == result["answers"] > 0
        and result["doubled"] == result["wrong_scores"] == result["wrong_points"] == result["not_as_answered"] == 0
    )
    result["targets_met"] = (
        result["integrity"]
        and result["join_s"] < TARGETS["join_s"]
        and result["ack_p95_ms"] is not None and result["ack_p95_ms"] < TARGETS["ack_p95_ms"]
        and result["fanout_p95_ms"] is not None and result["fanout_p95_ms"] < TARGETS["fanout_p95_ms"]
    )
    return result


def fail(message: str) -> None:
    print(json.dumps({"error": message}), flush=True)
    raise SystemExit(2)


def main() -> None:
    global REDIS_DB
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, required=True)
    parser.add_argument("--processes", type=int, default=2, help="uvicorn processes sharing the game (default 2)")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--answer-window", type=float, default=5.0,
                        help="each player answers at a random moment of this many first seconds (default 5)")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds the host waits on each reveal")
    parser.add_argument("--join-concurrency", type=int, default=16)
    parser.add_argument("--gc-threshold", type=int, default=None,
                        help="what-if: servers run gc.set_threshold(N, 20, 20) before the site starts "
                             "(attentive/asgi.py then sets its own, 50000, 20, 20)")
    parser.add_argument("--timeout", type=float, default=600, help="stop the whole run after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs) for inspection")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB,
                        help=f"the Redis database for the run's channel layer (default {REDIS_DB})")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="profile every server with py-spy during the joins, the game and the baseline, into DIR")
    parser.add_argument("--no-baseline", action="store_true", help="skip the minimal broadcast server's run")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless every answer was stored once and scored right and nothing was lost "
                             "(timings are reported, not checked: for CI)")
    parser.add_argument("--py-spy-gil", action="store_true",
                        help="with --py-spy: sample only the thread holding the GIL (where the CPU goes)")
    args = parser.parse_args()
    if not 1 <= args.players <= MAX_PLAYERS:
        fail(f"--players must be 1 to {MAX_PLAYERS}")
    if not 1 <= args.processes <= MAX_PROCESSES:
        fail(f"--processes must be 1 to {MAX_PROCESSES}")
    if not 1 <= args.questions <= 30 or not 0 < args.answer_window < TIME_LIMIT:
        fail(f"--questions must be 1 to 30 and --answer-window below the {TIME_LIMIT} s time limit")

    REDIS_DB = args.redis_db
    os.environ["BENCH_REDIS_DB"] = str(args.redis_db)  # for the servers this run starts
    check_redis()
    signal.signal(signal.SIGALRM, lambda *_: fail(f"the run took longer than --timeout {args.timeout} s"))
    signal.alarm(int(args.timeout))
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="attentive-bench-"))
    database = servers = baseline_servers = None
    exit_code = 0
    spies: list[subprocess.Popen] = []
    try:
        database = Database(args.database, workdir)
        env = server_environment(database, workdir)
        if args.gc_threshold:
            env["BENCH_GC_THRESHOLD"] = str(args.gc_threshold)
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        game = create_game(env, args.questions)
        servers = Servers(env, args.processes, workdir)
        # One profile of the joins (HTTP), another of the game (WebSockets: connections, answers, reveals).
        joining = servers.profile(args.py_spy, "site-join", args.py_spy_gil)

        join_started = time.perf_counter()
        with ThreadPoolExecutor(args.join_concurrency) as pool:
            sessions = list(pool.map(lambda number: join(servers.port_for(number), game["pin"], nickname(number)),
                                     range(args.players)))
        join_s = time.perf_counter() - join_started
        for spy in joining:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
        spies = joining + servers.profile(args.py_spy, "site-game", args.py_spy_gil)

        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        outcome = runner(run_game(args, servers, game, sessions))
        servers.stop()
        pauses = gc_pauses(workdir)
        stored = verify(env, game["game"])

        # The machine's own limit, on the same clients, sized like the reveals the players got.
        base = {"acks": [], "fanout_last": [], "missed": 0, "connected": args.players}
        if not args.no_baseline:
            sizes = [size for player in outcome["players"] for size in player.reveal_bytes]
            (workdir / "baseline").mkdir()
            baseline_servers = Servers(env, args.processes, workdir / "baseline", app="baseline_application")
            spies += baseline_servers.profile(args.py_spy, "baseline", args.py_spy_gil)
            base = runner(baseline(baseline_servers.ports, args.players, args.answer_window,
                                   round(sum(sizes) / len(sizes)) if sizes else 1500))
        result = summarize(args, sessions, join_s, outcome, stored, base, time.perf_counter() - started, pauses)
        print(json.dumps(result), flush=True)
        if args.check and not result["integrity"]:
            print("integrity check failed: answers lost, refused, stored twice or scored wrong (see lost_detail, "
                  "stored_answers, doubled, wrong_scores, wrong_points, not_as_answered)", file=sys.stderr)
            exit_code = 1
    finally:
        signal.alarm(0)
        for server in (servers, baseline_servers):
            if server:
                server.stop()
        for spy in spies:
            try:
                spy.wait(timeout=20)  # py-spy writes its file when the process it samples exits
            except subprocess.TimeoutExpired:
                spy.kill()
        if database:
            database.drop()
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    raise SystemExit(exit_code)


if __name__ == "__main__":
    main()
