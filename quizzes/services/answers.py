"""Answer intake: a player's first answer to the open question, timed by the server, stored in batches.

An answer is stored in a transaction that holds a share lock on the game row, so a question
cannot close while an answer to it is being written, and a unique constraint keeps only the
first answer of each player.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachetools import cached
from django.db import connection, transaction

from ..kinds import KINDS, AnswerRejected
from ..models import Answer, Game, GameQuestion, Player
from .caches import cache_lock, open_questions
from .moments import _moment, _seconds
from .scoring import _streaks_count, answer_points, streak_bonus

Phase = Game.Phase


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


@cached(open_questions, key=lambda game_id, version, position: (game_id, version, position), lock=cache_lock)
def _open_question(game_id: int, version: int, position: int) -> dict:
    """The open question's frozen data and times; immutable for a given game version, so cached."""
    game_question = GameQuestion.objects.get(game_id=game_id, position=position)
    return {
        "id": game_question.pk, "position": position, "data": game_question.data,
        "display": game_question.display, "opened_at": _seconds(game_question.opened_at),
    }


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
