"""A word filter for nicknames and word clouds: refuses names a lecture hall should not see on the projector."""

import re
from functools import lru_cache
from pathlib import Path

from .text import strip_accents

WORDS_FILE = Path(__file__).resolve().parent / "data" / "blocked_words.txt"
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_NOT_LETTERS = re.compile(r"[^a-z]+")


def _fold(text: str) -> str:
    return strip_accents(text).casefold().translate(_LEET)


@lru_cache(maxsize=1)
def _blocked() -> tuple[frozenset[str], frozenset[str]]:
    anywhere, whole = set(), set()
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("="):
            whole.add(_NOT_LETTERS.sub("", _fold(line[1:])))
        else:
            anywhere.add(_NOT_LETTERS.sub("", _fold(line)))
    return frozenset(anywhere), frozenset(whole)


def is_blocked(text: str) -> bool:
    """True if the text holds a blocked word, even spaced out, accented or in leetspeak."""
    anywhere, whole = _blocked()
    folded = _fold(text)
    squashed = _NOT_LETTERS.sub("", folded)
    # Repeated letters ("fuuuck") are squeezed too.
    squeezed = re.sub(r"(.)\1+", r"\1", squashed)
    if any(word in squashed or word in squeezed for word in anywhere):
        return True
    words = [word for word in _NOT_LETTERS.split(folded) if word]
    return any(word in whole or re.sub(r"(.)\1+", r"\1", word) in whole for word in words) or squashed in whole
