"""Everything that changes reflections: the window, answers, theme computations and the staff's edits.

How the staff's edits survive a recomputation (new answers regroup the whole prompt):
- an answer moved by hand is *pinned*: no recomputation moves it again;
- a theme renamed by hand keeps its label (`label_locked`); an empty name gives the
  label back to the clustering;
- a theme answers were merged into is *curated*: its answers are pinned, and every new
  cluster made mostly of its answers is folded into it rather than splitting it again;
- a new cluster that is mostly made of an existing theme's answers *is* that theme: it
  keeps the theme's id, label, "addressed" mark and note, and its replies stay with their
  answers; an uncurated theme is matched by at most one cluster (the largest overlap),
  so a theme that the class's new answers split in two really splits;
- a theme that ends up with no answers is deleted, unless the staff touched it (renamed,
  curated, addressed or annotated): then it is kept, empty, with its note.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from attentive.jobs import DurableJob
from attentive.refusals import Refused

from . import clustering
from .csvfiles import AnswerRow
from .models import (
    ReflectionAnswer,
    ReflectionPrompt,
    ReflectionReceipt,
    ReflectionWindow,
    Theme,
    ThemeComputation,
)

log = logging.getLogger(__name__)

MAX_ANSWER_LENGTH = 2000
# A run whose worker has not reported for this long is presumed dead and started again.
STALE_RUN = timedelta(minutes=5)
# A scheduled run whose message has not started it this long after it was due is re-sent.
LOST_MESSAGE = timedelta(minutes=2)
MAX_ATTEMPTS = 3


def _compute_themes_task():
    from .tasks import compute_themes

    return compute_themes


# A theme computation is a durable job (attentive/jobs.py): scheduled -> running, rung for after
# commit, claimed by a conditional update, kept alive by its progress reports, taken back by the sweep.
THEME_COMPUTATIONS = DurableJob(
    name="theme computation of prompt", model=ThemeComputation, task=_compute_themes_task, key="prompt_id",
    state="state", waiting=ThemeComputation.State.SCHEDULED, running=ThemeComputation.State.RUNNING,
    rung_at="run_after",
)


class ReflectionRefused(Refused):
    """Students may not answer now; the message says why."""


class InvalidWindow(ValueError):
    pass


def theme_delay_seconds() -> int:
    return getattr(settings, "REFLECTIONS_THEME_DELAY_SECONDS", 15)


# The window ---------------------------------------------------------------------------------


def window_of(lesson) -> ReflectionWindow:
    """The lesson's window; an unsaved, never-opened one if the instructor has not touched it."""
    return ReflectionWindow.objects.filter(lesson=lesson).first() or ReflectionWindow(lesson=lesson)


def open_window(lesson, *, by, closes_at: datetime | None = None) -> ReflectionWindow:
    now = timezone.now()
    if closes_at is not None and closes_at <= now:
        raise InvalidWindow("The closing time is in the past: choose a later time, or none.")
    window = window_of(lesson)
    window.opens_at, window.closes_at, window.updated_by = now, closes_at, by
    window.save()
    return window


def close_window(lesson, *, by) -> ReflectionWindow:
    window = window_of(lesson)
    state = window.state()
    if state == ReflectionWindow.State.OPEN:
        window.closes_at = timezone.now()
    elif state == ReflectionWindow.State.SCHEDULED:
        window.opens_at = window.closes_at = None  # cancel the planned opening
    window.updated_by = by
    window.save()
    return window


def schedule_window(lesson, *, by, opens_at: datetime, closes_at: datetime | None) -> ReflectionWindow:
    if closes_at is not None and closes_at <= opens_at:
        raise InvalidWindow("The reflection must close after it opens.")
    if closes_at is not None and closes_at <= timezone.now():
        raise InvalidWindow("The closing time is in the past: choose a later time, or none.")
    window = window_of(lesson)
    window.opens_at, window.closes_at, window.updated_by = opens_at, closes_at, by
    window.save()
    return window


# Answers ------------------------------------------------------------------------------------


def active_prompts(lesson):
    return ReflectionPrompt.objects.filter(lesson=lesson, archived=False).order_by("position", "id")


