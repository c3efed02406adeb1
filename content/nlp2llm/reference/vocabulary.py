"""The toy vocabulary's greedy longest-match tokenizer, encoder and decoder (trusted side only)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from content.nlp2llm.provided.vocabulary import (
    CONTINUATION_PIECES,
    EOS,
    EOS_ID,
    PAD,
    PAD_ID,
    PUNCTUATION,
    SPECIAL_TOKENS,
    START,
    START_ID,
    TOKEN_IDS,
    UNK,
    UNK_ID,
    VOCABULARY,
    WORD_PIECES,
)

__all__ = [
    "CONTINUATION_PIECES",
    "EOS",
    "EOS_ID",
    "PAD",
    "PAD_ID",
    "PUNCTUATION",
    "SPECIAL_TOKENS",
    "START",
    "START_ID",
    "TOKEN_IDS",
    "UNK",
    "UNK_ID",
    "VOCABULARY",
    "WORD_PIECES",
    "decode_ids",
    "encode_text",
    "tokenize",
]

_WORDS_AND_PUNCTUATION = re.compile(r"\w+|[^\w\s]")
_LONGEST_PIECE = max(len(piece) for piece in VOCABULARY)
_WORD_PIECE_SET = frozenset(WORD_PIECES) | frozenset(PUNCTUATION)
_CONTINUATION_SET = frozenset(CONTINUATION_PIECES)


def _longest_match(word: str, start: int, pieces: frozenset[str]) -> str | None:
    for end in range(min(len(word), start + _LONGEST_PIECE), start, -1):
        if word[start:end] in pieces:
            return word[start:end]
    return None


def tokenize(text: str) -> list[str]:
    """Split text into vocabulary pieces: "I am a teacher" -> I, am, a, tea, cher.

    Each word is matched greedily, longest piece first: a word piece at its start, then
    continuation pieces. Where no piece matches, the rest of the word becomes one `<unk>`.
    """
    tokens: list[str] = []
    for word in _WORDS_AND_PUNCTUATION.findall(text):
        position, pieces = 0, _WORD_PIECE_SET
        while position < len(word):
            piece = _longest_match(word, position, pieces)
            if piece is None:
                tokens.append(UNK)
                break
            tokens.append(piece)
            position += len(piece)
            pieces = _CONTINUATION_SET
    return tokens


def encode_text(text: str) -> list[int]:
    """Token ids of `text` (no `<s>` and no `<EOS>`): the "input IDs" of the lesson."""
    return [TOKEN_IDS[token] for token in tokenize(text)]


def decode_ids(ids: Sequence[int]) -> str:
    """Text of a sequence of ids; `<pad>`, `<s>` and `<EOS>` are left out, `<unk>` is kept."""
    words: list[str] = []
    for token_id in ids:
        token = VOCABULARY[int(token_id)]
        if token in (PAD, START, EOS):
            continue
        if token in _CONTINUATION_SET and words and words[-1] != UNK:
            words[-1] += token
        elif token in PUNCTUATION and words:
            words[-1] += token
        else:
            words.append(token)
    return " ".join(words)
