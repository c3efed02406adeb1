"""The game on the server: phases as compare-and-set, answers timed by the server, points, streaks, teams."""

import pytest
from django.db import IntegrityError

from attentive.refusals import Refused
from courses.models import Membership
from quizzes import services
from quizzes.models import Answer, Game, Player
from quizzes.nicknames import NicknameInvalid
from quizzes.services import games
from tests.conftest import make_user
from tests.quizzes.questions import shown


class Clock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("quizzes.timing.now", clock)
    return clock


def answer(game, player, payload, *, at: float, question: int | None = None):
    game.refresh_from_db()
    index = game.question_index if question is None else question
    return services.submit_answer(game.pk, player.pk, index, payload, at)


def opened_at(game) -> float:
    game.refresh_from_db()
    return game.game_questions.get(position=game.question_index).opened_at.timestamp()


def next_phase(game):
    game.refresh_from_db()
    return services.advance(game.pk, game.version)


def right(game) -> dict:
    """The right answer to the current single-choice question, where this game shows it."""
    return {"choice": shown(game, "Encoder-only")}


def wrong(game) -> dict:
    return {"choice": shown(game, "Decoder-only")}


def players(game, *nicknames):
    return [services.join_game(game=game, nickname=nickname) for nickname in nicknames]


# -- points ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("points", "fraction", "elapsed", "limit", "speed", "expected"), [
    (1000, 1.0, 0, 20, True, 1000),
    (1000, 1.0, 10, 20, True, 750),
    (1000, 1.0, 20, 20, True, 500),
    (2000, 1.0, 5, 20, True, 1750),
    (1000, 1.0, 3.7, 20, True, 908),  # round(1000 * (1 - 0.185 / 2)) = round(907.5) -> 908
    (1000, 0.5, 0, 20, True, 500),
    (1000, 1.0, 15, 20, False, 1000),
    (1000, 0.0, 0, 20, True, 0),
    (0, 1.0, 0, 20, True, 0),
    (1000, None, 0, 20, True, 0),
])
def test_answer_points_follow_kahoots_rule(points, fraction, elapsed, limit, speed, expected):
    assert services.answer_points(points, fraction, elapsed, limit, speed=speed) == expected


@pytest.mark.parametrize(("streak", "bonus"), [(0, 0), (1, 0), (2, 100), (3, 200), (6, 500), (12, 500)])
def test_the_streak_bonus_grows_by_100_from_the_second_right_answer_up_to_500(streak, bonus):
    assert services.streak_bonus(streak) == bonus


def test_an_answer_is_stored_with_its_streak_bonus_and_points_before_the_question_closes(make_game, clock):
    # The close of a 2,000-player question wrote every answer again; the streak before a question
    # is settled when its answers arrive, so they are stored complete.
    game = make_game(("single", "single"))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk, game.version)
    assert answer(game, ann, right(game), at=opened_at(game) + 2).accepted
    next_phase(game)  # reveal
    next_phase(game)  # scoreboard
    next_phase(game)  # the second question
    assert answer(game, ann, right(game), at=opened_at(game) + 4).accepted
    stored = Answer.objects.get(player=ann, game_question__position=1)
    assert (stored.base_points, stored.streak_bonus, stored.points) == (900, 100, 1000)
    next_phase(game)  # the close changes nothing of it
    stored.refresh_from_db()
    assert (stored.base_points, stored.streak_bonus, stored.points) == (900, 100, 1000)
    ann.refresh_from_db()
    assert (ann.score, ann.streak) == (950 + 1000, 2)


# -- a game ------------------------------------------------------------------------------------


