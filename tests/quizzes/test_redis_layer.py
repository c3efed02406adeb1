"""The Redis channel layer as configured: an idle consumer keeps waiting instead of crashing."""

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
