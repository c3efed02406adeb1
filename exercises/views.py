"""Exercise pages: the student's submit-and-learn loop and the staff's submissions, regrades and reviews."""

from __future__ import annotations

import contextlib
import difflib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from courses.access import membership_or_404
from graders import spec
from graders.questions import Review

from . import grading, services
from .models import Draft, Exercise, Regrade, Submission, WorkerHeartbeat
from .questions import part_fields, read_part_answers


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _exercise(request, course_slug: str, exercise_slug: str, *, staff: bool = False, defer: tuple[str, ...] = ()):
    membership = membership_or_404(request.user, course_slug, staff=staff)
    exercise = (
        Exercise.objects.filter(course=membership.course, slug=exercise_slug, archived=False).defer(*defer).first()
    )
    if exercise is None:
        raise Http404("No such exercise.")
    return membership, exercise


def _submission(request, course_slug: str, submission_id: int):
    """A submission its owner or the course's staff may see; anyone else gets a 404."""
    membership = membership_or_404(request.user, course_slug)
    submission = get_object_or_404(
        Submission.objects.select_related("exercise", "user"), pk=submission_id, exercise__course=membership.course
    )
    if submission.user_id != request.user.pk and not membership.is_staff:
        raise Http404("No such submission.")
    return membership, submission


def editor_text(exercise: Exercise, user) -> str:
    """What the editor shows: the draft, else the latest attempt, else the starter code."""
    draft = Draft.objects.filter(exercise=exercise, user=user).first()
    if draft:
        return draft.answer
    latest = Submission.objects.filter(exercise=exercise, user=user).order_by("-submitted_at", "-id").first()
    return latest.answer if latest else exercise.starter_code


def grading_health() -> str:
    """Empty when a worker that can grade has been seen lately; else what a student should know."""
    recent = WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - timezone.timedelta(seconds=90))
    if recent.filter(ready=True).exists():
        return ""
    broken = recent.exclude(problem="").first()
    if broken:
        return (
            f"Grading is delayed: the grader cannot run right now ({broken.problem}). Your work is kept and "
            "is graded as soon as the grader is back."
        )
    return "No grading worker is running right now: your submission will wait in the queue until one starts."


def attempt_history(exercise: Exercise, user) -> list[Submission]:
    return list(Submission.objects.filter(exercise=exercise, user=user).order_by("-submitted_at", "-id"))


@login_required
def exercise_detail(request, course_slug: str, exercise_slug: str):
    membership, exercise = _exercise(request, course_slug, exercise_slug)
    history = attempt_history(exercise, request.user)
    latest = history[0] if history else None
    context = {
        "course": membership.course,
        "membership": membership,
        "exercise": exercise,
        "history": history,
        "latest": latest,
        "counted": services.counted_submission(exercise, request.user),
        "attempts": services.AttemptsLeft(services.attempts_used(exercise, request.user), exercise.max_attempts),
        "credit_now": exercise.credit_at(timezone.now()),
        "health": grading_health(),
        # Without Redis the grading worker cannot reach the web process: the page polls instead.
        "live_push": bool(settings.REDIS_URL),
    }
    if exercise.kind == Exercise.Kind.CODE:
        context["code"] = editor_text(exercise, request.user)
    else:
        previous = json.loads(latest.answer) if latest else {}
        context["parts"] = part_fields(exercise, request.user, previous)
    return render(request, "exercises/exercise_detail.html", context)


