"""The asynchronous side of a game: run a service, broadcast what changed, and keep each game's clock.

Channels groups only carry news. A group message may be lost (they are at-most-once), so
every message is a complete picture of the phase, and every (re)connect starts with a full
snapshot. For the same reason news is best effort: it is sent after the change is
committed, and a channel layer that fails (Redis restarting) is logged, never raised into
the join, the answer or the command that made the change; screens catch up on their own.

Timers live in whichever processes serve a game's players or host: each one schedules
the game's next deadline, and the version check in the services lets exactly
one of them move the game on. If no process is watching, the next connection catches up.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache, cached
from channels.layers import get_channel_layer
from django.db import transaction

from attentive import broadcast as layer_from_sync_code

from . import services, timing
from .db import game_database

logger = logging.getLogger(__name__)

# A timer fires this long after its deadline, so that an answer sent in the last
# instant is stored before the question closes.
DEADLINE_GRACE_SECONDS = 0.15
# How often, at most, each process recounts answers for the host while a question is open.
ANSWER_COUNT_INTERVAL_SECONDS = 0.25


def players_group(game_id: int) -> str:
    return f"quiz-game-{game_id}"


def hosts_group(game_id: int) -> str:
    return f"quiz-host-{game_id}"


def screens_group(game_id: int) -> str:
    """One channel per process serving the game: where its changes of phase arrive."""
    return f"quiz-screens-{game_id}"


# Locked: a view's thread (broadcast_after_commit) encodes states too, and an LRU cache changes
# on every read. Looked up and stored under the lock, computed outside it (cachetools.cached).
@cached(LRUCache(maxsize=64), key=lambda state: (state["game"], state["version"]), lock=threading.Lock())
def state_json(state: dict) -> str:
    """A phase's public state as JSON, encoded once per process and version for all who get it."""
    return json.dumps(state, separators=(",", ":"))


@cached(LRUCache(maxsize=8), key=lambda message: (message["game"], message["version"]), lock=threading.Lock())
def personal_news(message: dict) -> dict[str, dict]:
    """Every player's news from a broadcast, decoded once per process for all its consumers."""
    return unpack_news(message["personal"])


def _layout(news: dict) -> list:
    """The keys of a player's news, with those of its one level of nested dicts ("result")."""
    return [[key, list(value) if isinstance(value, dict) else None] for key, value in news.items()]


def pack_news(personal: dict[str, dict]) -> str:
    """Every player's news as JSON text, the keys they share written once.

    A reveal's news for 2,000 players was 378 KB of the same dozen keys repeated; between it
    being encoded and the group message being sent went a fifth to a quarter of the time from
    a question's close to its last phone (docs/benchmarks.md, "Live quizzes"). As one layout
    and a row of values per player it is 110 KB.
    """
    layout = _layout(next(iter(personal.values())))
    if any(_layout(news) != layout for news in personal.values()):
        return json.dumps({"news": personal}, separators=(",", ":"))
    rows = {player: [value for key, nested in layout for value in
                     ([news[key][inner] for inner in nested] if nested is not None else [news[key]])]
            for player, news in personal.items()}
    return json.dumps({"layout": layout, "rows": rows}, separators=(",", ":"))


def unpack_news(text: str) -> dict[str, dict]:
    packed = json.loads(text)
    if "news" in packed:
        return packed["news"]
    news = {}
    for player, row in packed["rows"].items():
        values = iter(row)
        news[player] = {key: {inner: next(values) for inner in nested} if nested is not None else next(values)
                        for key, nested in packed["layout"]}
    return news


def clear_caches() -> None:
    """Forget encoded states and decoded news (for tests, whose rolled-back ids come back)."""
    state_json.cache_clear()
    personal_news.cache_clear()


