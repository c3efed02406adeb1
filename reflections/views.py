"""Reflection pages: answering, the window, the review, theme edits, replies, import and export."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from courses.access import membership_or_404

from . import selectors, services
from .csvfiles import CsvProblem, read_answers, write_rows
from .forms import ImportForm, ReflectionForm, WindowForm
from .models import ReflectionAnswer, ReflectionPrompt, ReflectionWindow, Theme, ThemeComputation


def _lesson(membership, lesson_slug: str):
    lesson = membership.course.lessons.filter(slug=lesson_slug, archived=False).first()
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _review_url(lesson, anchor: str = "") -> str:
    url = reverse("reflection_review", args=[lesson.course.slug, lesson.slug])
    return f"{url}#{anchor}" if anchor else url


@login_required
def answer(request, course_slug: str, lesson_slug: str):
    """The student's form: every prompt of the lesson on one short page."""
    membership = membership_or_404(request.user, course_slug)
    lesson = _lesson(membership, lesson_slug)
    prompts = list(services.active_prompts(lesson))
    if not prompts:
        raise Http404("This lesson has no reflection.")
    window = services.window_of(lesson)
    is_open = window.is_open()
    answers = {} if membership.is_staff else services.answers_of(lesson, request.user)
    can_answer = is_open and not membership.is_staff
    form = ReflectionForm(prompts, answers, request.POST or None, disabled=not can_answer)
    if request.method == "POST":
        if not can_answer:
            messages.error(
                request,
                "Staff members see this form as a preview; only students answer."
                if membership.is_staff else services.closed_message(window),
            )
            return redirect(request.path)
        if form.is_valid():
            try:
                report = services.save_reflection(lesson, request.user, form.texts())
            except services.ReflectionRefused as refused:
                messages.error(request, str(refused))
                return redirect(request.path)
            if report.saved or report.removed:
                until = (
                    f"until {timezone.localtime(window.closes_at):%H:%M}" if window.closes_at
                    else "until your instructor closes the reflection"
                )
                messages.success(request, f"Thank you! Your answers are saved. You can change them {until}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect(request.path)
    return render(
        request,
        "reflections/answer.html",
        {
            "course": membership.course, "membership": membership, "lesson": lesson, "form": form,
            "window": window, "is_open": is_open, "can_answer": can_answer, "answers": answers,
            "closed_message": services.closed_message(window),
            "has_replies": any(a.reply for a in answers.values()),
            "answered": [(prompt, answers[prompt.pk]) for prompt in prompts if prompt.pk in answers],
        },
    )


@login_required
@require_POST
def window(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, instructor=True)
    lesson = _lesson(membership, lesson_slug)
    back = _back(request, lesson.get_absolute_url())
    action = request.POST.get("action")
    form = WindowForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Those dates are not valid: " + "; ".join(
            f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
        ))
        return redirect(back)
    try:
        if action == "open":
            services.open_window(lesson, by=request.user, closes_at=form.cleaned_data["closes_at"])
            messages.success(request, "The reflection is open: students see a banner on the lesson and course pages.")
        elif action == "close":
            state = services.window_of(lesson).state()
            services.close_window(lesson, by=request.user)
            messages.success(
                request, "The planned opening is cancelled." if state == ReflectionWindow.State.SCHEDULED
                else "The reflection is closed: students can no longer change their answers.",
            )
        elif action == "schedule":
            if form.cleaned_data["opens_at"] is None:
                messages.error(request, "Choose when the reflection opens.")
                return redirect(back)
            services.schedule_window(
                lesson, by=request.user,
                opens_at=form.cleaned_data["opens_at"], closes_at=form.cleaned_data["closes_at"],
            )
            messages.success(request, "The reflection will open at the time you chose.")
        else:
            messages.error(request, "Unknown action; nothing changed.")
    except services.InvalidWindow as invalid:
        messages.error(request, str(invalid))
    return redirect(back)


