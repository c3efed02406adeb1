"""Pages: the question bank and its editor, Kahoot import and export, hosting, joining, playing, reports."""

from __future__ import annotations

from pathlib import Path

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from courses.access import membership_or_404
from courses.models import Membership
from frontdoor import throttle as lockout

from . import bank, live, reports, services, throttle
from .forms import GameOptionsForm, KahootImportForm, NicknameForm, PinForm, QuestionForm, QuizForm
from .kahoot import SpreadsheetUnreadable, check_file_size, exportable, read_kahoot_xlsx, write_kahoot_xlsx
from .kinds import KINDS
from .models import Game, Player, Question, Quiz, QuizImage
from .nicknames import NicknameInvalid

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _staff_quiz(request, course_slug: str, quiz_id: int):
    membership = membership_or_404(request.user, course_slug, staff=True)
    quiz = get_object_or_404(Quiz, pk=quiz_id, course=membership.course, archived=False)
    return membership, quiz


def _read_only(request, quiz: Quiz) -> HttpResponse | None:
    """Pack quizzes are edited in their files: a web edit would be undone by the next pack load."""
    try:
        bank.check_editable(quiz)
    except bank.QuizReadOnly as refused:
        messages.error(request, str(refused))
        return redirect(quiz)
    return None


# -- the question bank --------------------------------------------------------------------------


