"""What students and staff do to exercises: submit under the exercise's policies, keep drafts,
override scores, review answers graded by a person, regrade."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from attentive.refusals import Refused
from courses.models import Membership
from courses.text import normalized_line_endings
from graders.questions import Review, ReviewError, apply_review
from graders.spec import questions_spec

from . import grading
from .models import Draft, Exercise, Regrade, Submission
from .signals import send_submission_changed

MAX_ANSWER_CHARS = 100_000


class SubmissionRefused(Refused):
    """The submission was not accepted; the message tells the student why and what to do."""


@dataclass
class AttemptsLeft:
    used: int
    limit: int | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def normalize_answer(exercise: Exercise, answer: str) -> str:
    answer = normalized_line_endings(answer)
    if exercise.kind == Exercise.Kind.QUESTIONS:
        try:
            parts = json.loads(answer)
        except json.JSONDecodeError:
            raise SubmissionRefused("The answers could not be read. Reload the page and try again.") from None
        if not isinstance(parts, dict) or not all(_is_part_answer(value) for value in parts.values()):
            raise SubmissionRefused("The answers could not be read. Reload the page and try again.")
    return answer


def _is_part_answer(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def attempts_used(exercise: Exercise, user) -> int:
    """Submissions that count against the limit: those that failed on our side do not."""
    return (
        Submission.objects.filter(exercise=exercise, user=user, is_staff_test=False)
        .exclude(status=Submission.Status.ERROR)
        .count()
    )


def submit(user, exercise: Exercise, answer: str, *, staff_test: bool = False, now: datetime | None = None
           ) -> Submission:
    """Accept a submission under the exercise's policies and queue it for grading."""
    now = now or timezone.now()
    answer = normalized_line_endings(answer)
    if not answer.strip():
        raise SubmissionRefused("Your answer is empty.")
    if len(answer) > MAX_ANSWER_CHARS:
        raise SubmissionRefused(
            f"Your answer is {len(answer):,} characters long and the limit is {MAX_ANSWER_CHARS:,}: "
            "shorten it (long comments or pasted data are the usual cause) and submit again."
        )
    answer = normalize_answer(exercise, answer)
    with transaction.atomic():
        # One submission at a time per student and course, so two quick clicks cannot both
        # slip under the attempt limit or the cooldown.
        Membership.objects.select_for_update().filter(user=user, course_id=exercise.course_id).first()
        previous = Submission.objects.filter(exercise=exercise, user=user)
        if not staff_test:
            check_policies(exercise, user, now)
        number = (previous.aggregate(Max("number"))["number__max"] or 0) + 1
        submission = Submission.objects.create(
            exercise=exercise,
            user=user,
            number=number,
            answer=answer,
            submitted_at=now,
            enqueued_at=now,
            credit=1.0 if staff_test else exercise.credit_at(now),
            is_staff_test=staff_test,
        )
        Draft.objects.filter(exercise=exercise, user=user).delete()
        grading.enqueue(submission)
    return submission


def check_policies(exercise: Exercise, user, now: datetime) -> None:
    used = attempts_used(exercise, user)
    if exercise.max_attempts is not None and used >= exercise.max_attempts:
        raise SubmissionRefused(
            f"You have used all {exercise.max_attempts} attempts for this exercise."
        )
    if exercise.cooldown_seconds:
        last = (
            Submission.objects.filter(exercise=exercise, user=user, is_staff_test=False)
            .exclude(status=Submission.Status.ERROR)
            .order_by("-submitted_at")
            .first()
        )
        if last is not None:
            waited = (now - last.submitted_at).total_seconds()
            if waited < exercise.cooldown_seconds:
                wait = math.ceil(exercise.cooldown_seconds - waited)
                raise SubmissionRefused(
                    f"Wait {wait} s before submitting again: this exercise allows one attempt every "
                    f"{exercise.cooldown_seconds} s, so that the grader is a check and not an oracle."
                )


def counted_submission(exercise: Exercise, user) -> Submission | None:
    """The submission whose score counts for the gradebook: the best or the last graded one."""
    graded = Submission.objects.filter(
        exercise=exercise, user=user, is_staff_test=False, status=Submission.Status.GRADED
    ).order_by("-submitted_at", "-id")
    if exercise.score_policy == Exercise.ScorePolicy.LAST:
        return graded.first()
    return best_of(list(graded))


