"""Live-quiz fault drills for bench/faults.py: a game over real WebSockets while one piece fails.

Two uvicorn processes serve the site behind the drill's PostgreSQL and Redis, as the `web`
service of docker-compose.yml does (`--workers 2`). A host socket drives a short game and N
phones play it, split across both processes; each phone behaves like static/js/live.js: when
its socket closes it reconnects with exponential backoff and equal jitter (0.5 s doubling to
10 s), as the same session (so the same seat), and re-sends an answer it never saw
acknowledged. While a question is open the drill strikes:

    live_uvicorn   SIGKILL one uvicorn process (not the host's); its phones reconnect to the
                   other one, as a load balancer would send them
    live_redis     kill Redis and start it again, empty, on the same port
    live_postgres  `pg_ctl stop -m fast`, then start it again

Then the game goes on to its podium and the database is read: every acknowledged answer must
be stored exactly once, every score must be the sum of its answers' points, every phone must
still hold its one seat. The counts come back as one dict per drill (faults.py prints it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from bench import live_quiz

DRILLS = ("live_uvicorn", "live_redis", "live_postgres")
QUESTIONS = 4
FAULT_QUESTION = 1  # the fault strikes while this question (counted from 0) is open
ANSWER_WINDOW_S = 4.0  # phones answer at a random moment of the question's first seconds
FAULT_AFTER_S = 1.5  # into that window: some answers acknowledged, some still to come
BASE_DELAY_S, MAX_DELAY_S = 0.5, 10.0  # live.js's backoff
GAME_TIMEOUT_S = 150


def backoff(attempt: int) -> float:
    """live.js's delay before reconnect number `attempt`: half fixed, half random."""
    step = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** attempt)
    return step / 2 + random.uniform(0, step / 2)


class Seat:
    """One phone: its session (the seat), its answers, and how often it lost its socket."""

    def __init__(self, number: int, session: str | None, port: int):
        self.number = number
        self.nickname = live_quiz.nickname(number)
        self.session = session
        self.port = port
        self.meant: dict[int, bool] = {}  # question -> whether it chose the right answer
        self.acked: set[int] = set()
        self.rejected: dict[int, str] = {}
        self.sent = 0
        self.connections = 0
        self.dropped_at: float | None = None  # the first drop after the fault
        self.back_at: float | None = None  # the first state received after that drop
        self.finished = False
        self.no_seat = False


class Game:
    """What the drill shares between the phones, the host and the fault."""

    def __init__(self, game: dict, ports: list[int]):
        self.id = game["game"]
        self.host_session = game["host_session"]
        self.alive = list(ports)
        self.fault_at: float | None = None
        self.fault_version: int | None = None
        self.moved_on_at: float | None = None  # the first new phase the host saw after the fault
        self.question_open = asyncio.Event()  # the fault's question is open
        self.everyone_in = asyncio.Event()
        self.expected = 0
        self.joined = 0
        self.deadline = time.monotonic() + GAME_TIMEOUT_S

    def connected(self, seat: Seat) -> None:
        if seat.connections == 1:
            self.joined += 1
            if self.joined >= self.expected:
                self.everyone_in.set()

    def port_for(self, seat_port: int, number: int) -> int:
        """The phone's own process while it lives, else where a load balancer would send it."""
        return seat_port if seat_port in self.alive else self.alive[number % len(self.alive)]


async def connect(port: int, path: str, session: str):
    import websockets

    try:
        return await websockets.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=10, ping_interval=None,
                                        max_queue=None, additional_headers={
                                            "Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session}"})
    except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
        return None


async def reconnecting(game: Game, number: int, port: int, path: str, session: str, on_frame, on_close,
                       done) -> None:
    """Keep a socket to the game until `done()`, as live.js does: back off after every close."""
    import websockets

    attempt = 0
    while not done() and time.monotonic() < game.deadline:
        socket_ = await connect(game.port_for(port, number), path, session)
        if socket_ is not None:
            try:
                async for frame in socket_:
                    if await on_frame(socket_, json.loads(frame)):
                        attempt = 0  # a snapshot came: this connection is healthy
                    if done():
                        break
            except (websockets.ConnectionClosed, OSError):
                pass
            finally:
                await socket_.close()
        if not done():
            on_close()
            await asyncio.sleep(backoff(attempt))
            attempt += 1


