"""Send to Channels groups from synchronous code (grading workers, views) without waiting on Redis.

With the Redis layer, messages go through one long-lived event loop in a background thread,
so a worker pays neither a new event loop nor a new Redis connection per message, and never
blocks its grading on the broadcast. The in-memory layer (tests, the embedded web process)
only reaches consumers of this process, and is called directly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        # A forked worker process inherits the variable but not the thread.
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="channels-broadcast", daemon=True).start()
        return _loop


def _report(future) -> None:
    if future.exception() is not None:
        log.warning("a live update could not be sent: %s", future.exception())


def group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(group, message)
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _background_loop())
    future.add_done_callback(_report)
