"""The theme finder on hand-written answers: small, exact behaviours (real data: test_real_reflections.py).

tests/data/transformers_reflections.csv holds 143 answers written for this project to the
three "Question time" prompts of the Transformers lesson (see tests/data/README.md); the
short lists below are made for one behaviour each.
"""

import csv
from pathlib import Path

from reflections import clustering, evaluation
from reflections.clustering import ALL_CLEAR, OTHER, TOPIC, find_themes
from reflections.embeddings import embed
from reflections.nothing_unclear import says_nothing_unclear

DATA = Path(__file__).resolve().parents[1] / "data" / "transformers_reflections.csv"


def answers_to(prompt: str) -> list[str]:
    with DATA.open(encoding="utf-8") as handle:
        return [row["answer"] for row in csv.DictReader(handle) if row["prompt"] == prompt]


def themes_of(texts: list[str]) -> list[clustering.FoundTheme]:
    return find_themes(texts, embed(texts))


def test_the_number_of_themes_is_chosen_not_fixed():
    texts = answers_to("struggled")
    topics = [theme for theme in themes_of(texts) if theme.kind == TOPIC]
    assert 3 <= len(topics) <= 15
    assert len(themes_of(texts[:2])) == 1  # too few answers to share anything


def test_every_answer_is_in_exactly_one_theme():
    texts = answers_to("curious")
    members = sorted(index for theme in themes_of(texts) for index in theme.members)
    assert members == list(range(len(texts)))


def test_answers_that_share_a_phrase_are_one_theme_named_by_it():
    texts = [
        "the tension in the rope", "why tension is the same everywhere", "Tension problems",
        "free body diagrams", "drawing the free body diagram", "I liked the free body diagrams",
    ]
    themes = themes_of(texts)
    assert sorted((theme.label, theme.members) for theme in themes) == [
        ("Free body diagrams", [3, 4, 5]), ("Tension", [0, 1, 2]),
    ]


def test_nothing_unclear_is_a_theme_of_its_own():
    texts = [
        "Nothing", "N/A", "Nothing was confusing today.", "Everything was clear.",
        "the softmax temperature", "softmax and the temperature", "why softmax needs exp",
        "Nothing was confusing except the softmax temperature",
    ]
    themes = themes_of(texts)
    all_clear = [theme for theme in themes if theme.kind == ALL_CLEAR]
    assert len(all_clear) == 1
    assert all_clear[0].members == [0, 1, 2, 3]
    assert all_clear[0].label == clustering.ALL_CLEAR_LABEL
    assert themes[-1] is all_clear[0]  # after the topics
    softmax = next(theme for theme in themes if theme.kind == TOPIC)
    assert 7 in softmax.members  # "... except the softmax temperature" names a topic after all


def test_no_or_nothing_followed_by_a_topic_is_not_all_clear():
    assert not says_nothing_unclear("No idea how the attention weights are computed")
    assert not says_nothing_unclear("Nothing about positional encodings made sense to me")
    assert not says_nothing_unclear("Nothing much, but the masking in the decoder")
    assert says_nothing_unclear("Nothing really, it all made sense")
    assert says_nothing_unclear("nothing was too confusing in today's class")


def test_answers_that_fit_no_theme_go_to_other_last():
    texts = [
        "beam search", "beam search vs greedy", "why beam search keeps k candidates",
        "the causal mask", "masking the future tokens with the causal mask", "causal mask shape",
        "Lucie was suspended", "my cat",
    ]
    themes = themes_of(texts)
    assert themes[-1].kind == OTHER
    assert themes[-1].label == clustering.OTHER_LABEL
    assert themes[-1].members == [6, 7]


def test_answers_with_nothing_in_common_are_not_named_after_one_of_them():
    texts = ["Benchmarks to compare LLMs", "DeepSeek's mixture of experts", "Positional encoding", "RLHF"]
    assert [(theme.kind, theme.label, theme.members) for theme in themes_of(texts)] == [
        (OTHER, clustering.OTHER_LABEL, [0, 1, 2, 3]),
    ]


def test_labels_describe_most_of_their_themes_answers():
    texts = answers_to("struggled")
    for theme in themes_of(texts):
        if theme.kind != TOPIC:
            continue
        using = [index for index in theme.members if evaluation.uses_label(theme.label, texts[index])]
        assert 2 * len(using) > theme.size, f"{theme.label!r} is in {len(using)} of its {theme.size} answers"


def test_examples_are_members_that_use_the_label():
    texts = answers_to("understood")
    for theme in themes_of(texts):
        assert 1 <= len(theme.representatives) <= 3
        assert set(theme.representatives) <= set(theme.members)
        if theme.kind == TOPIC:
            assert evaluation.uses_label(theme.label, texts[theme.representatives[0]]), theme.label


def test_clustering_is_deterministic():
    texts = answers_to("curious")
    vectors = embed(texts)
    first = [(t.label, t.members) for t in find_themes(texts, vectors)]
    assert first == [(t.label, t.members) for t in find_themes(texts, vectors)]


def test_a_comment_after_nothing_unclear_files_the_answer_under_the_theme_it_names():
    texts = [
        "the magnets demo", "the demo with the magnets", "magnets demo was cool", "why the magnets demo worked",
        "Nothing was confusing. The magnets demo was great", "Nothing. I got clarification on UDFs", "Nothing",
        "All good",
    ]
    themes = themes_of(texts)
    demo = next(theme for theme in themes if theme.kind == TOPIC)
    assert demo.members == [0, 1, 2, 3, 4]
    assert next(theme for theme in themes if theme.kind == ALL_CLEAR).members == [5, 6, 7]
