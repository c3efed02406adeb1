"""Nicknames: the rules a nickname must follow, and friendly random ones for players short of ideas."""

import secrets
import unicodedata

from .text import normalize_answer
from .wordfilter import is_blocked

MAX_NICKNAME_LENGTH = 20

ADJECTIVES = [
    "Attentive", "Brave", "Bright", "Calm", "Cheerful", "Clever", "Curious", "Daring", "Eager", "Fluent",
    "Friendly", "Gentle", "Greedy", "Happy", "Helpful", "Jolly", "Kind", "Lively", "Lucky", "Masked",
    "Merry", "Mighty", "Nimble", "Patient", "Plucky", "Quick", "Quiet", "Sampled", "Sharp", "Smiling",
    "Sunny", "Swift", "Tokenized", "Witty", "Zesty",
]
ANIMALS = [
    "Alpaca", "Badger", "Beaver", "Capybara", "Dolphin", "Eagle", "Falcon", "Gecko", "Hedgehog", "Heron",
    "Ibis", "Jaguar", "Koala", "Lemur", "Llama", "Lynx", "Marmot", "Narwhal", "Otter", "Owl", "Panda",
    "Penguin", "Puffin", "Quokka", "Raccoon", "Robin", "Sloth", "Tapir", "Toucan", "Walrus", "Wombat",
    "Yak", "Zebra",
]


class NicknameInvalid(ValueError):
    pass


def nickname_key(nickname: str) -> str:
    """Two nicknames that differ only in case, accents or spacing are the same seat name."""
    return normalize_answer(nickname)


def clean_nickname(raw: str) -> str:
    """The nickname as it will be shown, or NicknameInvalid with a message for the player."""
    nickname = " ".join((raw or "").split())
    if not nickname:
        raise NicknameInvalid("Choose a nickname.")
    if len(nickname) > MAX_NICKNAME_LENGTH:
        raise NicknameInvalid(f"Keep your nickname to {MAX_NICKNAME_LENGTH} characters.")
    if any(unicodedata.category(ch)[0] == "C" for ch in nickname):
        raise NicknameInvalid("Use letters, digits and spaces in your nickname.")
    if not any(ch.isalnum() for ch in nickname):
        raise NicknameInvalid("Put at least one letter or digit in your nickname.")
    if is_blocked(nickname):
        raise NicknameInvalid("That nickname is not allowed here. Choose another one, or take a random one.")
    return nickname


def random_nickname(taken: set[str] | frozenset[str] = frozenset()) -> str:
    """An adjective and an animal, not among `taken` (nickname keys)."""
    for _ in range(50):
        nickname = f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"
        if nickname_key(nickname) not in taken:
            return nickname
    while True:
        nickname = f"{secrets.choice(ANIMALS)} {secrets.randbelow(1000)}"
        if nickname_key(nickname) not in taken:
            return nickname
