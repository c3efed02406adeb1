"""What this process caches per game version: immutable for a version, so never stale, only bounded."""

from __future__ import annotations

import threading
from collections import OrderedDict

_question_cache: OrderedDict[tuple[int, int], dict] = OrderedDict()
_cache_lock = threading.Lock()
_public_cache: OrderedDict[tuple[int, int], dict] = OrderedDict()


def clear_caches() -> None:
    """Forget what this process cached per game version (for tests, whose rolled-back ids come back)."""
    with _cache_lock:
        _question_cache.clear()
        _public_cache.clear()