async def broadcast(transition: services.Transition | None) -> None:
    """Send a change of phase to the game's players and hosts.

    The state and the players' news travel as JSON text: the in-memory layer of the
    embedded path deep-copies a message for every member of a group, which for a dict
    holding every player's news costs O(players²) (0.5 s for 300 players); a string is
    never copied, and each process decodes the news once.
    """
    if transition is None:
        return
    await _send_quietly(screens_group(transition.game_id), _state_message(transition))


def _state_message(transition: services.Transition) -> dict:
    return {
        "type": "quiz.state", "game": transition.game_id, "version": transition.version,
        "deadline": transition.deadline_ms, "state": state_json(transition.public),
        "personal": pack_news(transition.personal) if transition.personal else None,
    }


async def _send_quietly(group: str, message: dict) -> None:
    try:
        await get_channel_layer().group_send(group, message)
    except Exception as error:
        logger.warning("a live update to %s could not be sent (%s); screens will catch up", group, error)


def broadcast_after_commit(transition: services.Transition | None) -> None:
    """From synchronous code (a view): broadcast a change of phase once it is committed, without waiting."""
    if transition is None:
        return
    _after_commit(screens_group(transition.game_id), _state_message(transition))


def tell_hosts_after_commit(game_id: int, message: dict) -> None:
    """From synchronous code (a view): news for the projectors once the change is committed, without waiting."""
    _after_commit(hosts_group(game_id), message)


def _after_commit(group: str, message: dict) -> None:
    def send() -> None:
        try:
            layer_from_sync_code.group_send(group, message)
        except Exception as error:
            logger.warning("a live update to %s could not be sent (%s); screens will catch up", group, error)

    transaction.on_commit(send)


async def publish(transition: services.Transition | None) -> None:
    """Broadcast a change of phase and keep this process's clock on the game's next deadline."""
    await broadcast(transition)
    if transition is not None:
        clock().watch(transition.game_id, transition.version, transition.deadline_ms)


async def run(service: Callable[..., services.Transition | None], *args: Any) -> services.Transition | None:
    """Run a service that may change the game's phase, and broadcast the change if it did.

    Once the change is in the database, its broadcast goes out whole even if the caller is
    cancelled meanwhile (a host closing the tab, a timer replaced by a newer one): a half-sent
    broadcast would leave the hosts, or some players, a phase behind.
    """
    transition = await game_database(service)(*args)
    publishing = asyncio.ensure_future(publish(transition))
    _publishing.add(publishing)  # the loop keeps only a weak reference to a task
    publishing.add_done_callback(_publishing.discard)
    await asyncio.shield(publishing)
    return transition


_publishing: set[asyncio.Task] = set()


async def tell_hosts(game_id: int, message: dict) -> None:
    await _send_quietly(hosts_group(game_id), message)


async def tell_player(game_id: int, player_id: int, message: dict) -> None:
    """A message for one player's connections (all of them, in whatever process they are)."""
    await _send_quietly(players_group(game_id), {**message, "player": player_id})


