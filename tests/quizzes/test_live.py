"""Broadcasting a change of phase: cheap on the embedded path's in-memory layer, whatever the class size."""

import json
import time

import pytest
from channels.layers import get_channel_layer

from quizzes import live, services

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


async def test_a_reveal_reaches_each_player_with_their_own_news(in_memory_layer):
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add(live.players_group(1), channel)
    await live.broadcast(reveal_for(3))
    message = await layer.receive(channels[2])
    assert json.loads(message["state"])["phase"] == "reveal"
    assert live.personal_news(message)["2"]["rank"] == 2


async def test_broadcasting_every_players_news_is_not_quadratic(in_memory_layer):
    # The in-memory layer deep-copies a message per group member: with every player's news
    # as a dict, 300 players took about 0.5 s (600 players, 2.3 s). As JSON text: milliseconds.
    layer = get_channel_layer()
    for _ in range(300):
        await layer.group_add(live.players_group(1), await layer.new_channel())
    started = time.perf_counter()
    await live.broadcast(reveal_for(300))
    assert time.perf_counter() - started < 0.15
