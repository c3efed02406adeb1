"""The game clock: the server's time, the only one that counts (tests move it forward)."""

import time


def now() -> float:
    """Seconds since the epoch, as a float."""
    return time.time()


def to_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