@login_required
@require_POST
def exercise_submit(request, course_slug: str, exercise_slug: str):
    # The submit path does the least it can (validate, save, ring after commit): a class submits at
    # once. A code answer needs none of the exercise's files (its tests are the worker's) nor its text.
    membership, exercise = _exercise(request, course_slug, exercise_slug,
                                     defer=("files", "statement", "statement_html", "starter_code"))
    answer = request.POST.get("code", "") if exercise.kind == Exercise.Kind.CODE else ""
    try:
        if exercise.kind != Exercise.Kind.CODE:
            answer = json.dumps(read_part_answers(exercise, request.POST), ensure_ascii=False)
        submission = services.submit(request.user, exercise, answer, staff_test=membership.is_staff)
    except services.SubmissionRefused as refused:
        if exercise.kind == Exercise.Kind.CODE:
            # Keep what was typed; an answer over the limit cannot be kept as a draft either.
            with contextlib.suppress(services.SubmissionRefused):
                services.save_draft(exercise, request.user, answer)
        if is_htmx(request):
            # Shown above the form; the latest verdict below it stays in view.
            response = render(request, "exercises/_refused.html", {"message": str(refused)}, status=422)
            response["HX-Retarget"] = "#submit-message"
            response["HX-Reswap"] = "innerHTML"
            return response
        messages.error(request, str(refused))
        return redirect(exercise)
    if is_htmx(request):
        context = _verdict_context(submission, membership)
        # The new attempt joins "Your attempts" at once, out of band.
        context.update({"exercise": exercise, "history": attempt_history(exercise, request.user), "oob": True})
        return render(request, "exercises/_submitted.html", context)
    return redirect(exercise)


@login_required
@require_GET
def exercise_history(request, course_slug: str, exercise_slug: str):
    """The table of the student's attempts, fetched again by the page when a verdict arrives."""
    membership, exercise = _exercise(request, course_slug, exercise_slug)
    return render(request, "exercises/_history.html", {
        "course": membership.course, "exercise": exercise, "history": attempt_history(exercise, request.user),
    })


@login_required
@require_POST
def exercise_run_solution(request, course_slug: str, exercise_slug: str):
    """Staff: grade the reference solution through the real path, as a test run."""
    _membership, exercise = _exercise(request, course_slug, exercise_slug, staff=True)
    if exercise.kind != Exercise.Kind.CODE:
        raise Http404("Only code exercises have a reference solution to run.")
    submission = services.submit(request.user, exercise, exercise.files["solution.py"], staff_test=True)
    messages.info(request, "The reference solution is being graded as a test run (not in the gradebook).")
    return redirect("submission_detail", course_slug, submission.pk)


@login_required
@require_POST
def exercise_draft(request, course_slug: str, exercise_slug: str):
    _membership, exercise = _exercise(request, course_slug, exercise_slug)
    try:
        services.save_draft(exercise, request.user, request.POST.get("code", ""))
    except services.SubmissionRefused as refused:
        return JsonResponse({"saved": False, "error": str(refused)}, status=413)
    return JsonResponse({"saved": True})


@login_required
@require_GET
def exercise_interpret(request, course_slug: str, exercise_slug: str):
    """The live "your answer was interpreted as ..." preview of a math part."""
    _membership, exercise = _exercise(request, course_slug, exercise_slug)
    part_id = request.GET.get("part", "")
    text = request.GET.get(f"part-{part_id}", "")
    preview = spec.interpret(exercise.files, part_id, text)
    return render(request, "exercises/_interpretation.html", {"preview": preview})


def _verdict_context(submission: Submission, membership) -> dict:
    return {
        "submission": submission,
        "verdict": submission.verdict_object,
        "membership": membership,
        "course": membership.course,
        "status_url": reverse("submission_status", args=[membership.course.slug, submission.pk]),
        "partial_url": reverse("submission_verdict", args=[membership.course.slug, submission.pk]),
    }


@login_required
def submission_detail(request, course_slug: str, submission_id: int):
    membership, submission = _submission(request, course_slug, submission_id)
    previous = (
        Submission.objects.filter(
            exercise=submission.exercise, user=submission.user, number__lt=submission.number
        ).order_by("-number").first()
    )
    diff = ""
    if previous is not None:
        diff = "\n".join(
            difflib.unified_diff(
                previous.answer.splitlines(), submission.answer.splitlines(),
                fromfile=f"attempt {previous.number}", tofile=f"attempt {submission.number}", lineterm="",
            )
        )
    context = _verdict_context(submission, membership)
    context.update({"previous": previous, "diff": diff, "exercise": submission.exercise,
                    "answers": _answers(submission), "live_push": bool(settings.REDIS_URL)})
    return render(request, "exercises/submission_detail.html", context)