@login_required
def quiz_list(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    course = membership.course
    quizzes = (
        course.quizzes.filter(archived=False)
        .select_related("lesson")
        .annotate(question_total=Count("questions", filter=Q(questions__archived=False)),
                  last_played=Max("games__created_at"))
    )
    return render(request, "quizzes/quiz_list.html", {
        "course": course, "membership": membership, "quizzes": quizzes, "active": "quizzes",
        "import_form": KahootImportForm(),
    })


@login_required
def quiz_create(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    course = membership.course
    form = QuizForm(request.POST or None, course=course)
    if request.method == "POST" and form.is_valid():
        quiz = form.save(commit=False)
        quiz.course = course
        quiz.created_by = request.user
        quiz.save()
        messages.success(request, "Quiz created. Add its first question.")
        return redirect(quiz)
    return render(request, "quizzes/quiz_form.html", {"course": course, "membership": membership, "form": form,
                                                      "active": "quizzes"})


@login_required
def quiz_edit(request, course_slug: str, quiz_id: int):
    membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    form = QuizForm(request.POST or None, instance=quiz, course=quiz.course)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return redirect(quiz)
    return render(request, "quizzes/quiz_form.html", {"course": quiz.course, "membership": membership, "form": form,
                                                      "quiz": quiz, "active": "quizzes"})


@login_required
def quiz_detail(request, course_slug: str, quiz_id: int):
    membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    questions = list(quiz.active_questions().select_related("image"))
    for question in questions:
        question.not_exportable = exportable(question)
    return render(request, "quizzes/quiz_detail.html", {
        "course": quiz.course, "membership": membership, "quiz": quiz, "questions": questions,
        "kinds": KINDS.values(), "active": "quizzes",
        "exportable_count": sum(1 for question in questions if not question.not_exportable),
        "games": quiz.games.order_by("-created_at")[:10],
    })


@login_required
@require_POST
def quiz_duplicate(request, course_slug: str, quiz_id: int):
    _membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    copy = bank.duplicate_quiz(quiz, by=request.user)
    messages.success(request, "This is your copy: edit it here. The original stays as the pack has it.")
    return redirect(copy)


@login_required
@require_POST
def quiz_archive(request, course_slug: str, quiz_id: int):
    _membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    bank.archive_quiz(quiz)
    messages.success(request, f"“{quiz.title}” was archived. Its games and reports are kept.")
    return redirect("quiz_list", quiz.course.slug)


@login_required
def quiz_export(request, course_slug: str, quiz_id: int):
    _membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    data = write_kahoot_xlsx(list(quiz.active_questions()))
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{slugify(quiz.title) or "quiz"}-kahoot.xlsx"'
    return response


@login_required
def quiz_import(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug, staff=True)
    course = membership.course
    form = KahootImportForm(request.POST or None, request.FILES or None)
    context = {"course": course, "membership": membership, "form": form, "active": "quizzes"}
    if request.method != "POST" or not form.is_valid():
        return render(request, "quizzes/quiz_import.html", context, status=400 if form.errors else 200)
    upload = form.cleaned_data["file"]
    try:
        check_file_size(upload.size)  # before a byte is read: the upload may be on disk
        result = read_kahoot_xlsx(upload.read())
    except SpreadsheetUnreadable as unreadable:
        form.add_error("file", str(unreadable))
        return render(request, "quizzes/quiz_import.html", context, status=400)
    context["problems"] = result.problems
    title = form.cleaned_data["title"] or Path(upload.name).stem.replace("_", " ").strip() or "Imported quiz"
    try:
        quiz = bank.import_quiz(course, title=title, drafts=result.questions, by=request.user)
    except bank.NothingToImport as nothing:
        form.add_error("file", str(nothing))
        return render(request, "quizzes/quiz_import.html", context, status=400)
    context.update(quiz=quiz, imported=len(result.questions))
    if result.problems:
        # The good rows are kept; the page lists the others by row and column.
        return render(request, "quizzes/quiz_import.html", context)
    messages.success(request, f"Imported {len(result.questions)} questions.")
    return redirect(quiz)


# -- questions ----------------------------------------------------------------------------------


def _question_fields(form: QuestionForm) -> dict:
    data = form.cleaned_data
    return {"text": data["text"], "time_limit": data["time_limit"], "points": data["points"], "spec": form.spec,
            "image": data.get("image")}


@login_required
def question_create(request, course_slug: str, quiz_id: int, kind: str):
    membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    if kind not in KINDS:
        raise Http404("No such kind of question.")
    form = QuestionForm(request.POST or None, request.FILES or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        bank.add_question(quiz, kind=kind, **_question_fields(form))
        messages.success(request, "Question added.")
        if "add_another" in request.POST:
            return redirect("question_create", quiz.course.slug, quiz.pk, kind)
        return redirect(quiz)
    return render(request, "quizzes/question_form.html", {
        "course": quiz.course, "membership": membership, "quiz": quiz, "form": form, "kind": KINDS[kind],
        "active": "quizzes",
    }, status=400 if form.errors else 200)


@login_required
def question_edit(request, course_slug: str, quiz_id: int, question_id: int):
    membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    question = get_object_or_404(Question, pk=question_id, quiz=quiz, archived=False)
    form = QuestionForm(request.POST or None, request.FILES or None, kind=question.kind, question=question)
    if request.method == "POST" and form.is_valid():
        bank.save_question(question, **_question_fields(form), remove_image=bool(form.cleaned_data.get("remove_image")))
        messages.success(request, "Question saved.")
        return redirect(quiz)
    return render(request, "quizzes/question_form.html", {
        "course": quiz.course, "membership": membership, "quiz": quiz, "form": form, "kind": question.kind_handler,
        "question": question, "active": "quizzes",
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def question_move(request, course_slug: str, quiz_id: int, question_id: int):
    _membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    try:
        bank.move_question(quiz, question_id, up=request.POST.get("direction") == "up")
    except Question.DoesNotExist:
        raise Http404("No such question.") from None
    return redirect(reverse("quiz_detail", args=[quiz.course.slug, quiz.pk]) + f"#question-{question_id}")


@login_required
@require_POST
def question_delete(request, course_slug: str, quiz_id: int, question_id: int):
    _membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    if refusal := _read_only(request, quiz):
        return refusal
    try:
        bank.remove_question(quiz, question_id)
    except Question.DoesNotExist:
        raise Http404("No such question.") from None
    messages.success(request, "Question removed. Games already played keep it in their reports.")
    return redirect(quiz)


def quiz_image(request, sha256: str):
    """A question's image. Served with a sandbox policy: an SVG opened on its own runs no script."""
    image = get_object_or_404(QuizImage, sha256=sha256)
    try:
        response = FileResponse(image.file.open("rb"), content_type=image.content_type)
    except FileNotFoundError:
        raise Http404("The image file is missing.") from None
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# -- games: starting, hosting, reports ------------------------------------------------------------


@login_required
def game_create(request, course_slug: str, quiz_id: int):
    membership, quiz = _staff_quiz(request, course_slug, quiz_id)
    form = GameOptionsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            game = services.create_game(quiz=quiz, host=request.user, **form.cleaned_data)
        except services.GameRefused as error:
            messages.error(request, str(error))
            return redirect(quiz)
        return redirect(game)
    return render(request, "quizzes/game_create.html", {
        "course": quiz.course, "membership": membership, "quiz": quiz, "form": form, "active": "quizzes",
        "question_total": quiz.active_questions().count(),
    })


@login_required
def game_list(request, course_slug: str):
    membership = membership_or_404(request.user, course_slug)
    course = membership.course
    running = course.quiz_games.filter(finished_at__isnull=True).annotate(player_total=Count("players"))
    context = {"course": course, "membership": membership, "running": running, "active": "games"}
    if membership.is_staff:
        context["finished"] = course.quiz_games.filter(finished_at__isnull=False).annotate(
            player_total=Count("players", filter=Q(players__kicked=False)))
    else:
        context["mine"] = Player.objects.filter(
            user=request.user, game__course=course, game__finished_at__isnull=False
        ).select_related("game").order_by("-game__finished_at")
    return render(request, "quizzes/game_list.html", context)


def _staff_game(request, course_slug: str, game_id: int):
    membership = membership_or_404(request.user, course_slug, staff=True)
    game = get_object_or_404(Game, pk=game_id, course=membership.course)
    return membership, game


@login_required
def game_host(request, course_slug: str, game_id: int):
    membership, game = _staff_game(request, course_slug, game_id)
    if not game.is_running:
        return redirect("game_report", course_slug, game.pk)
    qr_svg = segno.make(game.join_url(), error="m").svg_inline(scale=8, dark="#111", light="#fff")
    return render(request, "quizzes/game_host.html", {
        "course": game.course, "membership": membership, "game": game, "qr_svg": qr_svg,
        "join_host": settings.SITE_URL.split("://", 1)[-1],
    })


@login_required
@require_POST
def game_end(request, course_slug: str, game_id: int):
    _membership, game = _staff_game(request, course_slug, game_id)
    # A page, not a consumer: run the service here and only broadcast, once committed and
    # without waiting on the channel layer (the processes serving the game keep its clock).
    live.broadcast_after_commit(services.end_game(game.pk))
    messages.success(request, f"The game {game.pin} is over.")
    return redirect("game_list", course_slug)


@login_required
def game_report(request, course_slug: str, game_id: int):
    membership, game = _staff_game(request, course_slug, game_id)
    return render(request, "quizzes/game_report.html", {
        "course": game.course, "membership": membership, "game": game, "report": reports.game_report(game),
        "active": "games", "tables": reports.TABLES,
    })


@login_required
def game_report_xlsx(request, course_slug: str, game_id: int):
    _membership, game = _staff_game(request, course_slug, game_id)
    response = HttpResponse(reports.report_xlsx(reports.game_report(game)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_report_name(game)}.xlsx"'
    return response


@login_required
def game_report_csv(request, course_slug: str, game_id: int):
    _membership, game = _staff_game(request, course_slug, game_id)
    table = request.GET.get("table", "players")
    if table not in reports.TABLES:
        raise Http404("No such table.")
    csv_text = reports.report_csv(reports.game_report(game), table)
    response = HttpResponse(csv_text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_report_name(game)}-{table}.csv"'
    return response


def _report_name(game: Game) -> str:
    return f"{slugify(game.title) or 'game'}-{game.created_at:%Y-%m-%d}-{game.pin}"


# -- players ------------------------------------------------------------------------------------


def _join_allowed(request) -> bool:
    if not request.session.session_key:
        request.session.save()
    address = lockout.client_address(request)
    return throttle.allow(f"join-ip:{address}", settings.QUIZ_JOINS_PER_IP_PER_MINUTE, 60,
                          (f"join-session:{request.session.session_key}", settings.QUIZ_JOINS_PER_SESSION_PER_MINUTE))


def _pin_checks(request) -> list[tuple[lockout.Rule, str]]:
    """Wrong PINs are counted per browser and per address, so that PINs cannot be walked. A browser
    without a session has no failures to check yet: its session is made when one is counted."""
    address = (lockout.rule("game-pin-address"), lockout.client_address(request))
    if not request.session.session_key:
        return [address]
    return [(lockout.rule("game-pin-session"), request.session.session_key), address]


def _pin_refusal(request, pin: str, locked):
    form = PinForm(initial={"pin": pin})
    form.link_error = (f"Too many wrong game PINs from here: typing a PIN is paused until "
                       f"{lockout.when(locked[1])}. Scan the QR code on the projector (or open its link): it always "
                       "works. The site's administrators can lift the pause sooner.")
    return render(request, "quizzes/play_pin.html", {"form": form}, status=429)


def _running_game_or_refusal(request, pin: str):
    """(game, None) for a running game; (None, a 429 page) once this browser or address has
    guessed too many PINs; (None, None) for a wrong PIN, which is counted. The projector's link
    (its QR code) carries a key that no guess can make: it passes the locks."""
    if key := request.GET.get("k"):
        game = services.running_game_by_pin(pin)
        if game and lockout.link_key_valid(key, "game", game.pk, game.pin):
            return game, None
    if locked := lockout.first_lock(_pin_checks(request)):
        return None, _pin_refusal(request, pin, locked)
    game = services.running_game_by_pin(pin)
    if game is None:
        if not request.session.session_key:
            request.session.save()
        if locked := lockout.record_failures(_pin_checks(request)):
            return None, _pin_refusal(request, pin, locked)
    return game, None


def play_pin(request):
    """Where players type the game PIN."""
    form = PinForm(request.GET or None)
    if request.GET and form.is_valid():
        game, refusal = _running_game_or_refusal(request, form.cleaned_data["pin"])
        if refusal:
            return refusal
        if game:
            return redirect("play_join", game.pin)
        form.add_error("pin", "No game is running with this PIN. Check the number on the screen.")
    return render(request, "quizzes/play_pin.html", {"form": form}, status=404 if form.errors else 200)


def _account_name(user) -> str:
    first = (user.first_name or user.username).split()[0]
    last = user.last_name[:1] + "." if user.last_name else ""
    return f"{first} {last}".strip()[:20]


def play_join(request, pin: str):
    """Choose a nickname (or join from the course account) and take a seat."""
    game, refusal = _running_game_or_refusal(request, pin)
    if refusal:
        return refusal
    if game is None:
        form = PinForm(initial={"pin": pin})
        form.link_error = "No game is running with this PIN any more. Check the number on the screen."
        return render(request, "quizzes/play_pin.html", {"form": form}, status=404)
    seat = services.seat_in_session(request.session, game.pk)
    if seat and not seat.kicked:
        return redirect("play_game", game.pk)
    # The session exists from the form on (its cookie comes with the form), so that a join
    # retried after a lost answer comes from the session that took the seat.
    request.session.setdefault(services.SEATS_SESSION_KEY, {})
    member = None
    if request.user.is_authenticated:
        member = Membership.objects.filter(user=request.user, course=game.course).first()
    # A posted form shows the nickname that was typed; only a new form needs a suggestion.
    form = NicknameForm(request.POST) if request.method == "POST" else NicknameForm(
        initial={"nickname": services.suggest_nickname(game)})
    context = {"game": game, "form": form, "member": member, "link_key": request.GET.get("k", ""),
               "account_name": _account_name(request.user) if member else ""}
    if seat and seat.kicked:
        context["kicked"] = True
        return render(request, "quizzes/play_join.html", context, status=403)
    if request.method != "POST":
        return render(request, "quizzes/play_join.html", context)
    if not _join_allowed(request):
        context["refusal"] = "Too many attempts to join from here. Wait a minute, then try again."
        return render(request, "quizzes/play_join.html", context, status=429)
    with_account = request.POST.get("with_account") == "1" and member is not None
    if not with_account and not form.is_valid():
        return render(request, "quizzes/play_join.html", context, status=400)
    try:
        if with_account:
            player = _join_with_account(game, request.user)
        else:
            player = services.join_game(game=game, nickname=form.cleaned_data["nickname"],
                                        session_key=request.session.session_key)
    except NicknameInvalid as invalid:
        form.add_error("nickname", str(invalid))
        return render(request, "quizzes/play_join.html", context, status=400)
    except services.JoinRefused as refused:
        context["refusal"] = str(refused)
        return render(request, "quizzes/play_join.html", context, status=403)
    services.remember_seat(request.session, player)
    live.tell_hosts_after_commit(game.pk, {"type": "quiz.player_joined", "player": services.host_player(player)})
    return redirect("play_game", game.pk)


def _join_with_account(game: Game, user) -> Player:
    name = _account_name(user)
    for attempt in range(20):
        try:
            return services.join_game(game=game, nickname=name if attempt == 0 else f"{name[:17]} {attempt + 1}",
                                      user=user)
        except NicknameInvalid:
            continue
    raise services.JoinRefused("Could not find a free nickname for your account; join with a nickname instead.")


def play_nickname(request, pin: str):
    """Another random nickname, for the "Surprise me" button (an htmx swap of the input)."""
    game, refusal = _running_game_or_refusal(request, pin)
    if refusal:
        return refusal
    if game is None:
        raise Http404("No such game.")
    form = NicknameForm(initial={"nickname": services.suggest_nickname(game)})
    return HttpResponse(str(form["nickname"]))


def play_game(request, game_id: int):
    """The player's phone: everything after joining happens here, over a WebSocket.

    Game ids are sequential, so this page tells a browser without a seat nothing about the
    game, not even whether it exists: sending it to the join form would hand out the PIN to
    anyone counting ids, past the PIN throttle. It asks for the PIN, as the projector shows it.
    """
    seat = services.seat_in_session(request.session, game_id)
    if seat is None:
        form = PinForm()
        form.link_error = ("This page belongs to a phone that has joined the game. "
                           "Type the PIN shown on the projector to join.")
        return render(request, "quizzes/play_pin.html", {"form": form}, status=404)
    game = seat.game
    if seat.kicked:
        if game.is_running:
            return redirect("play_join", game.pin)  # this browser joined with the PIN: it says why it is out
        raise Http404("No such game.")
    return render(request, "quizzes/play_game.html", {"game": game, "player": seat})