class GameClock:
    """This process's timers for the games it serves; the database decides who wins."""

    def __init__(self) -> None:
        self._timers: dict[int, tuple[int, asyncio.Task]] = {}
        self._counting: set[int] = set()

    def watch(self, game_id: int, version: int, deadline_ms: int | None) -> None:
        """Make sure the game moves on at its deadline (once per version, whoever calls)."""
        current = self._timers.get(game_id)
        if current and current[0] >= version:
            return
        if current:
            current[1].cancel()
        if deadline_ms is None:
            self._timers.pop(game_id, None)
            return
        task = asyncio.get_running_loop().create_task(self._fire(game_id, version, deadline_ms))
        self._timers[game_id] = (version, task)

    async def _fire(self, game_id: int, version: int, deadline_ms: int) -> None:
        await asyncio.sleep(max(0.0, deadline_ms / 1000 - timing.now()) + DEADLINE_GRACE_SECONDS)
        # From here on, nothing may cancel this timer: the players who receive the change it
        # broadcasts watch the next version at once, which would cancel it before the hosts
        # have theirs.
        current = self._timers.get(game_id)
        if current and current[0] == version:
            del self._timers[game_id]
        try:
            await run(services.advance_if_due, game_id, version)
        except Exception:
            logger.exception("game %s: the timer for version %s failed", game_id, version)

    def answer_arrived(self, game_id: int, version: int) -> None:
        """Soon (at most every 250 ms per process) tell the host how many answered, and close if all did."""
        if game_id in self._counting:
            return
        self._counting.add(game_id)
        asyncio.get_running_loop().create_task(self._count(game_id, version))

    async def _count(self, game_id: int, version: int) -> None:
        await asyncio.sleep(ANSWER_COUNT_INTERVAL_SECONDS)
        self._counting.discard(game_id)
        try:
            answered, players = await game_database(services.answer_progress)(game_id, version)
            await tell_hosts(game_id, {"type": "quiz.answered", "version": version, "answered": answered,
                                       "players": players})
            if players and answered >= players:
                await run(services.close_if_all_answered, game_id, version)
        except Exception:
            logger.exception("game %s: counting answers failed", game_id)


class Screens:
    """This process's players and projectors of each game, handed a change of phase all at once.

    A change of phase is one channel-layer message per process, not per screen: each process
    serving a game has one channel in the game's screens group, and one task here gives what
    arrives on it to every screen of that game in the process, in one loop. Through the layer
    once per screen (a channel, a receive and a dispatch each), a reveal for a thousand phones
    per process spent most of its time there (docs/benchmarks.md, "Live quizzes").
    """

    # Group memberships vanish with a Redis restart: they are renewed this often.
    RENEW_SECONDS = 30
    # A hall connecting at once joins the screens group once per this many seconds, not once per phone.
    REJOIN_SECONDS = 5

    def __init__(self) -> None:
        self.players: dict[int, set] = {}
        self.hosts: dict[int, set] = {}
        self.channel: str | None = None
        self._tasks: list[asyncio.Task] = []
        self._joined: dict[int, float] = {}  # game -> when this process last joined its screens group

    async def ensure(self, game_id: int) -> None:
        """Make sure this process hears of the game's changes (raises if the channel layer is down)."""
        layer = get_channel_layer()
        if self.channel is None:
            self.channel = await layer.new_channel()
        tasks_alive = self._tasks and not any(task.done() for task in self._tasks)
        if tasks_alive and time.monotonic() - self._joined.get(game_id, -math.inf) < self.REJOIN_SECONDS:
            return
        await layer.group_add(screens_group(game_id), self.channel)
        self._joined[game_id] = time.monotonic()
        if not tasks_alive:
            for task in self._tasks:
                task.cancel()
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._listen()), loop.create_task(self._renew())]

    def add(self, game_id: int, consumer, *, host: bool) -> None:
        (self.hosts if host else self.players).setdefault(game_id, set()).add(consumer)
        heap().connected()

    def discard(self, game_id: int, consumer) -> None:
        for registry in (self.players, self.hosts):
            screens = registry.get(game_id)
            if screens is not None:
                screens.discard(consumer)
                if not screens:
                    del registry[game_id]
        if not self.players and not self.hosts:
            heap().all_gone()

    async def _listen(self) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("this process's game news could not be received (%s); trying again", error)
                await asyncio.sleep(1)
                continue
            if message.get("type") == "quiz.state":
                await self._hand_out(message)

    async def _hand_out(self, message: dict) -> None:
        game_id = message["game"]
        for consumer in list(self.players.get(game_id, ())):
            try:
                await consumer.quiz_state(message)
            except Exception:
                logger.exception("game %s: a phone's update failed", game_id)
        hosts_message = {**message, "personal": None}
        for consumer in list(self.hosts.get(game_id, ())):
            try:
                await consumer.quiz_state(hosts_message)
            except Exception:
                logger.exception("game %s: a projector's update failed", game_id)

    async def _renew(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(self.RENEW_SECONDS)
            for game_id in {*self.players, *self.hosts}:
                try:
                    await layer.group_add(screens_group(game_id), self.channel)
                    self._joined[game_id] = time.monotonic()
                except Exception as error:
                    logger.warning("game %s: could not renew this process's news (%s)", game_id, error)


class Heap:
    """Keeps the garbage collector off a hall's connections while they play.

    A thousand phones on a process are some 200,000 objects (protocols, consumers, scopes,
    tasks: 478,000 were frozen in a 2,000-player run, the imported site's 269,000 included)
    that live as long as the game, and a full collection walks all of them while every
    connection of the process waits. Once connections stop arriving for a moment, what is
    alive is frozen (`gc.freeze()`: the collector no longer walks it; memory freed by
    reference counting still is); when the process has no screen left, it is unfrozen, so
    that the hall's leftovers are collected between games (docs/benchmarks.md, "Live quizzes").
    """

    FREEZE_AFTER_SECONDS = 2.0

    def __init__(self) -> None:
        self._freezing: asyncio.TimerHandle | None = None

    def connected(self) -> None:
        if self._freezing is not None:
            self._freezing.cancel()
        self._freezing = asyncio.get_running_loop().call_later(self.FREEZE_AFTER_SECONDS, gc.freeze)

    def all_gone(self) -> None:
        if self._freezing is not None:
            self._freezing.cancel()
            self._freezing = None
        gc.unfreeze()


_heaps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heap] = weakref.WeakKeyDictionary()