def answers_of(lesson, user) -> dict[int, ReflectionAnswer]:
    """The user's own answers to the lesson's prompts, by prompt id."""
    prompts = list(active_prompts(lesson))
    keys = [prompt.author_key(user) for prompt in prompts]
    found = ReflectionAnswer.objects.filter(prompt__in=prompts, author_key__in=keys).select_related("replied_by")
    return {answer.prompt_id: answer for answer in found}


@dataclass
class SaveReport:
    saved: int = 0
    removed: int = 0
    unchanged: int = 0


def save_reflection(lesson, student, texts: dict[int, str]) -> SaveReport:
    """Create, update or remove the student's answers (texts by prompt id) while the window is open."""
    window = window_of(lesson)
    if not window.is_open():
        raise ReflectionRefused(closed_message(window))
    report = SaveReport()
    changed_prompts = []
    with transaction.atomic():
        for prompt in active_prompts(lesson):
            if prompt.pk not in texts:
                continue
            text = texts[prompt.pk].strip()[:MAX_ANSWER_LENGTH]
            key = prompt.author_key(student)
            answer = ReflectionAnswer.objects.filter(prompt=prompt, author_key=key).first()
            named = None if prompt.anonymous else student
            if not text:
                if answer is not None:
                    answer.delete()
                    report.removed += 1
                    changed_prompts.append(prompt)
                continue
            if answer is None:
                ReflectionAnswer.objects.create(prompt=prompt, author_key=key, student=named, text=text)
            elif answer.text != text or answer.student_id != (named.pk if named else None):
                answer.text, answer.student, answer.embedding = text, named, None
                answer.save(update_fields=["text", "student", "embedding", "updated_at"])
            else:
                report.unchanged += 1
                continue
            report.saved += 1
            changed_prompts.append(prompt)
        has_answers = bool(answers_of(lesson, student))
        if has_answers:
            ReflectionReceipt.objects.get_or_create(lesson=lesson, student=student)
        else:
            ReflectionReceipt.objects.filter(lesson=lesson, student=student).delete()
        for prompt in changed_prompts:
            request_theme_update(prompt)
    return report


def closed_message(window: ReflectionWindow) -> str:
    state = window.state()
    if state == ReflectionWindow.State.SCHEDULED:
        when = timezone.localtime(window.opens_at).strftime("%d %b %Y, %H:%M")
        return f"The reflection opens on {when}."
    if state == ReflectionWindow.State.CLOSED:
        return "The reflection is closed: your instructor is reading the answers. Yours are kept below."
    return "The reflection is not open. Your instructor opens it at the end of the lesson."


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    empty_rows: int = 0
    names_dropped: bool = False


def import_answers(prompt: ReflectionPrompt, rows: list[AnswerRow], *, empty_rows: int = 0) -> ImportReport:
    """Add answers collected elsewhere; importing the same file twice adds nothing the second time."""
    report = ImportReport(empty_rows=empty_rows)
    with transaction.atomic():
        existing = set(
            prompt.answers.filter(source=ReflectionAnswer.Source.IMPORT).values_list("text", "respondent")
        )
        new = []
        for row in rows:
            name = "" if prompt.anonymous else row.name[:200]
            report.names_dropped |= prompt.anonymous and bool(row.name)
            text = row.text[:MAX_ANSWER_LENGTH]
            if (text, name) in existing:
                report.duplicates += 1
                continue
            existing.add((text, name))
            new.append(
                ReflectionAnswer(prompt=prompt, source=ReflectionAnswer.Source.IMPORT, text=text, respondent=name)
            )
        ReflectionAnswer.objects.bulk_create(new)
        report.created = len(new)
        if new:
            request_theme_update(prompt, delay=0)
    return report


# Theme computations -------------------------------------------------------------------------