def best_of(submissions: list[Submission]) -> Submission | None:
    scored = [s for s in submissions if s.final_score is not None]
    # max() keeps the first of equals; the list is newest first, so prefer the earliest best.
    return max(reversed(scored), key=lambda s: s.final_score, default=None)


def save_draft(exercise: Exercise, user, answer: str) -> Draft:
    answer = normalized_line_endings(answer)
    if len(answer) > MAX_ANSWER_CHARS:
        raise SubmissionRefused(
            f"Draft not saved: it is {len(answer):,} characters long and the limit is {MAX_ANSWER_CHARS:,}. "
            "Shorten it to keep it."
        )
    draft, _ = Draft.objects.update_or_create(
        exercise=exercise, user=user, defaults={"answer": answer}
    )
    return draft


def override_score(submission: Submission, score: float | None, reason: str, by) -> None:
    """Staff: set (or, with None, remove) the score that counts, with a reason the student sees."""
    if score is not None and not (0 <= score <= (submission.max_score or submission.exercise.max_score)):
        raise SubmissionRefused(
            f"The score must be between 0 and {submission.max_score or submission.exercise.max_score:g}."
        )
    if score is not None and not reason.strip():
        raise SubmissionRefused("Give a reason: the student sees it next to the score.")
    submission.override_score = score
    submission.override_reason = reason.strip() if score is not None else ""
    submission.overridden_by = by if score is not None else None
    submission.save(update_fields=["override_score", "override_reason", "overridden_by"])


def review(submission: Submission, reviews: dict[str, Review], comment: str, by) -> None:
    """Staff: grade the parts of an answer that wait for a person (rubric marks or points), with a comment."""
    try:
        verdict = apply_review(questions_spec(submission.exercise.files), submission.verdict_object, reviews)
    except ReviewError as error:
        raise SubmissionRefused(f"{str(error)[0].upper()}{str(error)[1:]}.") from None
    pending = [test.title for test in verdict.tests if test.needs_review]
    if pending:
        raise SubmissionRefused(f"Grade every part that waits for a person: “{pending[0]}” has no grade yet.")
    with transaction.atomic():
        updated = Submission.objects.filter(
            pk=submission.pk, status__in=[Submission.Status.NEEDS_REVIEW, Submission.Status.GRADED]
        ).update(
            status=Submission.Status.GRADED, score=verdict.score, verdict=verdict.to_dict(),
            review_comment=comment.strip(), reviewed_by=by, graded_at=timezone.now(),
        )
    if not updated:
        raise SubmissionRefused("This answer cannot be reviewed now (it is being graded again).")
    send_submission_changed(submission.pk, Submission.Status.GRADED)


def regrade(exercise: Exercise, by, submissions=None) -> Regrade:
    """Grade again (against the exercise as it is now) the given or all finished submissions."""
    chosen = submissions if submissions is not None else exercise.submissions.all()
    with transaction.atomic():
        rows = list(
            Submission.objects.select_for_update()
            .filter(pk__in=[s.pk for s in chosen], status__in=[Submission.Status.GRADED, Submission.Status.ERROR])
            .values("pk", "score")
        )
        job = Regrade.objects.create(
            exercise=exercise, requested_by=by, total=len(rows),
            previous_scores={str(row["pk"]): row["score"] for row in rows},
        )
        now = timezone.now()
        Submission.objects.filter(pk__in=[row["pk"] for row in rows]).update(
            status=Submission.Status.QUEUED, attempts=0, infrastructure_retries=0, regrade=job, enqueued_at=now
        )
        for row in rows:
            grading.enqueue(Submission(pk=row["pk"]))
    return job


@dataclass
class RegradeProgress:
    total: int
    done: int
    changes: list[tuple[Submission, float | None, float | None]]

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def regrade_progress(job: Regrade) -> RegradeProgress:
    submissions = list(job.submissions.select_related("user"))
    done = [s for s in submissions if s.is_finished]
    changes = [
        (s, job.previous_scores.get(str(s.pk)), s.score)
        for s in done
        if job.previous_scores.get(str(s.pk)) != s.score
    ]
    return RegradeProgress(total=job.total, done=len(done), changes=changes)