def heap() -> Heap:
    """The heap keeper of the running event loop (one per process under uvicorn; one per test)."""
    loop = asyncio.get_running_loop()
    found = _heaps.get(loop)
    if found is None:
        found = _heaps[loop] = Heap()
    return found


_screens: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Screens] = weakref.WeakKeyDictionary()


def screens() -> Screens:
    """The screens of the running event loop (one per process under uvicorn; one per test)."""
    loop = asyncio.get_running_loop()
    found = _screens.get(loop)
    if found is None:
        found = _screens[loop] = Screens()
    return found


class AnswerDesk:
    """This process's answers on their way to the database, written in batches.

    An answer waits only for the batch being written, if one is: what arrives meanwhile goes
    in the next batch, all in one database call (`services.submit_answers`). A quiet game
    pays no delay; a hall answering at once pays one transaction per batch, not per answer.
    """

    MAX_BATCH = 500

    def __init__(self) -> None:
        self._waiting: list[tuple[services.AnswerRequest, asyncio.Future]] = []
        self._writing = False

    async def submit(self, request: services.AnswerRequest) -> services.AnswerOutcome:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if not self._writing:
            self._writing = True
            task = asyncio.get_running_loop().create_task(self._write())
            _publishing.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(_publishing.discard)
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.MAX_BATCH], self._waiting[self.MAX_BATCH :]
                try:
                    outcomes = await game_database(services.submit_answers)([request for request, _ in batch])
                except Exception as error:
                    logger.exception("storing %s answers failed", len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():  # its connection may have closed meanwhile
                        future.set_result(outcome)
        finally:
            self._writing = False


_desks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AnswerDesk] = weakref.WeakKeyDictionary()


def answer_desk() -> AnswerDesk:
    """The answer desk of the running event loop (one per process under uvicorn; one per test)."""
    loop = asyncio.get_running_loop()
    found = _desks.get(loop)
    if found is None:
        found = _desks[loop] = AnswerDesk()
    return found


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GameClock] = weakref.WeakKeyDictionary()


def clock() -> GameClock:
    """The clock of the running event loop (one per process under uvicorn; one per test)."""
    loop = asyncio.get_running_loop()
    found = _clocks.get(loop)
    if found is None:
        found = _clocks[loop] = GameClock()
    return found