def request_theme_update(prompt: ReflectionPrompt, *, delay: int | None = None) -> None:
    """Ask for the prompt's themes to be recomputed, once, `delay` seconds after the commit.

    Debounced: while a run is scheduled, more answers change nothing (the run will read
    them); while one is running, it is asked to run again when it is done. If the broker is
    unreachable, the student's answer is saved all the same and the sweep starts the run later.
    """
    delay = theme_delay_seconds() if delay is None else delay
    run_after = timezone.now() + timedelta(seconds=delay)
    computation, _ = ThemeComputation.objects.get_or_create(prompt=prompt)
    idle = (ThemeComputation.State.IDLE, ThemeComputation.State.FAILED)
    scheduled = ThemeComputation.objects.filter(pk=computation.pk, state__in=idle).update(
        state=ThemeComputation.State.SCHEDULED, run_after=run_after, attempts=0, error="", stage="", done=0, total=0
    )
    if scheduled:
        THEME_COMPUTATIONS.ring_after_commit(prompt.pk, countdown=delay)
        return
    ThemeComputation.objects.filter(pk=computation.pk, state=ThemeComputation.State.RUNNING).update(
        rerun_requested=True
    )


def _report(prompt_id: int, stage: str, done: int = 0, total: int = 0) -> None:
    THEME_COMPUTATIONS.beat(prompt_id, stage=stage, done=done, total=total)


def run_theme_computation(prompt_id: int) -> bool:
    """Claim the prompt's scheduled run and do it; False if there was nothing to claim."""
    now = timezone.now()
    if not THEME_COMPUTATIONS.claim(
        prompt_id, now=now, started_at=now, rerun_requested=False, stage="Starting", done=0, total=0, error=""
    ):
        return False
    try:
        _compute(prompt_id)
    except Exception as error:
        log.exception("theme computation for prompt %s failed", prompt_id)
        ThemeComputation.objects.filter(prompt_id=prompt_id).update(
            state=ThemeComputation.State.FAILED, stage="", finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:1000],
        )
        return True
    running = ThemeComputation.objects.filter(prompt_id=prompt_id, state=ThemeComputation.State.RUNNING)
    done = {"state": ThemeComputation.State.IDLE, "stage": "", "finished_at": timezone.now(),
            "version": F("version") + 1, "rerun_requested": False}
    if not running.filter(rerun_requested=False).update(**done):
        # Answers arrived while it ran: go round again (they were not in this run).
        running.update(**done)
        request_theme_update(ReflectionPrompt.objects.get(pk=prompt_id))
    return True


def _compute(prompt_id: int) -> None:
    from .embeddings import embed, load_embedding_model

    prompt = ReflectionPrompt.objects.get(pk=prompt_id)
    answers = list(prompt.answers.order_by("id").only("id", "text", "embedding"))
    missing = [answer for answer in answers if answer.embedding is None]
    if missing:
        _report(prompt_id, "Loading the language model")
        load_embedding_model()
        _report(prompt_id, "Reading the answers", 0, len(missing))
        vectors = embed(
            [answer.text for answer in missing],
            progress=lambda done, total: _report(prompt_id, "Reading the answers", done, total),
        )
        for answer, vector in zip(missing, vectors, strict=True):
            answer.embedding = vector.tobytes()
            # Only if the text is still the one embedded: an edit meanwhile waits for the next run.
            ReflectionAnswer.objects.filter(pk=answer.pk, text=answer.text).update(embedding=answer.embedding)
    _report(prompt_id, "Grouping the answers into themes", len(answers), len(answers))
    texts = [answer.text for answer in answers]
    matrix = (
        np.vstack([answer.embedding_vector() for answer in answers])
        if answers else np.zeros((0, 384), dtype=np.float32)
    )
    found = clustering.find_themes(texts, matrix)
    with transaction.atomic():
        apply_clustering(prompt, [answer.pk for answer in answers], found)