async def phone(game: Game, seat: Seat) -> None:
    answering: dict[int, asyncio.Task] = {}
    choices: dict[int, list[dict]] = {}
    sockets: set = set()

    async def answer(socket_, question: int, choices: list[dict], delay: float) -> None:
        await asyncio.sleep(delay)
        right = seat.meant.setdefault(question, random.random() < 0.7)
        choice = random.choice([item["id"] for item in choices if (item["text"] == live_quiz.RIGHT) == right])
        seat.sent += 1
        await socket_.send(json.dumps({"type": "answer", "question": question, "answer": {"choice": choice}}))

    async def on_frame(socket_, message: dict) -> bool:
        if message["type"] == "state":
            if socket_ not in sockets:
                sockets.add(socket_)
                seat.connections += 1
                game.connected(seat)
            if seat.dropped_at is not None and seat.back_at is None:
                seat.back_at = time.monotonic()
            state = message["state"]
            question = state["question_index"]
            if state["phase"] == "answering" and question not in seat.acked and question not in seat.rejected:
                # Once: at a random moment of the window; again after a reconnect: soon.
                delay = random.uniform(0, ANSWER_WINDOW_S) if question not in seat.meant else random.uniform(0, 0.3)
                if question in answering:
                    answering.pop(question).cancel()
                choices[question] = state["question"]["choices"]
                answering[question] = asyncio.create_task(
                    answer(socket_, question, state["question"]["choices"], delay))
            elif state["phase"] == "podium":
                seat.finished = True
            return True
        if message["type"] == "ack":
            seat.acked.add(message["question"])
        elif message["type"] == "rejected" and message["code"] == "unavailable":
            # Not stored (the database is restarting): the student taps again a moment later.
            question = message["question"]
            answering[question] = asyncio.create_task(answer(socket_, question, choices[question], backoff(1)))
        elif message["type"] == "rejected":
            seat.rejected[message["question"]] = message["code"]
        elif message["type"] == "error" and message.get("code") in ("no-seat", "kicked"):
            seat.no_seat = seat.finished = True
        return False

    def on_close() -> None:
        if game.fault_at is not None and seat.dropped_at is None:
            seat.dropped_at = time.monotonic()

    try:
        await reconnecting(game, seat.number, seat.port, f"/ws/quiz/{game.id}/play/", seat.session, on_frame,
                           on_close, lambda: seat.finished)
    finally:
        for task in answering.values():
            task.cancel()