def _answers(submission: Submission) -> dict[str, str]:
    if submission.exercise.kind != Exercise.Kind.QUESTIONS:
        return {}
    try:
        return json.loads(submission.answer)
    except json.JSONDecodeError:
        return {}


@login_required
def submission_verdict(request, course_slug: str, submission_id: int):
    membership, submission = _submission(request, course_slug, submission_id)
    return render(request, "exercises/_verdict.html", _verdict_context(submission, membership))


@login_required
def submission_status(request, course_slug: str, submission_id: int):
    """The polling fallback of the live verdict."""
    _membership, submission = _submission(request, course_slug, submission_id)
    return JsonResponse({"id": submission.pk, "status": submission.status, "finished": submission.is_finished})


@login_required
@require_POST
def submission_restore(request, course_slug: str, submission_id: int):
    """Put an old attempt back into the editor, as the student's draft."""
    _membership, submission = _submission(request, course_slug, submission_id)
    if submission.user_id != request.user.pk:
        raise Http404("Only your own attempts can be restored into your editor.")
    services.save_draft(submission.exercise, request.user, submission.answer)
    messages.success(request, f"Attempt {submission.number} is back in the editor.")
    return redirect(submission.exercise)


# Staff pages


@login_required
def exercise_submissions(request, course_slug: str, exercise_slug: str):
    membership, exercise = _exercise(request, course_slug, exercise_slug, staff=True)
    submissions = exercise.submissions.select_related("user").order_by("-submitted_at", "-id")
    filters = {
        "student": request.GET.get("student", "").strip(),
        "status": request.GET.get("status", ""),
        "late": request.GET.get("late", ""),
        "min_score": request.GET.get("min_score", ""),
        "max_score": request.GET.get("max_score", ""),
        "tests": request.GET.get("tests", ""),
    }
    # One student's submissions, from the lesson page's list of who submitted.
    only = None
    if request.GET.get("user", "").isdigit():
        only = membership.course.memberships.filter(user_id=int(request.GET["user"])).select_related("user").first()
        submissions = submissions.filter(user_id=only.user_id) if only else submissions.none()
    if filters["student"]:
        name = filters["student"]
        submissions = submissions.filter(
            Q(user__username__icontains=name) | Q(user__first_name__icontains=name) | Q(user__last_name__icontains=name)
        )
    if filters["status"] in Submission.Status.values:
        submissions = submissions.filter(status=filters["status"])
    if filters["late"] == "yes":
        submissions = submissions.filter(credit__lt=1)
    elif filters["late"] == "no":
        submissions = submissions.filter(credit__gte=1)
    if filters["tests"] != "include":
        submissions = submissions.filter(is_staff_test=False)
    for key, lookup in (("min_score", "score__gte"), ("max_score", "score__lte")):
        if filters[key]:
            try:
                submissions = submissions.filter(**{lookup: float(filters[key])})
            except ValueError:
                messages.error(request, f"“{filters[key]}” is not a number; that filter was ignored.")
    page = Paginator(submissions, 50).get_page(request.GET.get("page"))
    regrade = exercise.regrades.first()
    return render(
        request,
        "exercises/exercise_submissions.html",
        {
            "course": membership.course, "membership": membership, "exercise": exercise, "page": page,
            "filters": filters, "statuses": Submission.Status.choices, "regrade": regrade, "only": only,
            "progress": services.regrade_progress(regrade) if regrade else None,
        },
    )


@login_required
@require_POST
def exercise_regrade(request, course_slug: str, exercise_slug: str):
    _membership, exercise = _exercise(request, course_slug, exercise_slug, staff=True)
    job = services.regrade(exercise, request.user)
    messages.success(request, f"Regrading {job.total} submission{'s' if job.total != 1 else ''} in the background.")
    return redirect("exercise_submissions", course_slug, exercise_slug)