def test_a_game_goes_through_every_phase_and_scores_on_the_servers_clock(make_game, clock):
    game = make_game(("single", "single", "poll"), reading_seconds=5)
    ann, bob, cat = players(game, "Ann", "Bob", "Cat")
    assert game.phase == Game.Phase.LOBBY

    started = services.start_game(game.pk, game.version)
    assert started.public["phase"] == "question"
    assert started.deadline_ms == round((clock.now + 5) * 1000)
    assert services.advance_if_due(game.pk, started.version) is None  # reading time not over
    clock.tick(5)
    opened = services.advance_if_due(game.pk, started.version)
    assert opened.public["phase"] == "answering"
    assert opened.deadline_ms == round((clock.now + 20) * 1000)

    start = opened_at(game)
    assert answer(game, ann, right(game), at=start + 2).accepted   # right, fast
    assert answer(game, bob, right(game), at=start + 10).accepted  # right, slower
    assert answer(game, cat, wrong(game), at=start + 1).accepted   # wrong
    clock.tick(20)
    revealed = services.advance_if_due(game.pk, opened.version)
    assert revealed.public["phase"] == "reveal"
    assert revealed.public["reveal"]["correct"] == [shown(game, "Encoder-only")]
    assert revealed.public["reveal"]["right"] == 2
    bars = revealed.public["reveal"]["bars"]
    assert {bar["label"]: bar["count"] for bar in bars} == {"Encoder-only": 2, "Decoder-only": 1, "Encoder-decoder": 0}
    assert [bar["label"] for bar in bars] == [choice["text"] for choice in revealed.public["question"]["choices"]]
    assert revealed.personal[str(ann.pk)]["result"] == {
        "answered": True, "joined_later": False, "correct": True, "fraction": 1.0, "points": 950, "streak_bonus": 0,
    }
    assert revealed.personal[str(cat.pk)]["result"]["points"] == 0
    assert [revealed.personal[str(p.pk)]["rank"] for p in (ann, bob, cat)] == [1, 2, 3]

    scoreboard = next_phase(game)
    assert [row["nickname"] for row in scoreboard.public["leaders"]] == ["Ann", "Bob", "Cat"]

    second = next_phase(game)
    assert second.public["phase"] == "question"
    assert second.public["question_index"] == 1
    clock.tick(5)
    services.advance_if_due(game.pk, second.version)
    start = opened_at(game)
    answer(game, ann, right(game), at=start + 20)  # right at the last moment: half points, and a streak
    answer(game, cat, right(game), at=start + 0)   # right at once
    revealed = next_phase(game)  # the host closes answers early
    ann.refresh_from_db()
    assert revealed.personal[str(ann.pk)]["result"] == {
        "answered": True, "joined_later": False, "correct": True, "fraction": 1.0, "points": 600, "streak_bonus": 100,
    }
    assert ann.score == 950 + 600
    assert ann.streak == 2
    bob.refresh_from_db()
    assert bob.streak == 0
    assert bob.score == 750
    assert revealed.personal[str(cat.pk)]["rank"] == 2
    assert revealed.personal[str(bob.pk)]["rank"] == 3
    scoreboard = next_phase(game)
    assert scoreboard.public["climbers"] == [
        {"nickname": "Cat", "score": 1000, "rank": 2, "streak": 1, "climb": 1, "team": None}]

    next_phase(game)  # the poll
    clock.tick(5)
    services.advance(game.pk, Game.objects.get(pk=game.pk).version)
    start = opened_at(game)
    answer(game, ann, {"choice": 1}, at=start + 1)
    revealed = next_phase(game)
    assert revealed.personal[str(ann.pk)]["result"]["points"] == 0
    ann.refresh_from_db()
    assert ann.streak == 2
    assert ann.score == 1550

    next_phase(game)
    podium = next_phase(game)
    assert podium.public["phase"] == "podium"
    assert [row["nickname"] for row in podium.public["leaders"]] == ["Ann", "Cat", "Bob"]
    game.refresh_from_db()
    assert game.finished_at is not None
    assert next_phase(game) is None  # nothing after the podium


