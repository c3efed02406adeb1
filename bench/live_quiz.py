#!/usr/bin/env python3
"""Benchmark a live quiz: N simulated players over real WebSockets against real uvicorn processes.

    python bench/live_quiz.py --players 500 [--processes 2] [--database postgres|sqlite]

It starts what it needs on 127.0.0.1 and stops it again: a throwaway PostgreSQL database
(or SQLite file), `--processes` uvicorn servers on free ports sharing the Redis channel
layer (Redis must already run on 127.0.0.1:6379), a host and N players. Players join over
HTTP with a nickname, like phones, connect their WebSockets round-robin to the servers,
and play a 10-question game, each answering at a random moment of the first
`--answer-window` seconds of each question. Before the game, the same N clients measure
a baseline: a trivial WebSocket echo served by the same uvicorn processes, at the same
rate. One JSON object is printed:

    players, processes, join_s, connect_s,
    ack_p50_ms, ack_p95_ms          answer sent -> server's acknowledgement received
    fanout_p50_ms, fanout_p95_ms    a reveal starting on the server -> the last player receiving it
                                    (one sample per question)
    lost                            joins, connections, acknowledgements or reveals that never came,
                                    plus answers the server refused
    echo_p50_ms, echo_p95_ms and ratios to them, targets_met, and details.

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
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile  # noqa: E402 (needs the project root on the path)

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# A Redis database of its own, so that a run never meets the test suite's channel layer.
REDIS_DB = 11
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
MAX_PLAYERS = 5000
MAX_PROCESSES = 8
TIME_LIMIT = 20
CHOICES = 4
TARGETS = {"ack_p95_ms": 100, "fanout_p95_ms": 500}


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
    every request runs in a thread of its own, so kept connections pile up until
    PostgreSQL refuses more.
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
    """`count` uvicorn processes, each serving the site and a trivial echo for the baseline."""

    def __init__(self, env: dict, count: int, workdir: Path):
        self.ports = [free_port() for _ in range(count)]
        self.processes = []
        for port in self.ports:
            log = open(workdir / f"uvicorn-{port}.log", "w")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "live_quiz:bench_application", "--factory",
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


def watch_garbage_collector() -> None:
    """Log every garbage collection that stops the server for more than 10 ms.

    A collection stops the event loop, and with it every connection of the process. With
    BENCH_GC_THRESHOLD set (--gc-threshold), first raise the collector's threshold: a
    what-if for deployments, not what the site does by itself.
    """
    import gc

    threshold = os.environ.get("BENCH_GC_THRESHOLD")
    if threshold:
        gc.set_threshold(int(threshold), 20, 20)
    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (elapsed := (time.perf_counter() - started[0]) * 1000) > 10:
            print(f"{GC_MARK}{elapsed:.0f}", file=sys.stderr, flush=True)

    gc.callbacks.append(callback)


def gc_pauses(workdir: Path) -> list[float]:
    pauses = []
    for log in workdir.glob("uvicorn-*.log"):
        pauses += [float(line.split(GC_MARK, 1)[1]) for line in log.read_text().splitlines() if GC_MARK in line]
    return pauses


def bench_application():
    """The site, plus /bench/echo/: a WebSocket that sends every message back (the baseline)."""
    import django

    watch_garbage_collector()
    django.setup()
    from attentive.asgi import application

    async def app(scope, receive, send):
        if scope["type"] == "websocket" and scope["path"] == "/bench/echo/":
            while True:
                event = await receive()
                if event["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                elif event["type"] == "websocket.receive":
                    await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
                else:
                    return
        return await application(scope, receive, send)

    return app


# -- the players --------------------------------------------------------------------------------


def nickname(number: int) -> str:
    """"Player" and the number in consonants: digits read as letters (5 = s, 4 = a) can spell
    words the nickname filter refuses, and a phone would then have to choose another."""
    return "Player" + "".join("bcdfghjklm"[int(digit)] for digit in str(number))


def join(port: int, pin: str, nickname: str) -> str | None:
    """Join like a phone: fetch the form (CSRF cookie), post a nickname; return the session cookie."""
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
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={token}"})
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

    async def answer_later(question: int) -> None:
        await asyncio.sleep(random.uniform(0, window))
        pending[question] = time.perf_counter()
        player.sent += 1
        choice = 0 if random.random() < 0.7 else random.randrange(1, CHOICES)
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
                    tasks.append(asyncio.create_task(answer_later(state["question_index"])))
                elif state["phase"] == "reveal":
                    player.reveals[state["question_index"]] = received - state["phase_started_at"]
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


async def echo_baseline(ports: list[int], count: int, window: float) -> list[float]:
    """Round trips of one small message per client over a trivial echo, at the players' rate."""
    sockets = await asyncio.gather(*(open_socket(ports[number % len(ports)], "/bench/echo/")
                                     for number in range(count)))
    times: list[float] = []

    async def one(socket_) -> None:
        await asyncio.sleep(random.uniform(0, window))
        started = time.perf_counter()
        await socket_.send('{"type":"answer","question":0,"answer":{"choice":0}}')
        await socket_.recv()
        times.append((time.perf_counter() - started) * 1000)

    live = [socket_ for socket_ in sockets if socket_ is not None]
    await asyncio.gather(*(one(socket_) for socket_ in live))
    await asyncio.gather(*(socket_.close() for socket_ in live))
    return times


