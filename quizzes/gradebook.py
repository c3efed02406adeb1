"""Live games as gradebook columns: one per finished game, with the points of each course account that played."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from courses.gradebook import GradebookColumn
from courses.models import Membership

from .models import Game, Player


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
            # Live-game points reward speed: there is no score a student "should" reach, and
            # thousands of them would drown the exercises in the total.
            max_points=None,
            in_total=False,
            scores=scores[game.pk],
            played_at=game.started_at or game.finished_at,
            url=reverse("game_report", args=[course.slug, game.pk]),
        )
        for game in games
        if game.pk in scores
    ]
