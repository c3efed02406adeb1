"""Teams: their names, a seat for a late joiner, and their standings (the mean score of their members)."""

from __future__ import annotations

from django.db.models import Count

from ..models import Game

TEAM_NAMES = ["Red", "Blue", "Yellow", "Green", "Purple", "Teal", "Orange", "Pink"]
MAX_TEAMS = len(TEAM_NAMES)


def _team_for_late_joiner(game: Game) -> int:
    sizes = dict(
        game.players.filter(kicked=False, team__isnull=False).values_list("team").annotate(size=Count("id"))
    )
    return min(range(game.team_count), key=lambda team: (sizes.get(team, 0), team))


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
