"""Quizzes for tests: one question of each kind, games, seats, and WebSocket connections as real browsers make them."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from attentive.asgi import application
from quizzes import services
from quizzes.models import Game, Quiz
from tests.quizzes.questions import add_question

ORIGIN = (b"origin", b"http://127.0.0.1")

@pytest.fixture
def make_quiz(cast):
    def make(kinds=("single",), **fields) -> Quiz:
        quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title=fields.pop("title", "Kahoot time!"),
                                   **fields)
        for kind in kinds:
            add_question(quiz, kind)
        return quiz

    return make


@pytest.fixture
def make_game(cast, make_quiz):
    def make(kinds=("single",), **options) -> Game:
        options.setdefault("reading_seconds", 0)
        return services.create_game(quiz=make_quiz(kinds), host=cast.instructor, **options)

    return make


def seat(game, nickname: str, user=None):
    """A player and the session key of the browser that joined with it."""
    player = services.join_game(game=game, nickname=nickname, user=user)
    session = SessionStore()
    services.remember_seat(session, player)
    session.create()
    return player, session.session_key


def login_session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def communicator(path: str, session_key: str | None = None) -> WebsocketCommunicator:
    headers = [ORIGIN]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


class Phone:
    """A player's connection that keeps every frame it received, for the tests on what leaks."""

    path = "/ws/quiz/{game}/play/"

    def __init__(self, game, session_key: str):
        self.game = game
        self.session_key = session_key
        self.connection = communicator(self.path.format(game=game.pk), session_key)
        self.frames: list[str] = []

    def another_tab(self):
        """The same browser (same session), connecting again: a reload or a second tab."""
        return type(self)(self.game, self.session_key)

    async def connect(self) -> dict:
        connected, _ = await self.connection.connect()
        assert connected
        return await self.receive()

    async def receive(self, timeout: float = 3) -> dict:
        frame = await self.connection.receive_from(timeout)
        self.frames.append(frame)
        return json.loads(frame)

    async def receive_until(self, predicate, timeout: float = 3) -> dict:
        while True:
            message = await self.receive(timeout)
            if predicate(message):
                return message

    async def phase(self, phase: str, timeout: float = 3) -> dict:
        return await self.receive_until(lambda m: m["type"] == "state" and m["state"]["phase"] == phase, timeout)

    async def send(self, message: dict) -> None:
        await self.connection.send_to(text_data=json.dumps(message))

    async def answer(self, question: int, answer, **extra) -> dict:
        await self.send({"type": "answer", "question": question, "answer": answer, **extra})
        return await self.receive_until(lambda m: m["type"] in ("ack", "rejected"))

    async def nothing_more(self) -> bool:
        return await self.connection.receive_nothing(timeout=0.2)

    async def close(self) -> None:
        await self.connection.disconnect()


class Projector(Phone):
    path = "/ws/quiz/{game}/host/"

    async def command(self, command: str, **fields) -> None:
        await self.send({"type": command, **fields})


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A new channel layer for each test: each async test runs its own event loop, and the
    Redis layer keeps locks and connections bound to the loop that first used them."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each process caches what a game version shows; a rolled-back test database hands out the same ids again."""
    from quizzes import live

    services.clear_caches()
    live.clear_caches()
    yield
    services.clear_caches()
    live.clear_caches()


@pytest.fixture
def anyio_backend():
    return "asyncio"
