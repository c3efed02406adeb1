"""Theme computations: debounced, claimed once, with progress; recomputing keeps the staff's edits."""

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from reflections import services
from reflections.clustering import FoundTheme
from reflections.models import ReflectionAnswer, Theme, ThemeComputation

STRUGGLES = {
    "teacher forcing": [
        "Teacher forcing: why feed the true previous word to the decoder during training?",
        "I don't get teacher forcing and why the labels are shifted by one",
        "why the decoder gets the ground truth tokens in training (teacher forcing)",
        "teacher forcing vs feeding back our own predictions",
    ],
    "cross-entropy": [
        "The cross-entropy loss formula with the minus log",
        "why the cross entropy only keeps the log probability of the correct class",
        "the cross-entropy exercise: does the loss go up when z2 grows?",
        "how the token-wise cross entropy losses are summed",
    ],
    "tokenization": [
        "How the tokenizer decides to split teacher into tea and cher",
        "subword tokenization and where the token ids come from",
        "why tokenizers split words into subwords instead of whole words",
        "the vocabulary of the tokenizer, how is it built",
    ],
}


def add(prompt, texts):
    return [ReflectionAnswer.objects.create(prompt=prompt, text=text) for text in texts]


def run(prompt):
    services.request_theme_update(prompt, delay=0)
    assert services.run_theme_computation(prompt.pk)


@pytest.fixture
def struggles(prompts):
    return {topic: add(prompts.struggled, texts) for topic, texts in STRUGGLES.items()}


def topic_of(answer, struggles):
    return next(topic for topic, answers in struggles.items() if answer.pk in {a.pk for a in answers})


def test_a_computation_groups_the_answers_and_reports_progress(prompts, struggles):
    run(prompts.struggled)
    computation = ThemeComputation.objects.get(prompt=prompts.struggled)
    assert computation.state == "idle"
    assert computation.version == 1
    assert computation.attempts == 1
    assert computation.done == computation.total == 12
    assert not ReflectionAnswer.objects.filter(prompt=prompts.struggled, theme=None).exists()
    assert not ReflectionAnswer.objects.filter(prompt=prompts.struggled, embedding=None).exists()
    themes = list(Theme.objects.filter(prompt=prompts.struggled))
    assert len(themes) == 3
    for theme in themes:
        # An answer that names two topics ("the ground truth tokens ... (teacher forcing)") may
        # go with either; most of a theme's answers are about one topic.
        topics = Counter(topic_of(answer, struggles) for answer in theme.answers.all())
        assert 2 * topics.most_common(1)[0][1] > theme.answers.count(), f"{theme.label}: {topics}"
        assert theme.label
        assert theme.centroid_vector().shape == (384,)
        assert 1 <= len(theme.representative_ids) <= 3


def test_a_recomputation_embeds_only_the_answers_that_are_new_or_edited(prompts, struggles, monkeypatch):
    from reflections import embeddings

    run(prompts.struggled)
    embedded = []
    real_embed = embeddings.embed

    def recording_embed(texts, progress=None):
        embedded.extend(texts)
        return real_embed(texts, progress)

    monkeypatch.setattr(embeddings, "embed", recording_embed)
    new = add(prompts.struggled, ["what the decoder start token is for"])[0]
    edited = struggles["tokenization"][0]
    edited.text, edited.embedding = "how the tokenizer decides where to split a word", None
    edited.save()
    run(prompts.struggled)
    assert sorted(embedded) == sorted([new.text, edited.text])
    embedded.clear()
    run(prompts.struggled)  # the instructor asks again, nothing changed: nothing to embed
    assert embedded == []
    assert not ReflectionAnswer.objects.filter(prompt=prompts.struggled, embedding=None).exists()


