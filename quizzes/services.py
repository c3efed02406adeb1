"""Live games: every change of state, on the server's clock, as a compare-and-set on the game's version.

The database holds the whole state of a game, so any web process can serve any player.
A change of phase runs in a transaction that first locks the game row and checks the
version the caller saw; a second process (or a double click) that saw the same version
finds it changed and does nothing. An answer is stored in a transaction that holds a
share lock on the game row, so a question cannot close while an answer to it is being
written, and a unique constraint keeps only the first answer of each player.

Functions here are synchronous and return plain data; `live.py` runs them from the
consumers and broadcasts what they return.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from courses.models import Membership

from . import timing
from .kinds import KINDS, AnswerRejected
from .models import POINTS_VALUE, Answer, Game, GameQuestion, Player, Quiz
from .nicknames import NicknameInvalid, clean_nickname, nickname_key, random_nickname

PIN_DIGITS = 6
REVEAL_SECONDS = 5
SCOREBOARD_SECONDS = 5
MAX_STREAK_BONUS = 500
STREAK_STEP = 100
TEAM_NAMES = ["Red", "Blue", "Yellow", "Green", "Purple", "Teal", "Orange", "Pink"]
MAX_TEAMS = len(TEAM_NAMES)
SCOREBOARD_SIZE = 5
PODIUM_SIZE = 3

Phase = Game.Phase


class GameError(Exception):
    """Something a person asked for cannot be done; the message says why and what to do."""


class JoinRefused(GameError):
    pass


# -- points -----------------------------------------------------------------------------------


def answer_points(points: int, fraction: float | None, elapsed: float, time_limit: float, *, speed: bool) -> int:
    """Kahoot's rule: round(P * (1 - (t / T) / 2)) for a right answer, scaled by the fraction right.

    t is the server's time from the opening of the question to the answer, T the player's
    time limit. Without speed points a right answer earns P whatever the time.
    """
    if not fraction or points == 0:
        return 0
    if not speed:
        return round(points * fraction)
    share = min(max(elapsed / time_limit, 0.0), 1.0)
    return round(points * fraction * (1 - share / 2))


def streak_bonus(streak: int) -> int:
    """+100 for the second right answer in a row, +200 for the third, ... at most +500."""
    return min(STREAK_STEP * max(streak - 1, 0), MAX_STREAK_BONUS)


# -- creating and joining ---------------------------------------------------------------------


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def new_pin() -> str:
    return str(secrets.randbelow(9 * 10 ** (PIN_DIGITS - 1)) + 10 ** (PIN_DIGITS - 1))


def create_game(
    *,
    quiz: Quiz,
    host,
    speed_points: bool = True,
    auto_advance: bool = False,
    reading_seconds: int = 5,
    team_mode: bool = False,
    team_count: int = 2,
    accounts_only: bool = False,
    extra_time_factor: float = 1.5,
) -> Game:
    """A new game in its lobby, with a PIN no other running game has and a copy of the quiz's questions."""
    questions = list(quiz.active_questions().select_related("image"))
    if not questions:
        raise GameError("This quiz has no questions yet: add one before starting a game.")
    if team_mode and not 2 <= team_count <= MAX_TEAMS:
        raise GameError(f"Choose 2 to {MAX_TEAMS} teams.")
    rng = random.Random(secrets.randbits(64))  # noqa: S311 (shuffles what is shown, not a secret)
    for _attempt in range(20):
        try:
            with transaction.atomic():
                game = Game.objects.create(
                    quiz=quiz, course=quiz.course, host=host, title=quiz.title, pin=new_pin(),
                    question_count=len(questions), phase_started_at=_moment(timing.now()),
                    speed_points=speed_points, auto_advance=auto_advance, reading_seconds=reading_seconds,
                    team_mode=team_mode, team_count=team_count, accounts_only=accounts_only,
                    extra_time_factor=extra_time_factor,
                )
                GameQuestion.objects.bulk_create(
                    GameQuestion(game=game, position=position, question=question, data=_frozen(question),
                                 display=question.kind_handler.display(question.spec, rng))
                    for position, question in enumerate(questions)
                )
            return game
        except IntegrityError:
            continue  # the PIN was taken a moment ago; draw another
    raise GameError("Could not find a free game PIN; try again.")


def _frozen(question) -> dict:
    from courses.markdown import render_markdown

    return {
        "key": question.key,
        "kind": question.kind,
        "text": question.text,
        "text_html": render_markdown(question.text),
        "spec": question.spec,
        "time_limit": question.time_limit,
        "points": POINTS_VALUE[question.points],
        "image_url": question.image.get_absolute_url() if question.image else None,
    }