async def run_game(args, servers: Servers, game: dict, sessions: list[str | None]) -> dict:
    players = [Player(number, servers.port_for(number), session) for number, session in enumerate(sessions)]
    echo = await echo_baseline(servers.ports, len(players), args.answer_window)
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
    return {"players": players, "echo": echo, "connect_s": connect_s, "reveals": reveal_times}


def summarize(args, joined: list[str | None], join_s: float, outcome: dict, elapsed: float, pauses: list) -> dict:
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
    echo = outcome["echo"]
    lost = {
        "joins": sum(1 for session in joined if session is None),
        "connections": sum(1 for player in players if player.session and not player.connected),
        "acknowledgements": sum(player.sent - len(player.acks) - player.refused for player in players),
        "refused_answers": sum(player.refused for player in players),
        "reveals": missing_reveals,
        "unfinished": sum(1 for player in players if player.connected and not player.finished),
    }
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
        "echo_p50_ms": percentile(echo, 0.5),
        "echo_p95_ms": percentile(echo, 0.95),
        "answers": len(acks),
        "lost": sum(lost.values()),
        "lost_detail": lost,
        "gc_pauses_over_10ms": len(pauses),
        "gc_pause_total_ms": round(sum(pauses)),
        "gc_pause_max_ms": max(pauses, default=None),
        "gc_threshold": args.gc_threshold,
        "duration_s": round(elapsed, 1),
        "machine": machine(),
    }
    if result["echo_p50_ms"] and result["ack_p50_ms"] is not None:
        result["ack_p50_vs_echo"] = round(result["ack_p50_ms"] / max(result["echo_p50_ms"], 0.1), 1)
        result["ack_p95_vs_echo"] = round(result["ack_p95_ms"] / max(result["echo_p95_ms"], 0.1), 1)
        if result["fanout_p95_ms"] is not None:
            result["fanout_p95_vs_echo_p95"] = round(result["fanout_p95_ms"] / max(result["echo_p95_ms"], 0.1), 1)
    result["targets_met"] = (
        result["lost"] == 0
        and result["ack_p95_ms"] is not None and result["ack_p95_ms"] < TARGETS["ack_p95_ms"]
        and result["fanout_p95_ms"] is not None and result["fanout_p95_ms"] < TARGETS["fanout_p95_ms"]
    )
    return result


def fail(message: str) -> None:
    print(json.dumps({"error": message}), flush=True)
    raise SystemExit(2)


def main() -> None:
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
                        help="what-if: servers run gc.set_threshold(N, 20, 20) (default: Python's 700, 10, 10)")
    parser.add_argument("--timeout", type=float, default=600, help="stop the whole run after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs) for inspection")
    args = parser.parse_args()
    if not 1 <= args.players <= MAX_PLAYERS:
        fail(f"--players must be 1 to {MAX_PLAYERS}")
    if not 1 <= args.processes <= MAX_PROCESSES:
        fail(f"--processes must be 1 to {MAX_PROCESSES}")
    if not 1 <= args.questions <= 30 or not 0 < args.answer_window < TIME_LIMIT:
        fail(f"--questions must be 1 to 30 and --answer-window below the {TIME_LIMIT} s time limit")

    check_redis()
    signal.signal(signal.SIGALRM, lambda *_: fail(f"the run took longer than --timeout {args.timeout} s"))
    signal.alarm(int(args.timeout))
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="attentive-bench-"))
    database = servers = None
    try:
        database = Database(args.database, workdir)
        env = server_environment(database, workdir)
        if args.gc_threshold:
            env["BENCH_GC_THRESHOLD"] = str(args.gc_threshold)
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        game = create_game(env, args.questions)
        servers = Servers(env, args.processes, workdir)

        join_started = time.perf_counter()
        with ThreadPoolExecutor(args.join_concurrency) as pool:
            sessions = list(pool.map(lambda number: join(servers.port_for(number), game["pin"], nickname(number)),
                                     range(args.players)))
        join_s = time.perf_counter() - join_started

        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        outcome = runner(run_game(args, servers, game, sessions))
        result = summarize(args, sessions, join_s, outcome, time.perf_counter() - started, gc_pauses(workdir))
        print(json.dumps(result), flush=True)
    finally:
        signal.alarm(0)
        if servers:
            servers.stop()
        if database:
            database.drop()
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
