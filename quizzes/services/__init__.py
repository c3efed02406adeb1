"""Live games: every change of state, on the server's clock, as a compare-and-set on the game's version.

The database holds the whole state of a game, so any web process can serve any player.
A change of phase runs in a transaction that first locks the game row and checks the
version the caller saw; a second process (or a double click) that saw the same version
finds it changed and does nothing. An answer is stored in a transaction that holds a
share lock on the game row, so a question cannot close while an answer to it is being
written, and a unique constraint keeps only the first answer of each player.

Functions here are synchronous and return plain data; `live.py` runs them from the
consumers and broadcasts what they return. Each module holds one concern:

    games.py      creating a game, finding a running one by its PIN
    seats.py      joining, a browser's seats, who may host, the host's commands on a seat
    teams.py      team names, seats for late joiners, team standings
    phases.py     the phase machine (start, advance, deadlines, end)
    scoring.py    points, streaks, the close of a question (totals and ranks)
    answers.py    answer intake, judged and stored in batches
    snapshots.py  what people see: public state, each player's view, (re)connect snapshots
    caches.py     what a process caches per game version
    bulk.py       many rows in one statement
    moments.py    datetimes to the clock's seconds and back

The names below are the package's interface: `services.start_game`, `services.join_game`...
"""

from .answers import REJECTIONS, AnswerOutcome, AnswerRequest, answer_progress, submit_answer, submit_answers
from .caches import clear_caches
from .games import GameRefused, create_game, running_game_by_pin
from .phases import (
    REVEAL_SECONDS,
    Transition,
    advance,
    advance_if_due,
    close_if_all_answered,
    end_game,
    set_auto_advance,
    start_game,
)
from .scoring import answer_points, streak_bonus
from .seats import (
    SEATS_SESSION_KEY,
    JoinRefused,
    join_game,
    kick,
    may_host,
    remember_seat,
    seat_in_session,
    set_extra_time,
    suggest_nickname,
)
from .snapshots import host_player, host_snapshot, player_snapshot, public_question

__all__ = [
    "REJECTIONS", "REVEAL_SECONDS", "SEATS_SESSION_KEY", "AnswerOutcome", "AnswerRequest", "GameRefused",
    "JoinRefused", "Transition", "advance", "advance_if_due", "answer_points", "answer_progress", "clear_caches",
    "close_if_all_answered", "create_game", "end_game", "host_player", "host_snapshot", "join_game", "kick",
    "may_host", "player_snapshot", "public_question", "remember_seat", "running_game_by_pin", "seat_in_session",
    "set_auto_advance", "set_extra_time", "start_game", "streak_bonus", "submit_answer", "submit_answers",
    "suggest_nickname",
]
