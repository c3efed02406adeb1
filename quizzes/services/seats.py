"""Seats: joining a game, a browser's seats in its session, who may host, and the host's commands on a seat."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from courses.models import Membership

from ..models import Game, GameQuestion, Player
from ..nicknames import NicknameInvalid, clean_nickname, nickname_key, random_nickname
from .games import GameRefused
from .moments import _moment, _seconds
from .teams import _team_for_late_joiner

Phase = Game.Phase


class JoinRefused(GameRefused):
    """A seat in the game is refused: it is over, the host removed this player, or it is for the course's members."""


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
