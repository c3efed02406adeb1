"""What this process caches per game version: immutable for a version, so never stale, only bounded.

The least recently used entry goes first (cachetools.LRUCache). The consumers' database threads and
the views' threads share these caches, and an LRU cache changes on every read, so every use holds
`_cache_lock`.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache

_question_cache: LRUCache[tuple[int, int], dict] = LRUCache(maxsize=256)
_cache_lock = threading.Lock()
_public_cache: LRUCache[tuple[int, int], dict] = LRUCache(maxsize=256)


def clear_caches() -> None:
    """Forget what this process cached per game version (for tests, whose rolled-back ids come back)."""
    with _cache_lock:
        _question_cache.clear()
        _public_cache.clear()