def running_game_by_pin(pin: str) -> Game | None:
    pin = "".join(ch for ch in (pin or "") if ch.isdigit())
    return Game.objects.filter(pin=pin, finished_at__isnull=True).select_related("course").first() if pin else None


def session_mark(session_key: str | None) -> str:
    """What a seat keeps of the browser session that took it: a digest, never the session key itself."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def join_game(*, game: Game, nickname: str, user=None, session_key: str | None = None) -> Player:
    """A seat in the game. A course account that already has a seat gets the same seat back, and so
    does the browser session that took a nickname and asks for it again (its answer was lost)."""
    if game.finished_at is not None:
        raise JoinRefused("This game is over. Ask your instructor for the PIN of the next one.")
    member = None
    if user is not None and user.is_authenticated:
        member = Membership.objects.filter(user=user, course_id=game.course_id).first()
        existing = Player.objects.filter(game=game, user=user).first() if member else None
        if existing:
            if existing.kicked:
                raise JoinRefused("The host removed you from this game.")
            return existing
    if game.accounts_only and member is None:
        raise JoinRefused("This game is for members of the course: sign in with your course account to join.")
    nickname = clean_nickname(nickname)
    team = _team_for_late_joiner(game) if game.team_mode and game.phase != Phase.LOBBY else None
    mark = session_mark(session_key)
    try:
        with transaction.atomic():
            return Player.objects.create(
                game=game, nickname=nickname, nickname_key=nickname_key(nickname),
                user=user if member else None, team=team, session_mark=mark,
            )
    except IntegrityError:
        taken = Player.objects.filter(game=game, nickname_key=nickname_key(nickname)).first()
        if mark and taken is not None and taken.session_mark == mark and taken.user_id is None:
            if taken.kicked:
                raise JoinRefused("The host removed you from this game.") from None
            return taken
        raise NicknameInvalid(f"“{nickname}” is taken in this game. Choose another nickname.") from None


def _team_for_late_joiner(game: Game) -> int:
    sizes = dict(
        game.players.filter(kicked=False, team__isnull=False).values_list("team").annotate(size=Count("id"))
    )
    return min(range(game.team_count), key=lambda team: (sizes.get(team, 0), team))


def suggest_nickname(game: Game) -> str:
    """A random nickname nobody in the game has, found with one small query (not the game's every name)."""
    candidates = {nickname_key(name): name for name in (random_nickname() for _ in range(12))}
    taken = set(game.players.filter(nickname_key__in=candidates).values_list("nickname_key", flat=True))
    free = [name for key, name in candidates.items() if key not in taken]
    return free[0] if free else random_nickname(set(game.players.values_list("nickname_key", flat=True)))


# A browser's seats, kept in its session: {game id: seat token}. The WebSocket handshake
# carries the session cookie, so a connection can only ever act for its own seat.
SEATS_SESSION_KEY = "quiz_seats"


def remember_seat(session, player: Player) -> None:
    seats = dict(session.get(SEATS_SESSION_KEY, {}))
    seats[str(player.game_id)] = player.seat_token
    session[SEATS_SESSION_KEY] = seats


def seat_in_session(session, game_id: int) -> Player | None:
    token = session.get(SEATS_SESSION_KEY, {}).get(str(game_id))
    if not token:
        return None
    return Player.objects.filter(game_id=game_id, seat_token=token).first()


def may_host(user, game_id: int) -> bool:
    """Instructors and teaching assistants of the game's course run its projector."""
    if not user or not user.is_authenticated:
        return False
    return Membership.objects.filter(
        user=user, course__quiz_games=game_id,
        role__in=[Membership.Role.INSTRUCTOR, Membership.Role.TEACHING_ASSISTANT],
    ).exists()


# -- changes of phase -------------------------------------------------------------------------


@dataclass
class Transition:
    """A change of phase that happened: what to broadcast, and when the next one is due."""

    game_id: int
    version: int
    public: dict
    # Each player's own news (result, rank...), keyed by player id as text; None if nothing changed.
    personal: dict[str, dict] | None
    deadline_ms: int | None


def _locked(game_id: int, version: int | None) -> Game | None:
    game = Game.objects.select_for_update().filter(pk=game_id).first()
    if game is None or (version is not None and game.version != version) or game.finished_at is not None:
        return None
    return game


def _save_phase(game: Game, phase: str, now: float, deadline: float | None) -> None:
    game.phase = phase
    game.version += 1
    game.phase_started_at = _moment(now)
    game.deadline = _moment(deadline)
    game.save()


def start_game(game_id: int, version: int | None = None) -> Transition | None:
    """Lobby -> the first question. Team mode shares the players out into teams now."""
    now = timing.now()
    with transaction.atomic():
        game = _locked(game_id, version)
        if game is None or game.phase != Phase.LOBBY:
            return None
        if game.team_mode:
            players = list(game.players.filter(kicked=False))
            random.SystemRandom().shuffle(players)
            for index, player in enumerate(players):
                player.team = index % game.team_count
            Player.objects.bulk_update(players, ["team"])
        game.started_at = _moment(now)
        _show_question(game, 0, now)
    return _transition(game, personal=_everyone(game) if game.team_mode else None)


def _show_question(game: Game, index: int, now: float) -> None:
    game.question_index = index
    if game.reading_seconds:
        _save_phase(game, Phase.QUESTION, now, now + game.reading_seconds)
    else:
        _open_answers(game, now)


def _open_answers(game: Game, now: float) -> None:
    game_question = game.game_questions.get(position=game.question_index)
    longest = game.players.filter(kicked=False).order_by("-time_factor").values_list("time_factor", flat=True).first()
    closes = now + game_question.data["time_limit"] * max(longest or 1.0, 1.0)
    game_question.opened_at = _moment(now)
    game_question.closes_at = _moment(closes)
    game_question.save(update_fields=["opened_at", "closes_at"])
    _save_phase(game, Phase.ANSWERING, now, closes)


def advance(game_id: int, version: int) -> Transition | None:
    """The host's "Next": whatever comes after the current phase (closing a question early, too)."""
    now = timing.now()
    with transaction.atomic():
        game = _locked(game_id, version)
        if game is None:
            return None
        return _advance(game, now)


def advance_if_due(game_id: int, version: int) -> Transition | None:
    """What the clock calls at a deadline: advance only if the phase it was set for is still on and due."""
    now = timing.now()
    with transaction.atomic():
        game = _locked(game_id, version)
        if game is None or game.deadline is None or _seconds(game.deadline) > now:
            return None
        return _advance(game, now)


def close_if_all_answered(game_id: int, version: int) -> Transition | None:
    with transaction.atomic():
        game = _locked(game_id, version)
        if game is None or game.phase != Phase.ANSWERING:
            return None
        answered, players = answer_progress(game_id, version)
        if players == 0 or answered < players:
            return None
        return _advance(game, timing.now())


def _advance(game: Game, now: float) -> Transition | None:
    phase = game.phase
    if phase == Phase.LOBBY:
        return None  # the host starts a game explicitly
    if phase == Phase.QUESTION:
        _open_answers(game, now)
        return _transition(game)
    if phase == Phase.ANSWERING:
        news = _close_question(game, now)
        _save_phase(game, Phase.REVEAL, now, now + REVEAL_SECONDS if game.auto_advance else None)
        return _transition(game, personal=news)
    if phase == Phase.REVEAL:
        _save_phase(game, Phase.SCOREBOARD, now, now + SCOREBOARD_SECONDS if game.auto_advance else None)
        return _transition(game)
    if phase == Phase.SCOREBOARD:
        if game.question_index + 1 < game.question_count:
            _show_question(game, game.question_index + 1, now)
            return _transition(game)
        return _finish(game, now)
    return None


def end_game(game_id: int) -> Transition | None:
    """The host ends the game now: an open question is scored as it stands, then the podium."""
    now = timing.now()
    with transaction.atomic():
        game = _locked(game_id, None)
        if game is None:
            return None
        if game.phase == Phase.ANSWERING:
            _close_question(game, now)
        return _finish(game, now)


def _finish(game: Game, now: float) -> Transition:
    game.finished_at = _moment(now)
    _save_phase(game, Phase.PODIUM, now, None)
    return _transition(game, personal=_everyone(game))


def set_auto_advance(game_id: int, version: int, on: bool) -> Transition | None:
    now = timing.now()
    with transaction.atomic():
        game = _locked(game_id, version)
        if game is None or game.auto_advance == on:
            return None
        game.auto_advance = on
        if game.phase in (Phase.REVEAL, Phase.SCOREBOARD):
            seconds = REVEAL_SECONDS if game.phase == Phase.REVEAL else SCOREBOARD_SECONDS
            game.deadline = _moment(now + seconds) if on else None
        game.version += 1
        game.save()
    return _transition(game)


def _transition(game: Game, personal: dict[str, dict] | None = None) -> Transition:
    return Transition(game.pk, game.version, public_state(game), personal, timing.to_ms(_seconds(game.deadline)))


@dataclass
class _Standing:
    """A player's running totals while a question is scored (plain data: thousands of them)."""

    id: int
    score: int
    streak: int
    best_streak: int
    correct_count: int
    rank: int | None
    previous_rank: int | None = None


@dataclass
class _Scored:
    player_id: int
    answer: Any
    fraction: float | None
    elapsed_ms: int
    streak_bonus: int
    points: int

    @property
    def correct(self) -> bool:
        return self.fraction is not None and self.fraction >= 1.0


def _close_question(game: Game, now: float) -> dict[str, dict]:
    """Score the current question: streaks, bonuses, totals and ranks. Returns each player's news."""
    game_question = game.game_questions.get(position=game.question_index)
    data = game_question.data
    kind = KINDS[data["kind"]]
    # Each answer's points, streak bonus included, were set when it was stored (`_judge`): the
    # close writes the players' totals only, in one statement.
    answers = {
        row[0]: _Scored(*row) for row in game_question.answers.values_list(
            "player_id", "answer", "fraction", "elapsed_ms", "streak_bonus", "points")
    }
    players = [_Standing(*row) for row in game.players.filter(kicked=False).values_list(
        "id", "score", "streak", "best_streak", "correct_count", "rank")]
    streaks_count = _streaks_count(data)
    for player in players:
        answer = answers.get(player.id)
        right = bool(answer and answer.correct)
        if kind.graded and right:
            player.correct_count += 1
        if streaks_count:
            player.streak = player.streak + 1 if right else 0
            player.best_streak = max(player.best_streak, player.streak)
        if answer:
            player.score += answer.points
    _rank(players)
    _update_rows("quizzes_player", ("score", "streak", "best_streak", "correct_count", "rank", "previous_rank"),
                 [(p.id, p.score, p.streak, p.best_streak, p.correct_count, p.rank, p.previous_rank) for p in players])
    answered = list(answers.values())
    game_question.closed_at = _moment(now)
    game_question.tally = {
        "bars": kind.tally(data["spec"], game_question.display, [answer.answer for answer in answered]),
        "answered": len(answered),
        "players": len(players),
        "right": sum(1 for answer in answered if answer.correct) if kind.graded else None,
        "average_ms": round(sum(answer.elapsed_ms for answer in answered) / len(answered)) if answered else None,
    }
    game_question.save(update_fields=["closed_at", "tally"])
    return {str(player.id): _news(game, player, answers.get(player.id)) for player in players}


def _streaks_count(data: dict) -> bool:
    """Whether the question counts in answer streaks: graded, and worth points."""
    return KINDS[data["kind"]].graded and data["points"] > 0


def _news(game: Game, player: _Standing, answer: _Scored | None) -> dict:
    """What changed for a player when a question closed (merged into what their phone knows)."""
    return {
        "score": player.score, "rank": player.rank, "streak": player.streak, "question_index": game.question_index,
        "answered": answer is not None, "result": _result(answer),
    }


def _result(answer, *, joined_later: bool = False) -> dict:
    """A player's result on the question that closed last. `joined_later`: their seat was taken after it
    closed, so they never had it to answer (not "no answer": a player who sat down during the reveal of
    a question that closed early, when everyone seated had answered)."""
    return {
        "answered": answer is not None,
        "joined_later": joined_later,
        "correct": answer.correct if answer else False,
        "fraction": answer.fraction if answer else 0,
        "points": answer.points if answer else 0,
        "streak_bonus": answer.streak_bonus if answer else 0,
    }


UPDATE_BATCH = 1000


def _update_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Set integer columns of many rows, identified by id, in one statement (SQLite: per thousand rows).

    Django's bulk_update builds a CASE with a branch per row, which the database evaluates
    for every row: O(rows²), over a second for 500 players. Joining a list is linear.
    PostgreSQL gets one array per column (a query with thousands of placeholders is slow to
    prepare), written here as one text each: psycopg quoting 14,000 numbers one by one took
    50 ms of a 2,000-player close. SQLite, which has no arrays, gets a VALUES list.
    """
    if not rows:
        return
    names = ", ".join(columns)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(["%s::bigint[]"] + ["%s::integer[]"] * len(columns))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM UNNEST({arrays}) AS v (id, {names}) "  # noqa: S608 (constant names)
                f"WHERE {table}.id = v.id",
                [_integer_array(column) for column in zip(*rows, strict=True)],
            )
            return
        row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
        for start in range(0, len(rows), UPDATE_BATCH):
            batch = rows[start : start + UPDATE_BATCH]
            cursor.execute(
                f"WITH v (id, {names}) AS (VALUES {', '.join([row_sql] * len(batch))}) "  # noqa: S608 (constant names)
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.id = v.id",
                [value for row in batch for value in row],
            )


def _integer_array(values) -> str:
    """A PostgreSQL array literal of integers (None is NULL): '{3,NULL,1}'."""
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def _rank(players: list) -> None:
    """Competition ranking: equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(players, key=lambda player: -player.score)
    rank = 0
    for position, player in enumerate(ordered, start=1):
        if position == 1 or player.score != ordered[position - 2].score:
            rank = position
        player.previous_rank = player.rank
        player.rank = rank


def _everyone(game: Game) -> dict[str, dict]:
    index = game.question_index
    answers = {}
    if index >= 0:
        answers = {answer.player_id: answer for answer in
                   Answer.objects.filter(game_question__game=game, game_question__position=index)}
    closed_at = _closed_at(game)
    return {
        str(player.pk): _personal(game, player, answers.get(player.pk), with_result=game.phase != Phase.QUESTION,
                                  question_closed_at=closed_at)
        for player in game.players.filter(kicked=False)
    }


# -- answers ----------------------------------------------------------------------------------


@dataclass
class AnswerOutcome:
    accepted: bool
    code: str
    message: str = ""
    version: int | None = None


REJECTIONS = {
    "not-open": "Wait for the question to open.",
    "closed": "Time is up: answers to this question are closed.",
    "not-current": "That question is not the current one.",
    "duplicate": "You already answered this question: your first answer counts.",
    "removed": "The host removed you from this game.",
    "unavailable": "Your answer could not be stored just now: send it again in a moment.",
}


def _rejected(code: str, message: str = "") -> AnswerOutcome:
    return AnswerOutcome(False, code, message or REJECTIONS[code])


_question_cache: OrderedDict[tuple[int, int], dict] = OrderedDict()
_cache_lock = threading.Lock()


def _open_question(game_id: int, version: int, position: int) -> dict:
    """The open question's frozen data and times; immutable for a given game version, so cached."""
    key = (game_id, version)
    with _cache_lock:
        cached = _question_cache.get(key)
    if cached is not None and cached["position"] == position:
        return cached
    game_question = GameQuestion.objects.get(game_id=game_id, position=position)
    value = {
        "id": game_question.pk, "position": position, "data": game_question.data,
        "display": game_question.display, "opened_at": _seconds(game_question.opened_at),
    }
    with _cache_lock:
        _question_cache[key] = value
        while len(_question_cache) > 256:
            _question_cache.popitem(last=False)
    return value


@dataclass(frozen=True)
class AnswerRequest:
    """An answer as a consumer received it: its time is the server's, taken on arrival."""

    game_id: int
    player_id: int
    position: Any
    payload: Any
    received_at: float


_GAME_QUERY = "SELECT version, phase, question_index, finished_at, speed_points FROM quizzes_game WHERE id = %s"


def _game_for_answers(game_id: int):
    """The game's phase, read under a share lock on its row (PostgreSQL).

    The lock makes a question's close wait for answers being written, and answers wait for
    a close in progress; answers do not wait for each other. SQLite needs no lock: its
    write transactions run one at a time.
    """
    query = _GAME_QUERY + (" FOR SHARE" if connection.vendor == "postgresql" else "")
    with connection.cursor() as cursor:
        cursor.execute(query, [game_id])
        return cursor.fetchone()


def _seats(game_id: int, player_ids: set[int]) -> dict[int, tuple[bool, float, int]]:
    """(kicked, time factor, answer streak so far) of each player."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kicked, time_factor, streak FROM quizzes_player WHERE game_id = %s "  # noqa: S608
            f"AND id IN ({', '.join(['%s'] * len(player_ids))})", [game_id, *player_ids])
        return {player_id: (bool(kicked), factor, streak) for player_id, kicked, factor, streak in cursor.fetchall()}


_ANSWER_COLUMNS = ("player_id", "game_question_id", "answer", "received_at", "elapsed_ms", "fraction", "base_points",
                   "streak_bonus", "points")


def _insert_answers(rows: list[tuple]) -> set[int]:
    """Insert answers, skipping any that the unique constraint refuses; the players whose answer was stored."""
    if not rows:
        return set()
    ops = connection.ops
    values = []
    for player_id, game_question_id, answer, received_at, elapsed_ms, fraction, base, bonus in rows:
        values += [player_id, game_question_id, ops.adapt_json_value(answer, None),
                   ops.adapt_datetimefield_value(_moment(received_at)), elapsed_ms, fraction, base, bonus, base + bonus]
    row_sql = "(" + ", ".join(["%s"] * len(_ANSWER_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Answer._meta.db_table} ({', '.join(_ANSWER_COLUMNS)}) "  # noqa: S608 (constant names)
            f"VALUES {', '.join([row_sql] * len(rows))} "
            "ON CONFLICT (player_id, game_question_id) DO NOTHING RETURNING player_id", values)
        return {player_id for (player_id,) in cursor.fetchall()}


def submit_answer(game_id: int, player_id: int, position: Any, payload: Any, received_at: float) -> AnswerOutcome:
    """Store a player's first answer to the open question, timed by the server; or say why not."""
    return submit_answers([AnswerRequest(game_id, player_id, position, payload, received_at)])[0]


def submit_answers(requests: list[AnswerRequest]) -> list[AnswerOutcome]:
    """Store many answers at once, each judged as `submit_answer` judges one; an outcome for each.

    What one process received while its previous batch was being written goes in one
    transaction per game: the game read once, the seats in one query, the answers in one
    INSERT ... ON CONFLICT DO NOTHING. A hall answering together then costs a few statements
    per batch instead of five per answer. A player's first answer counts, whether the
    other came earlier in the batch or is already stored (the unique constraint).
    """
    outcomes: list[AnswerOutcome | None] = [None] * len(requests)
    by_game: dict[int, list[int]] = {}
    for index, request in enumerate(requests):
        if not isinstance(request.position, int) or isinstance(request.position, bool):
            outcomes[index] = _rejected("not-current")
        else:
            by_game.setdefault(request.game_id, []).append(index)
    for game_id, indexes in by_game.items():
        with transaction.atomic():
            _submit_to_game(game_id, indexes, requests, outcomes)
    return outcomes


def _submit_to_game(game_id: int, indexes: list[int], requests: list[AnswerRequest], outcomes: list) -> None:
    game = _game_for_answers(game_id)
    if game is None:
        for index in indexes:
            outcomes[index] = _rejected("removed")
        return
    version, phase, question_index, finished_at, speed_points = game
    seats = _seats(game_id, {requests[index].player_id for index in indexes})
    rows, waiting, seen = [], [], set()
    for index in indexes:
        request = requests[index]
        judged = _judge(request, seats.get(request.player_id), version, phase, question_index, finished_at,
                        speed_points)
        if isinstance(judged, AnswerOutcome):
            outcomes[index] = judged
        elif request.player_id in seen:
            outcomes[index] = _rejected("duplicate")
        else:
            seen.add(request.player_id)
            rows.append(judged)
            waiting.append(index)
    stored = _insert_answers(rows)
    for index, row in zip(waiting, rows, strict=True):
        outcomes[index] = (AnswerOutcome(True, "received", "Answer received.", version) if row[0] in stored
                           else _rejected("duplicate"))


def _judge(request: AnswerRequest, seat, version, phase, index, finished_at, speed_points) -> AnswerOutcome | tuple:
    """An answer's row to store, or the reason it is refused."""
    if seat is None or seat[0]:
        return _rejected("removed")
    time_factor = seat[1]
    position = request.position
    if position < max(index, 0):
        return _rejected("closed")
    if phase == Phase.LOBBY:
        return _rejected("not-open")
    if position > index:
        return _rejected("not-current")
    if phase == Phase.QUESTION:
        return _rejected("not-open")
    if phase != Phase.ANSWERING or finished_at is not None:
        return _rejected("closed")
    question = _open_question(request.game_id, version, position)
    data = question["data"]
    time_limit = data["time_limit"] * max(time_factor, 1.0)
    elapsed = request.received_at - question["opened_at"]
    if elapsed < 0:
        return _rejected("not-open")
    if elapsed > time_limit:
        return _rejected("closed")
    kind = KINDS[data["kind"]]
    try:
        answer = kind.parse(data["spec"], question["display"], request.payload)
    except AnswerRejected as rejected:
        return _rejected("invalid", str(rejected))
    fraction = kind.grade(data["spec"], question["display"], answer)
    base = answer_points(data["points"], fraction, elapsed, time_limit, speed=bool(speed_points))
    # The streak before this question is settled (it changes only when a question closes), so a
    # right answer's streak bonus is known now: the close need not write the answers again.
    right = fraction is not None and fraction >= 1.0
    bonus = streak_bonus(seat[2] + 1) if right and _streaks_count(data) else 0
    return (request.player_id, question["id"], answer, request.received_at, round(elapsed * 1000), fraction, base,
            bonus)


def answer_progress(game_id: int, version: int) -> tuple[int, int]:
    """(answers to the current question, players still in the game)."""
    game = Game.objects.filter(pk=game_id).values("question_index").first()
    if game is None:
        return 0, 0
    answered = Answer.objects.filter(
        game_question__game_id=game_id, game_question__position=game["question_index"], player__kicked=False
    ).count()
    return answered, Player.objects.filter(game_id=game_id, kicked=False).count()


# -- the host's other commands -----------------------------------------------------------------


def kick(game_id: int, player_id: int) -> Player | None:
    updated = Player.objects.filter(game_id=game_id, pk=player_id, kicked=False).update(kicked=True)
    return Player.objects.get(pk=player_id) if updated else None


def set_extra_time(game_id: int, player_id: int, on: bool) -> Player | None:
    game = Game.objects.filter(pk=game_id).first()
    if game is None:
        return None
    factor = game.extra_time_factor if on else 1.0
    Player.objects.filter(game_id=game_id, pk=player_id).update(time_factor=factor)
    player = Player.objects.filter(game_id=game_id, pk=player_id).first()
    if player and game.phase == Phase.ANSWERING:
        # A longer time for someone keeps the question open for them.
        game_question = game.game_questions.get(position=game.question_index)
        closes = _seconds(game_question.opened_at) + game_question.data["time_limit"] * max(factor, 1.0)
        if closes > _seconds(game_question.closes_at):
            GameQuestion.objects.filter(pk=game_question.pk).update(closes_at=_moment(closes))
    return player


# -- what people see ---------------------------------------------------------------------------


_public_cache: OrderedDict[tuple[int, int], dict] = OrderedDict()


def clear_caches() -> None:
    """Forget what this process cached per game version (for tests, whose rolled-back ids come back)."""
    with _cache_lock:
        _question_cache.clear()
        _public_cache.clear()


def public_state(game: Game) -> dict:
    """What everyone may see of the game at this version. Before the reveal, never the answer."""
    key = (game.pk, game.version)
    with _cache_lock:
        cached = _public_cache.get(key)
    if cached is not None:
        return cached
    state = _build_public_state(game)
    with _cache_lock:
        _public_cache[key] = state
        while len(_public_cache) > 256:
            _public_cache.popitem(last=False)
    return state


def _build_public_state(game: Game) -> dict:
    state: dict[str, Any] = {
        "game": game.pk,
        "version": game.version,
        "phase": game.phase,
        "title": game.title,
        "pin": game.pin,
        "question_index": game.question_index,
        "question_count": game.question_count,
        "phase_started_at": timing.to_ms(_seconds(game.phase_started_at)),
        "deadline": timing.to_ms(_seconds(game.deadline)),
        "auto_advance": game.auto_advance,
        "team_mode": game.team_mode,
        "speed_points": game.speed_points,
    }
    if game.phase in (Phase.QUESTION, Phase.ANSWERING, Phase.REVEAL) and game.question_index >= 0:
        game_question = game.game_questions.get(position=game.question_index)
        state["question"] = public_question(game_question)
        if game.phase == Phase.REVEAL:
            state["reveal"] = reveal(game_question)
    if game.phase in (Phase.SCOREBOARD, Phase.PODIUM):
        size = SCOREBOARD_SIZE if game.phase == Phase.SCOREBOARD else PODIUM_SIZE
        state["leaders"] = leaders(game, size)
        if game.phase == Phase.SCOREBOARD:
            state["climbers"] = climbers(game)
        if game.team_mode:
            state["teams"] = team_standings(game)
    return state


def public_question(game_question: GameQuestion) -> dict:
    data = game_question.data
    kind = KINDS[data["kind"]]
    return {
        "index": game_question.position,
        "kind": data["kind"],
        "kind_label": kind.label,
        "graded": kind.graded,
        "text_html": data["text_html"],
        "image_url": data["image_url"],
        "time_limit": data["time_limit"],
        "points": data["points"],
        "opened_at": timing.to_ms(_seconds(game_question.opened_at)),
        **kind.public(data["spec"], game_question.display),
    }


def reveal(game_question: GameQuestion) -> dict:
    data = game_question.data
    kind = KINDS[data["kind"]]
    tally = game_question.tally or {}
    bars = kind.shown_bars(data["spec"], game_question.display, tally.get("bars", []))
    return {**tally, "bars": bars, **kind.solution(data["spec"], game_question.display)}


def _standing(player: Player) -> dict:
    climb = player.previous_rank - player.rank if player.previous_rank and player.rank else 0
    return {"nickname": player.nickname, "score": player.score, "rank": player.rank, "streak": player.streak,
            "climb": climb, "team": player.team}


def leaders(game: Game, size: int) -> list[dict]:
    players = game.players.filter(kicked=False, rank__isnull=False).order_by("rank", "joined_at")[:size]
    return [_standing(player) for player in players]


def climbers(game: Game, size: int = 3) -> list[dict]:
    players = (
        game.players.filter(kicked=False, rank__isnull=False, previous_rank__gt=F("rank"))
        .annotate(climb=F("previous_rank") - F("rank"))
        .order_by("-climb", "rank")[:size]
    )
    return [_standing(player) for player in players]


def team_standings(game: Game) -> list[dict]:
    """Teams ranked by the mean score of their members, so a big team has no advantage."""
    scores: dict[int, list[int]] = {}
    for team, score in game.players.filter(kicked=False, team__isnull=False).values_list("team", "score"):
        scores.setdefault(team, []).append(score)
    teams = [
        {"team": team, "name": team_name(team), "members": len(members), "score": round(sum(members) / len(members))}
        for team, members in scores.items()
    ]
    teams.sort(key=lambda team: (-team["score"], team["team"]))
    for position, team in enumerate(teams, start=1):
        team["rank"] = position
    return teams


def team_name(team: int | None) -> str | None:
    return None if team is None else f"Team {TEAM_NAMES[team % len(TEAM_NAMES)]}"


def _closed_at(game: Game) -> datetime | None:
    """When the current question closed, in the phases that show its result (else None)."""
    if game.phase not in (Phase.REVEAL, Phase.SCOREBOARD, Phase.PODIUM) or game.question_index < 0:
        return None
    return GameQuestion.objects.filter(game=game, position=game.question_index).values_list(
        "closed_at", flat=True).first()


def _personal(game: Game, player: Player, answer: Answer | None, *, with_result: bool,
              question_closed_at: datetime | None = None) -> dict:
    me = {
        "id": player.pk,
        "nickname": player.nickname,
        "team": player.team,
        "team_name": team_name(player.team),
        "score": player.score,
        "rank": player.rank,
        "streak": player.streak,
        "time_factor": player.time_factor,
        "question_index": game.question_index,
        "answered": answer is not None,
    }
    if with_result and game.phase in (Phase.REVEAL, Phase.SCOREBOARD, Phase.PODIUM) and game.question_index >= 0:
        joined_later = answer is None and question_closed_at is not None and player.joined_at > question_closed_at
        me["result"] = _result(answer, joined_later=joined_later)
    return me


def player_snapshot(game_id: int, player_id: int) -> dict | None:
    """Everything a player's screen needs, on every (re)connect."""
    game = Game.objects.filter(pk=game_id).first()
    player = Player.objects.filter(pk=player_id, game_id=game_id).first()
    if game is None or player is None:
        return None
    answer = None
    if game.question_index >= 0:
        answer = Answer.objects.filter(player=player, game_question__game=game,
                                       game_question__position=game.question_index).first()
    me = _personal(game, player, answer, with_result=True, question_closed_at=_closed_at(game))
    return {"type": "state", "state": public_state(game), "me": me, "kicked": player.kicked}


def host_snapshot(game_id: int) -> dict | None:
    """Everything the projector needs, on every (re)connect."""
    game = Game.objects.filter(pk=game_id).first()
    if game is None:
        return None
    players = [host_player(player) for player in game.players.filter(kicked=False).order_by("joined_at")]
    answered = answer_progress(game_id, game.version)[0] if game.phase == Phase.ANSWERING else 0
    return {"type": "state", "state": public_state(game), "players": players, "answered": answered}


def host_player(player: Player) -> dict:
    return {"id": player.pk, "nickname": player.nickname, "team": player.team, "team_name": team_name(player.team),
            "extra_time": player.time_factor > 1.0, "account": player.user_id is not None}