def test_new_answers_are_debounced_into_one_run(prompts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.request_theme_update(prompts.struggled)
        services.request_theme_update(prompts.struggled)
        services.request_theme_update(prompts.struggled)
    assert len(callbacks) == 1
    computation = ThemeComputation.objects.get(prompt=prompts.struggled)
    assert computation.state == "scheduled"
    assert computation.run_after > timezone.now() + timedelta(seconds=5)


def test_answers_arriving_during_a_run_cause_one_more_run(prompts, struggles, monkeypatch):
    original = services.clustering.find_themes

    def find_themes_while_a_student_answers(texts, vectors):
        add(prompts.struggled, ["what is the decoder start token for?"])
        services.request_theme_update(prompts.struggled)
        return original(texts, vectors)

    monkeypatch.setattr(services.clustering, "find_themes", find_themes_while_a_student_answers)
    services.request_theme_update(prompts.struggled, delay=0)
    services.run_theme_computation(prompts.struggled.pk)
    computation = ThemeComputation.objects.get(prompt=prompts.struggled)
    assert computation.state == "scheduled"
    assert computation.version == 1
    assert ReflectionAnswer.objects.filter(prompt=prompts.struggled, theme=None).count() == 1
    monkeypatch.setattr(services.clustering, "find_themes", original)
    assert services.run_theme_computation(prompts.struggled.pk)
    assert not ReflectionAnswer.objects.filter(prompt=prompts.struggled, theme=None).exists()


def test_a_run_is_claimed_only_once(prompts, struggles):
    services.request_theme_update(prompts.struggled, delay=0)
    assert services.run_theme_computation(prompts.struggled.pk)
    assert not services.run_theme_computation(prompts.struggled.pk)  # a second delivery of the message
    assert ThemeComputation.objects.get(prompt=prompts.struggled).version == 1


def test_a_failure_is_recorded_with_its_reason_and_a_new_answer_retries(prompts, struggles, monkeypatch):
    def broken(texts, vectors):
        raise ValueError("the clustering broke")

    monkeypatch.setattr(services.clustering, "find_themes", broken)
    services.request_theme_update(prompts.struggled, delay=0)
    services.run_theme_computation(prompts.struggled.pk)
    computation = ThemeComputation.objects.get(prompt=prompts.struggled)
    assert computation.state == "failed"
    assert "the clustering broke" in computation.error
    services.request_theme_update(prompts.struggled)
    assert ThemeComputation.objects.get(prompt=prompts.struggled).state == "scheduled"


def test_the_sweeper_resends_lost_messages_and_restarts_dead_runs(prompts, monkeypatch):
    sent = []
    monkeypatch.setattr("reflections.tasks.compute_themes.delay", lambda prompt_id: sent.append(prompt_id))
    long_ago = timezone.now() - timedelta(minutes=30)
    ThemeComputation.objects.create(prompt=prompts.understood, state="scheduled", run_after=long_ago)
    ThemeComputation.objects.create(prompt=prompts.struggled, state="running", heartbeat_at=long_ago, attempts=1)
    ThemeComputation.objects.create(prompt=prompts.curious, state="running", heartbeat_at=long_ago, attempts=3)
    assert services.sweep_theme_computations() == 2
    assert sorted(sent) == sorted([prompts.understood.pk, prompts.struggled.pk])
    assert ThemeComputation.objects.get(prompt=prompts.struggled).state == "scheduled"
    dead = ThemeComputation.objects.get(prompt=prompts.curious)
    assert dead.state == "failed"
    assert "Recompute themes" in dead.error


def test_the_celery_task_runs_the_computation(prompts, struggles, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_theme_update(prompts.struggled)
    assert ThemeComputation.objects.get(prompt=prompts.struggled).version == 1
    assert Theme.objects.filter(prompt=prompts.struggled).exists()


# How the staff's edits survive a recomputation (see reflections/services.py) ------------------


def found(prompt, groups: list[list[ReflectionAnswer]]) -> tuple[list[int], list[FoundTheme]]:
    """A clustering, written by hand, of all the prompt's answers."""
    answers = list(prompt.answers.order_by("id"))
    index = {answer.pk: number for number, answer in enumerate(answers)}
    themes = [FoundTheme(f"cluster {n}", [index[a.pk] for a in group], [], np.zeros(384, np.float32))
              for n, group in enumerate(groups)]
    return [answer.pk for answer in answers], themes


def apply(prompt, groups):
    ids, themes = found(prompt, groups)
    services.apply_clustering(prompt, ids, themes)


@pytest.fixture
def themed(prompts, struggles):
    apply(prompts.struggled, list(struggles.values()))
    return {topic: ReflectionAnswer.objects.get(pk=answers[0].pk).theme for topic, answers in struggles.items()}


def test_a_renamed_theme_keeps_its_name_and_id(prompts, struggles, themed):
    services.rename_theme(themed["cross-entropy"], "Cross-entropy (revisit)")
    apply(prompts.struggled, list(struggles.values()))
    again = ReflectionAnswer.objects.get(pk=struggles["cross-entropy"][0].pk).theme
    assert again.pk == themed["cross-entropy"].pk
    assert again.label == "Cross-entropy (revisit)"


def test_an_addressed_theme_keeps_its_mark_and_note(prompts, struggles, themed):
    services.mark_addressed(themed["tokenization"], by=None, note="revisit at the start of lesson 2")
    apply(prompts.struggled, list(struggles.values()))
    theme = Theme.objects.get(pk=themed["tokenization"].pk)
    assert theme.addressed
    assert theme.addressed_note == "revisit at the start of lesson 2"
    assert theme.answers.count() == 4


def test_an_answer_moved_by_hand_stays_where_it_was_put(prompts, struggles, themed):
    moved = struggles["tokenization"][3]
    services.move_answer(moved, themed["teacher forcing"])
    apply(prompts.struggled, list(struggles.values()))  # the clustering still puts it with tokenization
    moved.refresh_from_db()
    assert moved.pinned
    assert moved.theme_id == themed["teacher forcing"].pk


def test_a_merge_survives_and_new_similar_answers_join_the_merged_theme(prompts, struggles, themed):
    services.merge_themes(themed["tokenization"], themed["cross-entropy"])
    assert not Theme.objects.filter(pk=themed["tokenization"].pk).exists()
    newcomer = add(prompts.struggled, ["what is a token id"])[0]
    # The clustering splits them again, the newcomer with the tokenization answers.
    apply(prompts.struggled, [struggles["teacher forcing"], struggles["cross-entropy"],
                              [*struggles["tokenization"], newcomer]])
    merged = Theme.objects.get(pk=themed["cross-entropy"].pk)
    assert merged.answers.count() == 9
    newcomer.refresh_from_db()
    assert newcomer.theme_id == merged.pk
    assert not newcomer.pinned
    assert Theme.objects.filter(prompt=prompts.struggled).count() == 2


def test_an_untouched_theme_that_the_class_splits_really_splits(prompts, struggles, themed):
    tf = struggles["teacher forcing"]
    apply(prompts.struggled, [tf[:2], tf[2:], struggles["cross-entropy"], struggles["tokenization"]])
    assert Theme.objects.filter(prompt=prompts.struggled).count() == 4
    first, second = (ReflectionAnswer.objects.get(pk=a.pk).theme_id for a in (tf[0], tf[2]))
    assert themed["teacher forcing"].pk in (first, second)
    assert first != second


def test_empty_themes_go_unless_the_staff_touched_them(prompts, struggles, themed):
    services.mark_addressed(themed["cross-entropy"], by=None, note="done in lesson 2")
    tf, ce, tok = struggles.values()
    apply(prompts.struggled, [[*tf, *ce[:2]], [*ce[2:], *tok]])
    # Each cluster takes over the theme holding most of its answers: cross-entropy is emptied…
    assert set(Theme.objects.filter(prompt=prompts.struggled).values_list("pk", flat=True)) == {
        themed["teacher forcing"].pk, themed["tokenization"].pk, themed["cross-entropy"].pk}
    # …and kept, with its note, only because the staff addressed it.
    kept = Theme.objects.get(pk=themed["cross-entropy"].pk)
    assert kept.answers.count() == 0
    assert kept.addressed_note == "done in lesson 2"
    services.reopen_theme(kept)
    Theme.objects.filter(pk=kept.pk).update(addressed_note="")
    apply(prompts.struggled, [[*tf, *ce[:2]], [*ce[2:], *tok]])
    assert not Theme.objects.filter(pk=kept.pk).exists()


def test_moving_an_answer_to_a_theme_of_its_own(prompts, struggles, themed):
    answer = struggles["cross-entropy"][2]
    theme = services.move_answer(answer, None)
    assert theme.curated
    assert theme.answers.get() == answer
    assert theme.label


def test_clearing_a_name_hands_it_back_to_the_clustering(prompts, struggles, themed):
    theme = services.rename_theme(themed["cross-entropy"], "Mine")
    theme = services.rename_theme(theme, "   ")
    assert not theme.label_locked
    assert theme.label != "Mine"


# "Nothing unclear" and "Other" ----------------------------------------------------------------


def apply_with_kinds(prompt, groups: list[tuple[str, list[ReflectionAnswer]]]):
    ids, themes = found(prompt, [group for _, group in groups])
    for theme, (kind, _) in zip(themes, groups, strict=True):
        theme.kind = kind
    services.apply_clustering(prompt, ids, themes)


def test_other_and_nothing_unclear_are_one_theme_each_with_their_own_names(prompts, struggles):
    topics = list(struggles.values())
    nothing = add(prompts.struggled, ["Nothing", "N/A"])
    apply_with_kinds(prompts.struggled, [("topic", topics[0]), ("topic", topics[1]), ("all_clear", nothing),
                                         ("other", topics[2])])
    other = Theme.objects.get(prompt=prompts.struggled, kind="other")
    all_clear = Theme.objects.get(prompt=prompts.struggled, kind="all_clear")
    assert other.label == "Other"
    assert all_clear.label == "Nothing unclear / all clear"
    assert {answer.pk for answer in all_clear.answers.all()} == {answer.pk for answer in nothing}
    assert set(other.representative_ids) <= {answer.pk for answer in topics[2]}


def test_a_recomputation_keeps_the_other_theme_and_never_turns_a_topic_into_it(prompts, struggles):
    topics = list(struggles.values())
    apply_with_kinds(prompts.struggled, [("topic", topics[0]), ("other", topics[1] + topics[2])])
    other = Theme.objects.get(prompt=prompts.struggled, kind="other")
    # The class's new answers make a topic of most of what was "Other", and "Other" shrinks.
    apply_with_kinds(prompts.struggled, [("topic", topics[0]), ("topic", topics[1] + topics[2][:3]),
                                         ("other", topics[2][3:])])
    assert Theme.objects.filter(prompt=prompts.struggled, kind="other").get().pk == other.pk
    assert set(other.answers.values_list("pk", flat=True)) == {topics[2][3].pk}
    new_topic = ReflectionAnswer.objects.get(pk=topics[1][0].pk).theme
    assert new_topic.kind == "topic"
    assert new_topic.pk != other.pk
    assert new_topic.label != "Other"
