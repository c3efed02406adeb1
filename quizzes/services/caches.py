"""What this process caches per game version: immutable for a version, so never stale, only bounded.

The least recently used entry goes first (cachetools.LRUCache). The consumers' database threads and
the views' threads share these caches, and an LRU cache changes on every read, so each is used
through `cachetools.cached` with `cache_lock`: looked up and stored under it, computed outside it.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache

cache_lock = threading.Lock()
open_questions: LRUCache[tuple[int, int, int], dict] = LRUCache(maxsize=256)
public_states: LRUCache[tuple[int, int], dict] = LRUCache(maxsize=256)


def clear_caches() -> None:
    """Forget what this process cached per game version (for tests, whose rolled-back ids come back)."""
    with cache_lock:
        open_questions.clear()
        public_states.clear()