def apply_clustering(prompt: ReflectionPrompt, answer_ids: list[int], found: list[clustering.FoundTheme]) -> None:
    """Turn a clustering of `answer_ids` into themes, keeping the staff's edits (see the module doc).

    A topic cluster only ever becomes a topic theme; the "Nothing unclear" and "Other" clusters
    become the prompt's one theme of that kind, whatever answers it held before.
    """
    ReflectionPrompt.objects.select_for_update().filter(pk=prompt.pk).first()
    current = {answer.pk: answer for answer in prompt.answers.only("id", "theme_id", "pinned")}
    themes = {theme.pk: theme for theme in prompt.themes.all()}
    clusters = [[answer_ids[index] for index in theme.members if answer_ids[index] in current] for theme in found]
    special = {theme.kind: theme.pk for theme in sorted(themes.values(), key=lambda theme: -theme.pk)
               if theme.kind != Theme.Kind.TOPIC}

    proposals = []
    mapping: dict[int, int] = {}
    for number, members in enumerate(clusters):
        if found[number].kind != Theme.Kind.TOPIC:
            if found[number].kind in special:
                mapping[number] = special[found[number].kind]
            continue
        themed = [current[pk].theme_id for pk in members
                  if current[pk].theme_id in themes and themes[current[pk].theme_id].is_topic]
        if themed:
            theme_id, overlap = Counter(themed).most_common(1)[0]
            if 2 * overlap >= len(themed):
                proposals.append((overlap, number, theme_id))
    taken: set[int] = set()
    for _overlap, number, theme_id in sorted(proposals, key=lambda proposal: (-proposal[0], proposal[1])):
        if themes[theme_id].curated or theme_id not in taken:
            mapping[number] = theme_id
            taken.add(theme_id)
    for number, members in enumerate(clusters):
        if number not in mapping and any(not current[pk].pinned for pk in members):
            theme = Theme.objects.create(prompt=prompt, kind=found[number].kind, label=found[number].label[:120])
            themes[theme.pk] = theme
            mapping[number] = theme.pk
    for number, members in enumerate(clusters):
        target = mapping.get(number)
        movable = [pk for pk in members if not current[pk].pinned and current[pk].theme_id != target]
        if movable:
            ReflectionAnswer.objects.filter(pk__in=movable).update(theme_id=target)
    refresh_themes(prompt)


FIXED_LABELS = {Theme.Kind.ALL_CLEAR: clustering.ALL_CLEAR_LABEL, Theme.Kind.OTHER: clustering.OTHER_LABEL}


def refresh_themes(prompt: ReflectionPrompt, only: list[Theme] | None = None) -> None:
    """Recompute labels (unless locked), representatives and centroids; drop empty untouched themes."""
    answers = list(prompt.answers.only("id", "text", "theme_id", "embedding"))
    everywhere = clustering.term_frequency([answer.text for answer in answers])
    by_theme: dict[int, list[ReflectionAnswer]] = {}
    for answer in answers:
        by_theme.setdefault(answer.theme_id, []).append(answer)
    for theme in only if only is not None else list(prompt.themes.all()):
        members = by_theme.get(theme.pk, [])
        if not members:
            if theme.touched_by_staff:
                theme.representative_ids, theme.centroid = [], None
                theme.save(update_fields=["representative_ids", "centroid", "updated_at"])
            else:
                theme.delete()
            continue
        label, typical = clustering.describe([answer.text for answer in members], everywhere)
        label = FIXED_LABELS.get(theme.kind, label)
        typical_ids = {members[index].pk for index in typical} if theme.is_topic else set()
        embedded = [answer for answer in members if answer.embedding is not None]
        if embedded:
            matrix = np.vstack([answer.embedding_vector() for answer in embedded])
            texts = [answer.text for answer in embedded]
            picks = clustering.representatives(
                list(range(len(embedded))), matrix, texts,
                typical=[index for index, answer in enumerate(embedded) if answer.pk in typical_ids],
            )
            theme.representative_ids = [embedded[index].pk for index in picks]
            theme.centroid = clustering.unit_mean(matrix).tobytes()
        else:
            theme.representative_ids = [answer.pk for answer in members[: clustering.REPRESENTATIVES]]
            theme.centroid = None
        if not theme.label_locked:
            theme.label = label[:120]
        theme.save(update_fields=["representative_ids", "centroid", "label", "updated_at"])


