"""Broadcasting a change of phase: cheap on the embedded path's in-memory layer, whatever the class size,
and never cut in half."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from quizzes import live, services, timing

pytestmark = pytest.mark.anyio


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                           "CONFIG": {"capacity": 1000}}}


def reveal_for(players: int) -> services.Transition:
    news = {str(number): {"score": 1000, "rank": number, "streak": 2, "question_index": 0, "answered": True,
                          "result": {"answered": True, "correct": True, "fraction": 1.0, "points": 950,
                                     "streak_bonus": 100}} for number in range(players)}
    state = {"game": 1, "version": 7, "phase": "reveal", "deadline": None, "question_index": 0}
    return services.Transition(1, 7, state, news, None)


class Screen:
    """A stand-in for a player's or a projector's consumer: keeps the first state it is handed."""

    def __init__(self, player_id: int | None = None):
        self.player_id = player_id
        self.got = asyncio.get_running_loop().create_future()

    async def quiz_state(self, event):
        me = live.personal_news(event).get(str(self.player_id)) if event["personal"] else None
        if not self.got.done():
            self.got.set_result((json.loads(event["state"]), me))


async def screens_of_game_one(players: int) -> tuple[list[Screen], Screen]:
    phones = [Screen(number) for number in range(players)]
    projector = Screen()
    await live.screens().ensure(1)
    for phone in phones:
        live.screens().add(1, phone, host=False)
    live.screens().add(1, projector, host=True)
    return phones, projector


async def test_a_reveal_reaches_each_player_with_their_own_news(in_memory_layer):
    phones, projector = await screens_of_game_one(3)
    await live.broadcast(reveal_for(3))
    state, me = await asyncio.wait_for(phones[2].got, timeout=2)
    assert state["phase"] == "reveal"
    assert me["rank"] == 2
    assert (await asyncio.wait_for(projector.got, timeout=2))[1] is None  # a projector gets nobody's news


async def test_a_change_of_phase_is_one_message_per_process_whatever_the_screens(in_memory_layer):
    # The in-memory layer deep-copies a message per group member, and each member of a group
    # was a phone: with every player's news as a dict, 600 players took about 2.3 s. Now the
    # group holds one channel per process, and the process hands the news out itself.
    phones, _projector = await screens_of_game_one(600)
    assert len(get_channel_layer().groups[live.screens_group(1)]) == 1
    started = time.perf_counter()
    await live.broadcast(reveal_for(600))
    await asyncio.wait_for(asyncio.gather(*(phone.got for phone in phones)), timeout=5)
    assert time.perf_counter() - started < 1.0
    assert [phone.got.result()[1]["rank"] for phone in phones[:3]] == [0, 1, 2]


async def test_a_timer_that_fired_is_not_cancelled_by_the_news_it_broadcasts(monkeypatch):
    # Players who receive the new phase watch its deadline at once; that used to cancel the
    # timer still broadcasting it, and the hosts (sent to second) stayed a phase behind.
    clock = live.GameClock()
    sent = []

    async def advance_and_broadcast(service, game_id, version):
        sent.append("players")
        clock.watch(game_id, version + 1, timing.to_ms(timing.now()) + 60_000)  # a phone got it
        await asyncio.sleep(0.01)  # the hosts' group_send, on the network
        sent.append("hosts")

    monkeypatch.setattr(live, "run", advance_and_broadcast)
    clock.watch(1, 2, timing.to_ms(timing.now()))
    await asyncio.sleep(live.DEADLINE_GRACE_SECONDS + 0.1)
    assert sent == ["players", "hosts"]
    clock.watch(1, 4, None)  # stop the version-3 timer


async def test_a_broadcast_goes_out_whole_even_if_its_caller_is_cancelled(monkeypatch):
    sent = []

    async def slow_publish(transition):
        sent.append("players")
        await asyncio.sleep(0.05)
        sent.append("hosts")

    def change(game_id):
        return reveal_for(1)

    monkeypatch.setattr(live, "publish", slow_publish)
    monkeypatch.setattr(live, "game_database", lambda function: sync_to_async(function))
    caller = asyncio.ensure_future(live.run(change, 1))  # a host's command
    await asyncio.sleep(0.02)
    caller.cancel()  # the host closed the tab
    await asyncio.sleep(0.1)
    assert sent == ["players", "hosts"]


async def test_a_halls_connections_are_kept_from_the_collector_while_they_play(monkeypatch):
    import gc

    monkeypatch.setattr(live.Heap, "FREEZE_AFTER_SECONDS", 0.05)
    screens, phones = live.screens(), [object() for _ in range(3)]
    gc.unfreeze()
    for phone in phones:
        screens.add(7, phone, host=False)
    assert gc.get_freeze_count() == 0  # not while phones are still arriving
    await asyncio.sleep(0.2)
    assert gc.get_freeze_count() > 0
    for phone in phones:
        screens.discard(7, phone)
    assert gc.get_freeze_count() == 0  # the last one gone: what the hall left is collected again


def test_a_reveals_news_travels_with_its_keys_written_once():
    news = reveal_for(2000).personal
    packed = live.pack_news(news)
    assert live.unpack_news(packed) == news
    assert len(packed) < len(json.dumps(news)) / 3
    different = {"1": {"score": 3, "result": {"points": 3}}, "2": {"score": 0}}  # not one layout: sent as it is
    assert live.unpack_news(live.pack_news(different)) == different
