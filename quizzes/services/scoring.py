"""Points and scoring: Kahoot's points for an answer, streak bonuses, and the close of a question (totals, ranks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kinds import KINDS
from ..models import Game
from .bulk import _update_rows
from .moments import _moment

MAX_STREAK_BONUS = 500
STREAK_STEP = 100


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


def _rank(players: list) -> None:
    """Competition ranking: equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(players, key=lambda player: -player.score)
    rank = 0
    for position, player in enumerate(ordered, start=1):
        if position == 1 or player.score != ordered[position - 2].score:
            rank = position
        player.previous_rank = player.rank
        player.rank = rank
