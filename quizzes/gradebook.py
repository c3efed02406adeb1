"""Live games as gradebook columns: one per finished game, with the points of each course account that played."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from courses.models import Membership

from .models import Game, Player


@dataclass(frozen=True)
class GradebookColumn:
    key: str
    title: str
    # None: live-game points reward speed, so there is no score a student "should" reach.
    max_points: float | None
    scores: dict[int, float]
    played_at: datetime


def gradebook_columns(course) -> list[GradebookColumn]:
    """Finished games of the course in which course members played from their accounts, oldest first.

    Players who joined with a nickname only, and players the host removed, have no score here.
    """
    members = set(Membership.objects.filter(course=course).values_list("user_id", flat=True))
    games = Game.objects.filter(course=course, finished_at__isnull=False).order_by("finished_at", "pk")
    scores: dict[int, dict[int, float]] = {}
    for game_id, user_id, score in Player.objects.filter(
        game__in=games, user__isnull=False, kicked=False
    ).values_list("game_id", "user_id", "score"):
        if user_id in members:
            scores.setdefault(game_id, {})[user_id] = float(score)
    return [
        GradebookColumn(
            key=f"quiz-game-{game.pk}",
            title=f"{game.title} (live game, {timezone.localtime(game.finished_at):%Y-%m-%d})",
            max_points=None,
            scores=scores[game.pk],
            played_at=game.started_at or game.finished_at,
        )
        for game in games
        if game.pk in scores
    ]
