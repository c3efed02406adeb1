"""Themes are measured, not assumed: clustering vs hand-labelled answers, against a keyword baseline.

The data: tests/data/transformers_reflections.csv, 143 answers to the three "Question time"
prompts of the Transformers lesson, each labelled with the theme an instructor would file
it under (see tests/data/README.md). For each prompt we compare the themes with the gold
labels by the adjusted Rand index (ARI: 0 is chance, 1 is identical groupings).

The baseline groups each answer under its most common keyword (the content word of the
answer that most answers of the prompt share): what an instructor skimming for words would do.
"""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import adjusted_rand_score

from reflections.clustering import find_themes
from reflections.embeddings import embed

DATA = Path(__file__).resolve().parents[1] / "data" / "transformers_reflections.csv"
PROMPTS = ["struggled", "understood", "curious"]
# Measured when this test was written (ARI): ours 0.385 / 0.460 / 0.560 against the
# baseline's 0.234 / 0.194 / 0.150, i.e. 0.451 against 0.200 weighted by answers.
WEIGHTED_MARGIN = 0.15
PER_PROMPT_MARGIN = 0.10
FLOOR = 0.35


def labelled() -> dict[str, tuple[list[str], list[str]]]:
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {p: ([r["answer"] for r in rows if r["prompt"] == p], [r["theme"] for r in rows if r["prompt"] == p])
            for p in PROMPTS}


def keyword_baseline(texts: list[str]) -> list[str]:
    words = [
        [w for w in re.findall(r"[a-z][a-z0-9-]+", text.lower()) if w not in ENGLISH_STOP_WORDS and len(w) > 2]
        for text in texts
    ]
    frequency = Counter(word for answer in words for word in set(answer))
    return [max(answer, key=lambda word: (frequency[word], word)) if answer else "" for answer in words]


def theme_numbers(texts: list[str]) -> list[int]:
    numbers = [-1] * len(texts)
    for number, theme in enumerate(find_themes(texts, embed(texts))):
        for index in theme.members:
            numbers[index] = number
    assert -1 not in numbers, "every answer must be in a theme"
    return numbers


@pytest.fixture(scope="module")
def scores() -> dict[str, tuple[float, float, int]]:
    results = {}
    for prompt, (texts, gold) in labelled().items():
        ours = adjusted_rand_score(gold, theme_numbers(texts))
        baseline = adjusted_rand_score(gold, keyword_baseline(texts))
        results[prompt] = (ours, baseline, len(texts))
    return results


def test_the_labelled_set_is_large_enough():
    data = labelled()
    assert sum(len(texts) for texts, _ in data.values()) >= 60
    assert all(len(set(gold)) >= 5 for _, gold in data.values())


def test_themes_beat_the_keyword_baseline_by_a_clear_margin(scores):
    total = sum(count for _, _, count in scores.values())
    ours = sum(score * count for score, _, count in scores.values()) / total
    baseline = sum(score * count for _, score, count in scores.values()) / total
    report = {prompt: (round(o, 3), round(b, 3)) for prompt, (o, b, _) in scores.items()}
    assert ours >= baseline + WEIGHTED_MARGIN, f"ARI ours {ours:.3f} vs baseline {baseline:.3f}: {report}"
    assert ours >= FLOOR, report


@pytest.mark.parametrize("prompt", PROMPTS)
def test_each_prompt_beats_the_baseline(scores, prompt):
    ours, baseline, _ = scores[prompt]
    assert ours >= baseline + PER_PROMPT_MARGIN, f"{prompt}: ARI ours {ours:.3f} vs baseline {baseline:.3f}"


def test_the_number_of_themes_is_chosen_not_fixed():
    texts, _gold = labelled()["struggled"]
    themes = find_themes(texts, embed(texts))
    assert 4 <= len(themes) <= 15
    assert len(find_themes(texts[:5], embed(texts[:5]))) == 1  # too few answers to split


def test_labels_come_from_the_answers_own_words():
    texts, _gold = labelled()["struggled"]
    for theme in find_themes(texts, embed(texts)):
        words = {w for i in theme.members for w in re.findall(r"[a-z0-9<>/'-]+", texts[i].lower())}
        label_words = set(re.findall(r"[a-z0-9<>/'-]+", theme.label.lower()))
        assert label_words <= words, f"{theme.label!r} is not made of its answers' words"
        assert 2 <= len(theme.representatives) <= 3 or theme.size < 2
        assert set(theme.representatives) <= set(theme.members)


def test_clustering_is_deterministic():
    texts, _ = labelled()["curious"]
    vectors = embed(texts)
    first = [(t.label, t.members) for t in find_themes(texts, vectors)]
    assert first == [(t.label, t.members) for t in find_themes(texts, vectors)]
