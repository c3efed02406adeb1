"""The phase machine: every change of phase, on the server's clock, as a compare-and-set on the game's version.

A change of phase runs in a transaction that first locks the game row and checks the
version the caller saw; a second process (or a double click) that saw the same version
finds it changed and does nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction

from .. import timing
from ..models import Game, Player
from .answers import answer_progress
from .moments import _moment, _seconds
from .scoring import _close_question
from .snapshots import _everyone, public_state

REVEAL_SECONDS = 5
SCOREBOARD_SECONDS = 5

Phase = Game.Phase


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
