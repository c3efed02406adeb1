"""Creating a game (a PIN, a frozen copy of the quiz's questions) and finding a running one by its PIN."""

from __future__ import annotations

import random
import secrets

from django.db import IntegrityError, transaction

from attentive.refusals import Refused

from .. import timing
from ..models import POINTS_VALUE, Game, GameQuestion, Quiz
from .moments import _moment
from .teams import MAX_TEAMS

PIN_DIGITS = 6


class GameRefused(Refused):
    """A game cannot be started or joined as asked; the message says why and what to do."""


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
        raise GameRefused("This quiz has no questions yet: add one before starting a game.")
    if team_mode and not 2 <= team_count <= MAX_TEAMS:
        raise GameRefused(f"Choose 2 to {MAX_TEAMS} teams.")
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
    raise GameRefused("Could not find a free game PIN; try again.")


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