@login_required
def review(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    lesson = _lesson(membership, lesson_slug)
    reviews = selectors.lesson_review(lesson)
    if not reviews:
        raise Http404("This lesson has no reflection.")
    window = services.window_of(lesson)
    return render(
        request,
        "reflections/review.html",
        {
            "course": membership.course, "membership": membership, "lesson": lesson, "reviews": reviews,
            "window": window, "state": window.state(), "rate": selectors.response_rate(lesson),
            "busy": any(review.busy for review in reviews),
            "versions_json": json.dumps({review.prompt.pk: review.computation.version if review.computation else 0
                                         for review in reviews}),
        },
    )


@login_required
def status(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    lesson = _lesson(membership, lesson_slug)
    computations = ThemeComputation.objects.filter(prompt__lesson=lesson, prompt__archived=False)
    rows = [computation.as_status() for computation in computations]
    return JsonResponse({"computations": rows, "busy": any(row["busy"] for row in rows),
                         "open": services.window_of(lesson).is_open()})


@login_required
@require_POST
def recompute(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    lesson = _lesson(membership, lesson_slug)
    for prompt in services.active_prompts(lesson):
        if prompt.answers.exists():
            services.request_theme_update(prompt, delay=0)
    messages.success(request, "Recomputing the themes. Your renames, moves and merges are kept.")
    return redirect(_review_url(lesson))


def _staff_theme(request, course_slug: str, theme_id: int) -> Theme:
    membership = membership_or_404(request.user, course_slug, staff=True)
    return get_object_or_404(Theme.objects.select_related("prompt__lesson__course"), pk=theme_id,
                             prompt__course=membership.course)


def _staff_answer(request, course_slug: str, answer_id: int) -> ReflectionAnswer:
    membership = membership_or_404(request.user, course_slug, staff=True)
    return get_object_or_404(ReflectionAnswer.objects.select_related("prompt__lesson__course", "theme"),
                             pk=answer_id, prompt__course=membership.course)


@login_required
@require_POST
def theme_rename(request, course_slug: str, theme_id: int):
    theme = _staff_theme(request, course_slug, theme_id)
    services.rename_theme(theme, request.POST.get("label", ""))
    messages.success(request, f"Renamed to “{theme.label}”." if theme.label_locked else
                     f"The theme is named from its answers again: “{theme.label}”.")
    return redirect(_review_url(theme.prompt.lesson, f"theme-{theme.pk}"))


@login_required
@require_POST
def theme_merge(request, course_slug: str, theme_id: int):
    source = _staff_theme(request, course_slug, theme_id)
    target = Theme.objects.filter(pk=request.POST.get("into") or 0, prompt=source.prompt).first()
    if target is None or target.pk == source.pk:
        messages.error(request, "Choose another theme of the same prompt to merge into.")
        return redirect(_review_url(source.prompt.lesson, f"theme-{source.pk}"))
    label = source.label
    services.merge_themes(source, target)
    messages.success(request, f"“{label}” was merged into “{target.label}”.")
    return redirect(_review_url(target.prompt.lesson, f"theme-{target.pk}"))


@login_required
@require_POST
def theme_addressed(request, course_slug: str, theme_id: int):
    theme = _staff_theme(request, course_slug, theme_id)
    if request.POST.get("action") == "reopen":
        services.reopen_theme(theme)
        messages.success(request, f"“{theme.label}” is marked as not addressed yet.")
    else:
        services.mark_addressed(theme, by=request.user, note=request.POST.get("note", ""))
        messages.success(request, f"“{theme.label}” is marked as addressed.")
    return redirect(_review_url(theme.prompt.lesson, f"theme-{theme.pk}"))


@login_required
@require_POST
def answer_move(request, course_slug: str, answer_id: int):
    answer = _staff_answer(request, course_slug, answer_id)
    choice = request.POST.get("theme", "")
    if choice == "new":
        target = services.move_answer(answer, None)
        messages.success(request, f"The answer now has a theme of its own: “{target.label}”.")
    else:
        target = Theme.objects.filter(pk=choice if choice.isdigit() else 0, prompt=answer.prompt).first()
        if target is None:
            messages.error(request, "Choose a theme of the same prompt.")
            return redirect(_review_url(answer.prompt.lesson, f"answer-{answer.pk}"))
        services.move_answer(answer, target)
        messages.success(request, f"Moved to “{target.label}”. It stays there when themes are recomputed.")
    return redirect(_review_url(answer.prompt.lesson, f"answer-{answer.pk}"))


@login_required
@require_POST
def answer_reply(request, course_slug: str, answer_id: int):
    answer = _staff_answer(request, course_slug, answer_id)
    if answer.source == ReflectionAnswer.Source.IMPORT:
        messages.error(request, "This answer was imported from a file: its author has no account here to read a reply.")
    else:
        services.reply_to(answer, by=request.user, text=request.POST.get("reply", ""))
        messages.success(
            request, "Reply saved: the student sees it with their answer." if answer.reply else "Reply removed."
        )
    return redirect(_review_url(answer.prompt.lesson, f"answer-{answer.pk}"))


@login_required
def export(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    lesson = _lesson(membership, lesson_slug)
    rows = [["lesson", "section", "prompt", "prompt_kind", "anonymous", "theme", "theme_size", "theme_addressed",
             "theme_note", "author", "source", "answer", "reply"]]
    for prompt_review in selectors.lesson_review(lesson):
        prompt = prompt_review.prompt
        grouped = [(t.theme, t.size, t.answers) for t in prompt_review.themes]
        if prompt_review.ungrouped:
            grouped.append((None, len(prompt_review.ungrouped), prompt_review.ungrouped))
        for theme, size, answers in grouped:
            for item in answers:
                rows.append([
                    lesson.title, prompt.section, prompt.text, prompt.kind, "yes" if prompt.anonymous else "no",
                    theme.label if theme else "(not grouped yet)", size,
                    "yes" if theme and theme.addressed else "no", theme.addressed_note if theme else "",
                    item.author_label(), item.source, item.text, item.reply,
                ])
    response = HttpResponse(write_rows(rows), content_type="text/csv; charset=utf-8")
    name = f"reflections-{membership.course.slug}-{slugify(lesson.slug)}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def import_answers(request, course_slug: str, lesson_slug: str):
    membership = membership_or_404(request.user, course_slug, instructor=True)
    lesson = _lesson(membership, lesson_slug)
    form = ImportForm(lesson, request.POST or None, request.FILES or None)
    status_code = 200
    if request.method == "POST" and form.is_valid():
        prompt: ReflectionPrompt = form.cleaned_data["prompt"]
        try:
            parsed = read_answers(
                form.cleaned_data["file"].read(), form.cleaned_data["column"].strip(),
                form.cleaned_data["name_column"].strip(),
            )
        except CsvProblem as problem:
            form.add_error("file", f"{form.cleaned_data['file'].name}: {problem}.")
        else:
            report = services.import_answers(prompt, parsed.rows, empty_rows=len(parsed.empty_rows))
            parts = [f"Imported {report.created} answers into “{prompt.text}”"]
            if report.duplicates:
                parts.append(f"{report.duplicates} were already imported and were skipped")
            if report.empty_rows:
                parts.append(f"{report.empty_rows} rows had an empty answer")
            if report.names_dropped:
                parts.append("names were not kept: the prompt is anonymous")
            messages.success(request, "; ".join(parts) + ". Themes are being recomputed.")
            return redirect(_review_url(lesson))
        status_code = 400
    elif request.method == "POST":
        status_code = 400
    return render(
        request, "reflections/import.html",
        {"course": membership.course, "membership": membership, "lesson": lesson, "form": form},
        status=status_code,
    )


@login_required
def overview(request, course_slug: str):
    """Staff: every lesson's reflection and the themes that keep coming back. Students: their own answers."""
    membership = membership_or_404(request.user, course_slug)
    course = membership.course
    lessons = list(course.active_lessons().filter(reflection_prompts__archived=False).distinct())
    if not membership.is_staff:
        mine = [(lesson, services.answers_of(lesson, request.user), list(services.active_prompts(lesson)))
                for lesson in lessons]
        return render(request, "reflections/mine.html", {
            "course": course, "membership": membership,
            "lessons": [(lesson, [(p, answers.get(p.pk)) for p in prompts], services.window_of(lesson))
                        for lesson, answers, prompts in mine],
        })
    everything = request.GET.get("prompts") == "all"
    kinds = ReflectionPrompt.Kind.values if everything else [ReflectionPrompt.Kind.STRUGGLED]
    rows = []
    for lesson in lessons:
        window = services.window_of(lesson)
        open_themes = Theme.objects.filter(
            prompt__lesson=lesson, prompt__archived=False, prompt__kind=ReflectionPrompt.Kind.STRUGGLED,
            addressed_at__isnull=True, answers__isnull=False, kind=Theme.Kind.TOPIC,
        ).distinct().count()
        rows.append({"lesson": lesson, "window": window, "state": window.state(),
                     "rate": selectors.response_rate(lesson), "open_themes": open_themes})
    return render(request, "reflections/overview.html", {
        "course": course, "membership": membership, "rows": rows, "everything": everything,
        "recurring": selectors.recurring_themes(course, kinds),
    })