def test_multiple_choice_scores_partial_points_and_breaks_the_streak(make_game, clock):
    game = make_game(("multiple",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    assert answer(game, ann, {"choices": [shown(game, "T5")]}, at=opened_at(game)).accepted
    revealed = next_phase(game)
    assert revealed.personal[str(ann.pk)]["result"] == {
        "answered": True, "joined_later": False, "correct": False, "fraction": 0.5, "points": 500, "streak_bonus": 0,
    }


def test_without_speed_points_every_right_answer_earns_the_full_points(make_game, clock):
    game = make_game(("single",), speed_points=False)
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    answer(game, ann, right(game), at=opened_at(game) + 19)
    next_phase(game)
    ann.refresh_from_db()
    assert ann.score == 1000


def test_double_points_and_no_points(make_game, clock):
    game = make_game(("single", "single"))
    game.game_questions.filter(position=0).update(data={**game.game_questions.get(position=0).data, "points": 2000})
    game.game_questions.filter(position=1).update(data={**game.game_questions.get(position=1).data, "points": 0})
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    answer(game, ann, right(game), at=opened_at(game))
    next_phase(game)
    next_phase(game)
    next_phase(game)
    answer(game, ann, right(game), at=opened_at(game))
    revealed = next_phase(game)
    assert revealed.personal[str(ann.pk)]["score"] == 2000
    assert revealed.personal[str(ann.pk)]["result"]["correct"] is True


def test_the_streak_bonus_stops_growing_at_500(make_game, clock):
    game = make_game(["true_false"] * 8, speed_points=False)
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    bonuses = []
    for question in range(8):
        answer(game, ann, {"choice": 1}, at=opened_at(game))
        bonuses.append(next_phase(game).personal[str(ann.pk)]["result"]["streak_bonus"])
        if question < 7:
            next_phase(game)
            next_phase(game)
    assert bonuses == [0, 100, 200, 300, 400, 500, 500, 500]


def test_extended_time_keeps_the_question_open_for_that_player_and_scales_t(make_game, clock):
    game = make_game(("single",), extra_time_factor=2.0)
    ann, bob = players(game, "Ann", "Bob")
    services.set_extra_time(game.pk, bob.pk, True)
    opened = services.start_game(game.pk)
    assert opened.deadline_ms == round((clock.now + 40) * 1000)
    start = opened_at(game)
    assert answer(game, ann, {"choice": 0}, at=start + 25).code == "closed"
    assert answer(game, bob, right(game), at=start + 30).accepted
    assert Answer.objects.get(player=bob).base_points == round(1000 * (1 - (30 / 40) / 2))
    clock.tick(39)
    assert services.advance_if_due(game.pk, opened.version) is None
    clock.tick(1)
    assert services.advance_if_due(game.pk, opened.version).public["phase"] == "reveal"


def test_team_mode_shares_players_out_and_ranks_teams_by_their_mean(make_game, clock):
    game = make_game(("single",), team_mode=True, team_count=2, speed_points=False)
    roster = players(game, "A", "B", "C", "D", "E")
    services.start_game(game.pk)
    teams = {player.pk: Player.objects.get(pk=player.pk).team for player in roster}
    assert sorted(teams.values()) == [0, 0, 0, 1, 1]
    team_zero = [player for player in roster if teams[player.pk] == 0]
    for player in team_zero[:2]:
        answer(game, player, right(game), at=opened_at(game))
    late = services.join_game(game=Game.objects.get(pk=game.pk), nickname="Late")
    assert late.team == 1  # the smaller team
    next_phase(game)
    standings = next_phase(game).public["teams"]
    assert standings[0] == {"team": 0, "name": "Team Red", "members": 3, "score": 667, "rank": 1}
    assert standings[1] == {"team": 1, "name": "Team Blue", "members": 3, "score": 0, "rank": 2}


def test_ending_the_game_while_answering_scores_what_was_answered(make_game, clock):
    game = make_game(("single", "single"))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    answer(game, ann, right(game), at=opened_at(game))
    podium = services.end_game(game.pk)
    assert podium.public["phase"] == "podium"
    assert podium.personal[str(ann.pk)]["score"] == 1000
    assert services.end_game(game.pk) is None


# -- who moves the game on ---------------------------------------------------------------------


def test_a_phase_change_happens_once_for_one_version(make_game, clock):
    game = make_game(("single",))
    players(game, "Ann")
    started = services.start_game(game.pk, game.version)
    assert services.start_game(game.pk, game.version) is None
    assert services.advance(game.pk, started.version) is not None
    assert services.advance(game.pk, started.version) is None  # a double click, or a second process


def test_the_clock_does_not_advance_a_phase_without_a_deadline(make_game, clock):
    game = make_game(("single",))
    players(game, "Ann")
    started = services.start_game(game.pk)
    revealed = services.advance(game.pk, started.version)
    clock.tick(3600)
    assert services.advance_if_due(game.pk, revealed.version) is None


def test_auto_advance_sets_deadlines_after_the_reveal_and_the_scoreboard(make_game, clock):
    game = make_game(("single", "single"), auto_advance=True)
    players(game, "Ann")
    started = services.start_game(game.pk)
    revealed = services.advance(game.pk, started.version)
    assert revealed.deadline_ms == round((clock.now + services.REVEAL_SECONDS) * 1000)
    clock.tick(services.REVEAL_SECONDS)
    scoreboard = services.advance_if_due(game.pk, revealed.version)
    assert scoreboard.public["phase"] == "scoreboard"
    turned_off = services.set_auto_advance(game.pk, scoreboard.version, False)
    assert turned_off.deadline_ms is None
    clock.tick(60)
    assert services.advance_if_due(game.pk, turned_off.version) is None


def test_the_question_closes_early_once_everyone_answered(make_game, clock):
    game = make_game(("single",))
    ann, bob = players(game, "Ann", "Bob")
    started = services.start_game(game.pk)
    answer(game, ann, right(game), at=opened_at(game))
    assert services.close_if_all_answered(game.pk, started.version) is None
    services.kick(game.pk, bob.pk)
    assert services.close_if_all_answered(game.pk, started.version).public["phase"] == "reveal"


# -- answers -----------------------------------------------------------------------------------


def test_one_answer_per_player_per_question_the_first_counts(make_game, clock):
    game = make_game(("single",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    start = opened_at(game)
    assert answer(game, ann, wrong(game), at=start + 1).accepted
    second = answer(game, ann, right(game), at=start + 2)
    assert (second.accepted, second.code) == (False, "duplicate")
    assert Answer.objects.get(player=ann).answer == 1  # stored as the author wrote it: "Decoder-only"


def test_the_database_itself_refuses_a_second_answer(make_game, clock):
    game = make_game(("single",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    answer(game, ann, wrong(game), at=opened_at(game))
    first = Answer.objects.get(player=ann)
    with pytest.raises(IntegrityError):
        Answer.objects.create(player=ann, game_question=first.game_question, answer=0, received_at=first.received_at,
                              elapsed_ms=0)


def test_no_answer_before_the_question_opens(make_game, clock):
    game = make_game(("single",), reading_seconds=5)
    (ann,) = players(game, "Ann")
    assert answer(game, ann, {"choice": 0}, at=clock.now, question=0).code == "not-open"  # lobby
    services.start_game(game.pk)
    assert answer(game, ann, {"choice": 0}, at=clock.now).code == "not-open"  # reading time


def test_no_answer_after_the_deadline_even_before_the_question_is_closed(make_game, clock):
    game = make_game(("single",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    assert answer(game, ann, {"choice": 0}, at=opened_at(game) + 20.01).code == "closed"
    assert not Answer.objects.exists()


def test_no_answer_after_the_question_closed(make_game, clock):
    game = make_game(("single", "single"))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    next_phase(game)
    assert answer(game, ann, {"choice": 0}, at=clock.now).code == "closed"


def test_no_answer_for_a_question_that_is_not_current(make_game, clock):
    game = make_game(("single", "single"))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    assert answer(game, ann, {"choice": 0}, at=clock.now, question=1).code == "not-current"
    assert answer(game, ann, {"choice": 0}, at=clock.now, question="0").code == "not-current"
    next_phase(game)
    next_phase(game)
    next_phase(game)
    assert answer(game, ann, {"choice": 0}, at=clock.now, question=0).code == "closed"


def test_a_removed_player_cannot_answer(make_game, clock):
    game = make_game(("single",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    services.kick(game.pk, ann.pk)
    assert answer(game, ann, {"choice": 0}, at=clock.now).code == "removed"


def test_a_malformed_answer_is_refused_with_a_reason(make_game, clock):
    game = make_game(("single",))
    (ann,) = players(game, "Ann")
    services.start_game(game.pk)
    outcome = answer(game, ann, {"choice": 7}, at=clock.now)
    assert (outcome.accepted, outcome.code, outcome.message) == (False, "invalid", "pick one of the answers")


# -- creating and joining ----------------------------------------------------------------------


def test_running_games_never_share_a_pin(make_game, monkeypatch):
    pins = iter(["111111", "111111", "222222"])
    monkeypatch.setattr(games, "new_pin", lambda: next(pins))
    assert make_game().pin == "111111"
    assert make_game().pin == "222222"


def test_a_quiz_without_questions_cannot_be_played(make_quiz, cast):
    with pytest.raises(services.GameRefused, match="no questions yet"):
        services.create_game(quiz=make_quiz(kinds=()), host=cast.instructor)


def test_a_finished_game_refuses_a_seat_as_every_refusal_does(make_game):
    game = make_game()
    services.end_game(game.pk)
    game.refresh_from_db()
    with pytest.raises(Refused, match="This game is over") as refused:
        services.join_game(game=game, nickname="Late")
    assert isinstance(refused.value, services.JoinRefused)


def test_nicknames_are_unique_ignoring_case_and_accents(make_game):
    game = make_game()
    services.join_game(game=game, nickname="Zoé")
    with pytest.raises(NicknameInvalid, match="is taken"):
        services.join_game(game=game, nickname="  zoe ")


@pytest.mark.parametrize("nickname", ["", "x" * 21, "b1tch", "F U C K", "---", "bell\x07"])
def test_bad_nicknames_are_refused(make_game, nickname):
    with pytest.raises(NicknameInvalid):
        services.join_game(game=make_game(), nickname=nickname)


def test_a_course_account_gets_its_seat_back(make_game, cast):
    game = make_game()
    first = services.join_game(game=game, nickname="Sara", user=cast.student)
    again = services.join_game(game=game, nickname="Someone else", user=cast.student)
    assert again.pk == first.pk
    assert again.user == cast.student


def test_an_outsider_account_joins_as_a_nickname_only(make_game, cast):
    player = services.join_game(game=make_game(), nickname="Otto", user=cast.outsider)
    assert player.user is None


def test_a_game_for_course_accounts_refuses_others(make_game, cast):
    game = make_game(accounts_only=True)
    with pytest.raises(services.JoinRefused, match="members of the course"):
        services.join_game(game=game, nickname="Anon")
    with pytest.raises(services.JoinRefused):
        services.join_game(game=game, nickname="Otto", user=cast.outsider)
    assert services.join_game(game=game, nickname="Sara", user=cast.student).user == cast.student


def test_nobody_joins_a_finished_game(make_game):
    game = make_game()
    services.end_game(game.pk)
    with pytest.raises(services.JoinRefused, match="over"):
        services.join_game(game=Game.objects.get(pk=game.pk), nickname="Late")


def test_only_course_staff_may_host(make_game, cast):
    game = make_game()
    assert services.may_host(cast.instructor, game.pk)
    assert services.may_host(cast.ta, game.pk)
    assert not services.may_host(cast.student, game.pk)
    assert not services.may_host(cast.outsider, game.pk)
    other = make_user("visitor")
    Membership.objects.create(user=other, course=cast.other_course, role=Membership.Role.INSTRUCTOR)
    assert not services.may_host(other, game.pk)


# -- answers in batches ------------------------------------------------------------------------


def test_a_batch_of_answers_is_judged_like_single_answers(make_game, clock):
    game = make_game(("single",))
    ann, bob, cat, dan = players(game, "Ann", "Bob", "Cat", "Dan")
    services.start_game(game.pk)
    services.kick(game.pk, dan.pk)
    start = opened_at(game)
    right_choice, wrong_choice = right(game), wrong(game)
    request = services.AnswerRequest
    outcomes = services.submit_answers([
        request(game.pk, ann.pk, 0, right_choice, start + 1),
        request(game.pk, bob.pk, 0, wrong_choice, start + 2),
        request(game.pk, ann.pk, 0, wrong_choice, start + 3),   # Ann again, in the same batch: her first counts
        request(game.pk, cat.pk, 0, {"choice": 9}, start + 3),  # not an answer
        request(game.pk, dan.pk, 0, right_choice, start + 3),   # removed by the host
        request(game.pk, cat.pk, "0", right_choice, start + 3),  # not a question
        request(game.pk, cat.pk, 0, right_choice, start + 25),  # too late
    ])
    assert [outcome.code for outcome in outcomes] == [
        "received", "received", "duplicate", "invalid", "removed", "not-current", "closed"]
    stored = {answer.player_id: answer for answer in Answer.objects.all()}
    assert set(stored) == {ann.pk, bob.pk}
    assert (stored[ann.pk].fraction, stored[ann.pk].base_points) == (1.0, round(1000 * (1 - (1 / 20) / 2)))
    assert stored[bob.pk].fraction == 0.0
    # A later batch cannot add a second answer either.
    again = services.submit_answers([request(game.pk, bob.pk, 0, right_choice, start + 4)])
    assert [outcome.code for outcome in again] == ["duplicate"]
    assert Answer.objects.get(player=bob).fraction == 0.0
