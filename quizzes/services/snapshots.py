"""What people see: a game's public state at a version (never the answer before the reveal), each player's
own view, and the full snapshots a phone and a projector get on every (re)connect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cachetools import cached
from django.db.models import F

from .. import timing
from ..kinds import KINDS
from ..models import Answer, Game, GameQuestion, Player
from .answers import answer_progress
from .caches import cache_lock, public_states
from .moments import _seconds
from .scoring import _result
from .teams import team_name, team_standings

SCOREBOARD_SIZE = 5
PODIUM_SIZE = 3

Phase = Game.Phase


@cached(public_states, key=lambda game: (game.pk, game.version), lock=cache_lock)
def public_state(game: Game) -> dict:
    """What everyone may see of the game at this version. Before the reveal, never the answer."""
    return _build_public_state(game)


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