@login_required
def regrade_progress(request, course_slug: str, regrade_id: int):
    membership = membership_or_404(request.user, course_slug, staff=True)
    job = get_object_or_404(Regrade, pk=regrade_id, exercise__course=membership.course)
    return render(
        request, "exercises/_regrade_progress.html",
        {"regrade": job, "progress": services.regrade_progress(job), "course": membership.course},
    )


@login_required
@require_POST
def submission_regrade(request, course_slug: str, submission_id: int):
    membership, submission = _submission(request, course_slug, submission_id)
    if not membership.is_staff:
        raise Http404("No such page.")
    if submission.status == Submission.Status.ERROR:
        grading.retry(submission)
        messages.success(request, "Grading it again.")
    elif submission.is_finished:
        services.regrade(submission.exercise, request.user, [submission])
        messages.success(request, "Regrading it against the current tests.")
    else:
        messages.info(request, "It is still being graded.")
    return redirect("submission_detail", course_slug, submission.pk)


@login_required
@require_POST
def submission_override(request, course_slug: str, submission_id: int):
    membership, submission = _submission(request, course_slug, submission_id)
    if not membership.is_staff:
        raise Http404("No such page.")
    raw = request.POST.get("score", "").strip()
    try:
        score = float(raw) if raw else None
        services.override_score(submission, score, request.POST.get("reason", ""), request.user)
    except ValueError:
        messages.error(request, f"“{raw}” is not a number.")
    except services.SubmissionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Score overridden." if score is not None else "Override removed.")
    return redirect("submission_detail", course_slug, submission.pk)


@login_required
def review_queue(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    waiting = (
        Submission.objects.filter(exercise__course=membership.course, status=Submission.Status.NEEDS_REVIEW)
        .select_related("exercise", "user").order_by("submitted_at")
    )
    return render(request, "exercises/review_queue.html",
                  {"course": membership.course, "membership": membership, "waiting": waiting})


@login_required
def submission_review(request, course_slug: str, submission_id: int):
    membership, submission = _submission(request, course_slug, submission_id)
    if not membership.is_staff or submission.exercise.kind != Exercise.Kind.QUESTIONS or not submission.verdict:
        raise Http404("No such page.")
    verdict = submission.verdict_object
    rubrics = spec.rubrics(submission.exercise.files)
    if request.method == "POST":
        try:
            reviews = _posted_reviews(request.POST, verdict, rubrics)
            services.review(submission, reviews, request.POST.get("comment", ""), request.user)
        except ValueError:
            messages.error(request, "Points must be numbers, like 2 or 1.5.")
        except services.SubmissionRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"Graded {submission.user.get_full_name() or submission.user.username}'s answer.")
            following = Submission.objects.filter(
                exercise__course=membership.course, status=Submission.Status.NEEDS_REVIEW
            ).order_by("submitted_at").first()
            if following:
                return redirect("submission_review", course_slug, following.pk)
            return redirect("review_queue", course_slug)
    answers = _answers(submission)
    parts = [
        {"test": test, "answer": answers.get(test.name, ""), "rubric": rubrics.get(test.name, [])}
        for test in verdict.tests
    ]
    return render(request, "exercises/submission_review.html", {
        "course": membership.course, "membership": membership, "submission": submission, "parts": parts,
    })


def _posted_reviews(data, verdict, rubrics) -> dict[str, Review]:
    """Rubric marks or points for each part a grade was given for; parts left blank keep theirs."""
    reviews = {}
    for test in verdict.tests:
        rubric = rubrics.get(test.name, [])
        if rubric:
            marks = {c["id"]: data.get(f"mark-{test.name}-{c['id']}", "").strip() for c in rubric}
            if any(marks.values()):
                reviews[test.name] = Review(marks={key: float(value or 0) for key, value in marks.items()})
        elif (points := data.get(f"points-{test.name}", "").strip()) and (
            test.needs_review or float(points) != test.points
        ):
            reviews[test.name] = Review(points=float(points))
    return reviews
