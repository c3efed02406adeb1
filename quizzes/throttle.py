"""Rate limits for joins, shared by every web process through Redis when there is one.

Without Redis the site runs as one process (the embedded path), so counting in memory is
counting everything.
"""

import threading
import time

from django.conf import settings

_local_counts: dict[str, tuple[int, int]] = {}
_local_lock = threading.Lock()
_redis_client = None
_redis_lock = threading.Lock()


def _redis():
    """One client per process. Made under a lock: views run in several threads, and a
    second client made in a race would close its pool (and a pipeline using it) when dropped."""
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        return _redis_client


def allow(key: str, limit: int, window_seconds: int, *more: tuple[str, int]) -> bool:
    """Count one event for `key` in the current window; False once more than `limit` happened.

    `more` are other (key, limit) counted at the same time in the same window (one trip to
    Redis for all): False if any of them is over its limit.
    """
    window = int(time.time() // window_seconds)
    limits = [(f"attentive:throttle:{name}:{window}", most) for name, most in ((key, limit), *more)]
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        for name, _most in limits:
            pipe.incr(name)
            pipe.expire(name, window_seconds * 2)
        counts = pipe.execute()[::2]
        return all(count <= most for count, (_name, most) in zip(counts, limits, strict=True))
    with _local_lock:
        allowed = True
        for name, most in limits:
            count = _local_counts.get(name, (0, window))[0] + 1
            _local_counts[name] = (count, window)
            allowed = allowed and count <= most
        if len(_local_counts) > 10_000:
            for stale in [k for k, (_, w) in _local_counts.items() if w < window]:
                del _local_counts[stale]
    return allowed


class TokenBucket:
    """Messages from one WebSocket connection: a burst of `capacity`, then `rate` per second."""

    def __init__(self, capacity: float, rate: float):
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
