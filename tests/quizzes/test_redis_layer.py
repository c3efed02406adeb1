"""The Redis channel layer as configured: idle consumers keep waiting, closing ones stop, bursts connect."""

import asyncio

import pytest
from channels.layers import get_channel_layer

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


async def test_waiting_longer_than_the_redis_read_timeout_is_not_an_error():
    # channels-redis blocks 5 s per BZPOPMIN; with redis-py 8's default 5 s read timeout this
    # raised redis.exceptions.TimeoutError (django/channels_redis#422).
    layer = get_channel_layer()
    channel = await layer.new_channel()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), timeout=6.5)
    await layer.send(channel, {"type": "quiz.test"})
    assert await asyncio.wait_for(layer.receive(channel), timeout=2) == {"type": "quiz.test"}


async def test_a_cancelled_receive_stops_at_once():
    # A closing consumer cancels its receive. With a finite read timeout, redis-py 8 could
    # retry it instead, and the consumer never finished: the consumer tests that end with a
    # refused connection hung that way. This checks the plain case.
    layer = get_channel_layer()
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.3)
    receiving.cancel()
    done, _ = await asyncio.wait([receiving], timeout=2)
    assert done == {receiving}


async def test_hundreds_of_consumers_can_join_groups_at_once():
    # redis-py 8's asyncio pool refuses a 101st connection unless told otherwise.
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(300)]
    await asyncio.gather(*(layer.group_add("quiz-test-burst", channel) for channel in channels))
    await asyncio.gather(*(layer.group_discard("quiz-test-burst", channel) for channel in channels))