async def host(game: Game, port: int, pause: float) -> None:
    """The projector: starts once every phone is in, moves on from each reveal and scoreboard."""
    finished = False
    moved: set[int] = set()  # versions already moved on from, across reconnects
    moving: set[asyncio.Task] = set()

    def later(socket_, version: int, delay: float) -> None:
        task = asyncio.create_task(move_on(socket_, version, delay))
        moving.add(task)
        task.add_done_callback(moving.discard)

    async def move_on(socket_, version: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if version not in moved:
            try:
                await socket_.send(json.dumps({"type": "next", "version": version}))
                moved.add(version)
            except Exception:
                pass  # the socket closed: the snapshot after the reconnect asks again

    async def on_frame(socket_, message: dict) -> bool:
        nonlocal finished
        if message["type"] != "state":
            return False
        state = message["state"]
        if game.fault_at is not None and game.moved_on_at is None and state["version"] > game.fault_version:
            game.moved_on_at = time.monotonic()
        if state["phase"] == "lobby":
            await game.everyone_in.wait()
            await socket_.send(json.dumps({"type": "start", "version": state["version"]}))
        elif state["phase"] == "answering" and state["question_index"] == FAULT_QUESTION:
            game.fault_version = game.fault_version or state["version"]
            game.question_open.set()
        elif state["phase"] == "reveal":
            later(socket_, state["version"], pause)
        elif state["phase"] == "scoreboard":
            later(socket_, state["version"], pause / 2)
        elif state["phase"] == "podium":
            finished = True
        return True

    await reconnecting(game, 0, port, f"/ws/quiz/{game.id}/host/", game.host_session, on_frame, lambda: None,
                       lambda: finished)


async def strike(drill: str, game: Game, stack, servers, outage_s: float) -> dict:
    """The drill's harm, once the fault's question has been open FAULT_AFTER_S."""
    await game.question_open.wait()
    await asyncio.sleep(FAULT_AFTER_S)
    game.fault_at = time.monotonic()
    if drill == "live_uvicorn":
        victim, port = servers.processes[1], servers.ports[1]
        game.alive.remove(port)
        os.killpg(victim.pid, signal.SIGKILL)
        return {"killed": "uvicorn", "port": port}
    if drill == "live_redis":
        await asyncio.to_thread(stack.restart_redis, outage_s)
        return {"restarted": "redis", "down_s": outage_s}
    await asyncio.to_thread(stack.postgres.stop, "fast")
    await asyncio.sleep(outage_s)
    await asyncio.to_thread(stack.postgres.start)
    return {"restarted": "postgres", "down_s": outage_s}


async def play_game(drill: str, game: Game, seats: list[Seat], stack, servers, options) -> dict:
    game.expected = len(seats)
    phones = [asyncio.create_task(phone(game, seat)) for seat in seats]
    projector = asyncio.create_task(host(game, servers.ports[0], pause=1.0))
    fault = asyncio.create_task(strike(drill, game, stack, servers, options.outage_s))
    try:
        await asyncio.wait_for(asyncio.gather(projector, *phones), timeout=GAME_TIMEOUT_S)
    except TimeoutError:
        pass  # what did not finish shows in the counts
    for task in (projector, *phones):
        task.cancel()
    if not fault.done():
        fault.cancel()
        return {"injected": False}
    return fault.result()


def stored(game_id: int) -> dict:
    """From the database: each seat's answers and score."""
    from django.db import connection

    from quizzes.models import Answer, Player

    connection.close()  # this process's connection may predate a PostgreSQL restart

    players = list(Player.objects.filter(game_id=game_id).values_list("pk", "nickname", "score", "kicked"))
    answers = list(Answer.objects.filter(game_question__game_id=game_id).values_list(
        "player_id", "game_question__position", "points"))
    return {"players": players, "answers": answers}


def count(seats: list[Seat], rows: dict, checked: dict) -> dict:
    by_nickname: dict[str, list] = {}
    for pk, nickname, score, kicked in rows["players"]:
        by_nickname.setdefault(nickname, []).append((pk, score, kicked))
    copies: dict[tuple[int, int], int] = {}
    points: dict[int, int] = {}
    for player_id, position, value in rows["answers"]:
        copies[player_id, position] = copies.get((player_id, position), 0) + 1
        points[player_id] = points.get(player_id, 0) + value
    acknowledged = once = lost = 0
    bad_seats = 0
    for seat in seats:
        found = by_nickname.get(seat.nickname, [])
        bad_seats += len(found) != 1 or any(kicked for *_, kicked in found) or seat.no_seat
        player_id = found[0][0] if found else None
        for question in seat.acked:
            acknowledged += 1
            stored_copies = copies.get((player_id, question), 0)
            once += stored_copies == 1
            lost += stored_copies == 0
    wrong_scores = sum(1 for pk, _, score, _ in rows["players"] if score != points.get(pk, 0))
    return {"submitted": acknowledged, "graded_once": once, "lost": lost,
            "doubled": sum(1 for value in copies.values() if value > 1), "wrong": wrong_scores + bad_seats,
            "wrong_scores": wrong_scores, "bad_seats": bad_seats, "wrong_points": checked["wrong_points"],
            "stored_answers": len(rows["answers"])}


def forget_previous_game() -> None:
    """live_quiz.create_game makes the same host and course every time: the last drill's go first."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from courses.models import Course

    connection.close()  # this process's connection may predate a PostgreSQL restart
    Course.objects.filter(slug="bench").delete()
    get_user_model().objects.filter(username="bench-host").delete()


def run(drill: str, stack, options) -> dict:
    """One live drill from start to end; stops its uvicorn processes whatever happens."""
    workdir = stack.workdir / drill
    workdir.mkdir()
    env = live_quiz.server_environment(SimpleNamespace(url=stack.env["DATABASE_URL"]), workdir)
    env["REDIS_URL"] = stack.redis_url
    live_quiz.manage(env, "collectstatic", "--no-input", "-v", "0")
    forget_previous_game()
    created = live_quiz.create_game(env, QUESTIONS)
    servers = live_quiz.Servers(env, 2, workdir)
    try:
        with ThreadPoolExecutor(8) as pool:
            sessions = list(pool.map(lambda number: live_quiz.join(servers.port_for(number), created["pin"],
                                                                   live_quiz.nickname(number)),
                                     range(options.players)))
        seats = [Seat(number, session, servers.port_for(number)) for number, session in enumerate(sessions)
                 if session]
        game = Game(created, servers.ports)
        fault = asyncio.run(play_game(drill, game, seats, stack, servers, options))
    finally:
        servers.stop()
    result = {"drill": drill, "players": options.players, "joined": len(seats)}
    result.update(count(seats, stored(game.id), live_quiz.verify(env, game.id)))
    dropped = [seat for seat in seats if seat.dropped_at is not None]
    back = [seat.back_at for seat in dropped if seat.back_at is not None]
    ends = back + ([game.moved_on_at] if game.moved_on_at else [])
    result.update({
        "reconnected": len(back), "dropped": len(dropped), "finished": sum(seat.finished for seat in seats),
        "sockets_max": max((seat.connections for seat in seats), default=0),
        "rejected": sum(len(seat.rejected) for seat in seats),
        "drain_s": round(max(ends) - game.fault_at, 1) if ends and game.fault_at else None,
        "fault": fault, "injected": fault.get("injected", True), "game_moved_on": game.moved_on_at is not None,
    })
    return result
