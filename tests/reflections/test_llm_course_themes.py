"""Themes of an LLM course's "did not fully understand" answers: distinct topics apart, synonyms together.

tests/data/llm_course_struggled.csv holds 51 answers written for this project the way students
of an LLM course write them (see tests/data/README.md), each with the topic an instructor would
file it under. They are made to catch what issue 12's demo showed: a word shared by different
topics ("encoding", "loss", "mask") lumping them, an acronym and its words ("BPE", "byte pair
encoding") kept apart, labels and examples that are not about the theme.
"""

import csv
from collections import Counter
from pathlib import Path

import pytest

from reflections import evaluation
from reflections.clustering import ALL_CLEAR, TOPIC, find_themes
from reflections.embeddings import embed

DATA = Path(__file__).resolve().parents[1] / "data" / "llm_course_struggled.csv"
NOT_TOPICS = {"clear", "other"}


@pytest.fixture(scope="module")
def answers() -> list[dict]:
    with DATA.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def themes(answers):
    texts = [row["answer"] for row in answers]
    return find_themes(texts, embed(texts))


def topics_of(theme, answers) -> Counter:
    return Counter(answers[index]["topic"] for index in theme.members)


def test_no_theme_lumps_two_topics(themes, answers):
    for theme in themes:
        if theme.kind == TOPIC:
            lumped = [topic for topic, count in topics_of(theme, answers).items() if count >= 2]
            assert len(lumped) == 1, f"{theme.label!r} holds {dict(topics_of(theme, answers))}"


def test_each_topic_is_one_theme_whatever_words_name_it(themes, answers):
    topics = Counter(row["topic"] for row in answers)
    for topic, count in topics.items():
        if topic in NOT_TOPICS:
            continue
        largest = max(sum(answers[index]["topic"] == topic for index in theme.members) for theme in themes)
        assert largest == count, f"the {count} answers about {topic} are split"


def test_an_acronym_and_its_words_name_one_theme(themes, answers):
    texts = [row["answer"] for row in answers]
    theme_of = {index: theme for theme in themes for index in theme.members}
    bpe = [index for index, text in enumerate(texts) if "BPE" in text or "yte pair" in text or "yte-pair" in text]
    moe = [index for index, text in enumerate(texts) if "MoE" in text or "mixture of experts" in text]
    assert len({id(theme_of[index]) for index in bpe}) == 1
    assert len({id(theme_of[index]) for index in moe}) == 1
    assert theme_of[bpe[0]].label == "Byte pair encoding (BPE)"
    assert theme_of[moe[0]].label == "Mixture of experts (MoE)"


def test_a_word_that_ends_different_phrases_names_no_theme(themes):
    labels = {theme.label for theme in themes}
    assert not labels & {"Encoding", "Loss", "Mask", "Decoding", "Attention"}
    assert {"Positional encoding", "Padding mask", "Speculative decoding", "KV cache"} <= labels


def test_labels_are_in_most_of_their_answers_and_in_every_example(themes, answers):
    texts = [row["answer"] for row in answers]
    for theme in themes:
        if theme.kind != TOPIC:
            continue
        assert evaluation.label_coverage(theme, texts) > 0.5, theme.label
        assert theme.representatives
        for index in theme.representatives:
            assert evaluation.uses_label(theme.label, texts[index]), (theme.label, texts[index])


def test_nothing_unclear_is_its_own_theme(themes, answers):
    all_clear = [theme for theme in themes if theme.kind == ALL_CLEAR]
    assert len(all_clear) == 1
    assert topics_of(all_clear[0], answers) == Counter(clear=4)
