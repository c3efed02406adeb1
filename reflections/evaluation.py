"""The theme finder measured against human themes: the real data, the keyword baseline, the scores.

The real data is a folder of `unit_NNN.csv` files (columns `answer,label`), one lecture's
answers to one prompt each, grouped into themes by human annotators: the ReflectSumm
development set. It is read where it lies, never copied into the project:
`$REFLECTIONS_REAL_DATA`, by default `<checkout>/../shared/data/reflectsumm-dev`.

Used by bench/reflections.py (every unit) and tests/reflections/test_real_reflections.py
(a fixed sample, to stay fast).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
REAL_DATA_BESIDE_CHECKOUT = Path("shared") / "data" / "reflectsumm-dev"
# Odd-numbered units were held out while the finder's choices were made on the even ones
# (issue 12; before it, units divisible by 3 were held out).
HELD_OUT_REMAINDER = 1


def real_data_folder() -> Path:
    return Path(os.environ.get("REFLECTIONS_REAL_DATA") or default_real_data())


def default_real_data() -> Path:
    """../shared/data/reflectsumm-dev beside the checkout, or beside the main checkout of a git worktree."""
    beside = CHECKOUT.parent / REAL_DATA_BESIDE_CHECKOUT
    git = CHECKOUT / ".git"
    if not beside.is_dir() and git.is_file() and git.read_text().startswith("gitdir:"):
        # A linked worktree's .git names <main checkout>/.git/worktrees/<name>.
        main_checkout = Path(git.read_text().split(":", 1)[1].strip()).parents[2]
        return main_checkout.parent / REAL_DATA_BESIDE_CHECKOUT
    return beside


def has_real_data() -> bool:
    return any(real_data_folder().glob("unit_*.csv"))


@dataclass
class Unit:
    name: str
    number: int
    answers: list[str]
    labels: list[str]

    @property
    def held_out(self) -> bool:
        return self.number % 2 == HELD_OUT_REMAINDER


def load_units(folder: Path | None = None) -> list[Unit]:
    """Every unit of the folder, in name order; an error that says where the data was looked for if none."""
    folder = folder or real_data_folder()
    paths = sorted(folder.glob("unit_*.csv"))
    if not paths:
        raise FileNotFoundError(
            f"no unit_*.csv files in {folder}: set REFLECTIONS_REAL_DATA to the folder of the real "
            "reflections (the ReflectSumm development set), by default ../shared/data/reflectsumm-dev "
            "beside the checkout"
        )
    units = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["answer"].strip()]
        number = int(re.sub(r"\D", "", path.stem) or 0)
        units.append(Unit(path.stem, number, [row["answer"] for row in rows], [row["label"] for row in rows]))
    return units


def keyword_baseline(texts: list[str], stemmed: bool = False) -> list[str]:
    """The issue's baseline: each answer's theme is its content word that most answers of the unit use.

    Content words are those the finder itself keeps: its stop words (English function words
    and the words every reflection uses, "interesting", "confusing", "lecture") and
    scikit-learn's are left out, so that the baseline is the best one-word grouping, not a
    straw man that groups answers by "interesting". `stemmed` compares words by their Snowball
    stem ("charges" meets "charge"), as the finder does.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from .clustering import STOP_WORDS, stem

    stop_words = STOP_WORDS | ENGLISH_STOP_WORDS
    words = [
        [stem(word) if stemmed else word for word in re.findall(r"[a-z][a-z0-9-]+", text.lower())
         if word not in stop_words and len(word) > 2]
        for text in texts
    ]
    frequency = Counter(word for answer in words for word in set(answer))
    return [max(answer, key=lambda word: (frequency[word], word)) if answer else "" for answer in words]


def theme_numbers(themes, count: int) -> list[int]:
    """One theme number per answer (the "Other" group is a group like the rest)."""
    numbers = [-1] * count
    for number, theme in enumerate(themes):
        for index in theme.members:
            numbers[index] = number
    if -1 in numbers:
        raise AssertionError("every answer must be in exactly one theme")
    return numbers


def adjusted_rand(gold: list[str], found: list) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(gold, found))


LABEL_SEPARATORS = re.compile(r"\s*(?:/|\(|\))\s*")


def uses_label(label: str, text: str) -> bool:
    """Whether the answer names its theme's label: every word of the label, or of one of its parts.

    Independent of how the finder reads answers (no stop words, no phrase terms, no acronym
    expansion): words are compared by their Snowball stem ("graphs" is "graph"), an
    acronym's plural "s" aside; a stem that starts another of at most twice its length, four
    letters or more, is that word ("demo", "demonstration"); a phrase written as one word
    is the phrase ("tophat", "Top Hat"). A label's parts are what " / " and brackets
    separate ("Byte pair encoding (BPE)").
    """
    written = re.findall(r"[A-Za-z0-9_]+", text)
    own = _stems(written) | _stems([a + b for a, b in pairwise(written)])
    for part in LABEL_SEPARATORS.split(label):
        words = [word for word in re.findall(r"[A-Za-z0-9_]+", part) if word.lower() not in _function_words()]
        if not words:
            continue
        if all(_names(word, own) for word in _stems(words)) or _names(next(iter(_stems(["".join(words)]))), own):
            return True
    return False


def _function_words() -> set[str]:
    from .clustering import FUNCTION_WORDS

    return FUNCTION_WORDS


def _stems(words: list[str]) -> set[str]:
    from .clustering import stem

    return {stem((word[:-1] if len(word) > 2 and word[:-1].isupper() and word[-1] == "s" else word).lower())
            for word in words}


def _names(word: str, own: set[str]) -> bool:
    if word in own:
        return True
    return any(
        min(len(word), len(other)) >= 4 and 2 * min(len(word), len(other)) >= max(len(word), len(other))
        and (other.startswith(word) or word.startswith(other))
        for other in own
    )


def label_coverage(theme, texts: list[str]) -> float:
    """The share of a theme's answers that name its label (`uses_label`)."""
    return sum(uses_label(theme.label, texts[index]) for index in theme.members) / theme.size