def sweep_theme_computations() -> int:
    """Re-enqueue runs whose message was lost or whose worker died; fail them after MAX_ATTEMPTS."""
    now = timezone.now()
    resent = 0
    for computation in THEME_COMPUTATIONS.overdue(now, LOST_MESSAGE):
        THEME_COMPUTATIONS.ring(computation.prompt_id)
        resent += 1
    for computation in THEME_COMPUTATIONS.stale(now, STALE_RUN):
        if computation.attempts >= MAX_ATTEMPTS:
            THEME_COMPUTATIONS.claimed(computation.prompt_id).update(
                state=ThemeComputation.State.FAILED, stage="", finished_at=now,
                error=f"the computation stopped without finishing {computation.attempts} times; "
                "use “Recompute themes” to try again",
            )
            continue
        if THEME_COMPUTATIONS.take_back(computation.prompt_id, computation.attempts, now):
            THEME_COMPUTATIONS.ring(computation.prompt_id)
            resent += 1
    return resent


# The staff's edits --------------------------------------------------------------------------


def _locked_prompt(prompt: ReflectionPrompt) -> None:
    ReflectionPrompt.objects.select_for_update().filter(pk=prompt.pk).first()


@transaction.atomic
def move_answer(answer: ReflectionAnswer, target: Theme | None) -> Theme:
    """Put the answer in `target` (or in a new theme of its own when None) and pin it there."""
    _locked_prompt(answer.prompt)
    previous = answer.theme
    if target is None:
        label = clustering.key_phrase_label([answer.text], [answer.text])
        target = Theme.objects.create(prompt=answer.prompt, label=label[:120], curated=True)
    answer.theme, answer.pinned = target, True
    answer.save(update_fields=["theme", "pinned", "updated_at"])
    refresh_themes(answer.prompt, [theme for theme in (previous, target) if theme is not None])
    return target


@transaction.atomic
def merge_themes(source: Theme, target: Theme) -> Theme:
    """Fold `source` into `target`: its answers are pinned there and the source is deleted."""
    if source.pk == target.pk or source.prompt_id != target.prompt_id:
        raise ValueError("a theme can only be merged into another theme of the same prompt")
    _locked_prompt(target.prompt)
    source.answers.update(theme=target, pinned=True)
    target.answers.update(pinned=True)
    notes = [note for note in (target.addressed_note, source.addressed_note) if note]
    target.addressed_note = "\n".join(dict.fromkeys(notes))
    target.curated = True
    target.save(update_fields=["addressed_note", "curated", "updated_at"])
    source.delete()
    refresh_themes(target.prompt, [target])
    return target


@transaction.atomic
def rename_theme(theme: Theme, label: str) -> Theme:
    """A new label that recomputations keep; an empty one hands the label back to the clustering."""
    _locked_prompt(theme.prompt)  # not while a recomputation is saving labels
    label = " ".join(label.split())[:120]
    if label:
        theme.label, theme.label_locked = label, True
        theme.save(update_fields=["label", "label_locked", "updated_at"])
    else:
        theme.label_locked = False
        theme.save(update_fields=["label_locked", "updated_at"])
        refresh_themes(theme.prompt, [theme])
    return theme


@transaction.atomic
def mark_addressed(theme: Theme, *, by, note: str) -> Theme:
    _locked_prompt(theme.prompt)  # a recomputation must not delete it as untouched meanwhile
    theme.addressed_at, theme.addressed_by, theme.addressed_note = timezone.now(), by, note.strip()[:2000]
    theme.save(update_fields=["addressed_at", "addressed_by", "addressed_note", "updated_at"])
    return theme


@transaction.atomic
def reopen_theme(theme: Theme) -> Theme:
    _locked_prompt(theme.prompt)
    theme.addressed_at = None
    theme.save(update_fields=["addressed_at", "updated_at"])
    return theme


def reply_to(answer: ReflectionAnswer, *, by, text: str) -> ReflectionAnswer:
    """Reply to the answer's author (who may be anonymous); an empty reply removes it."""
    text = text.strip()[:MAX_ANSWER_LENGTH]
    answer.reply = text
    answer.replied_by = by if text else None
    answer.replied_at = timezone.now() if text else None
    answer.save(update_fields=["reply", "replied_by", "replied_at", "updated_at"])
    return answer
