"""The live game over WebSockets, as phones and a projector see it: every phase, every integrity rule."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from quizzes import consumers, services, timing
from quizzes.models import Answer, Game, Player
from quizzes.services import phases
from tests.quizzes.conftest import Phone, Projector, communicator, login_session, seat
from tests.quizzes.questions import shown_in

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def table(cast, make_game):
    """A game (three questions unless told) with two seated players and the instructor's projector."""

    async def build(kinds=("single", "multiple", "true_false"), **options):
        def setup():
            game = make_game(kinds, **options)
            return game, *seat(game, "Ann"), *seat(game, "Bob"), login_session(cast.instructor)

        game, ann, ann_session, bob, bob_session, host_session = await database_sync_to_async(setup)()
        return game, (ann, Phone(game, ann_session)), (bob, Phone(game, bob_session)), Projector(game, host_session)

    return build


async def projector_for(game, user) -> Projector:
    return Projector(game, await database_sync_to_async(login_session)(user))


async def everyone(*connections, phase):
    return [await connection.phase(phase) for connection in connections]


async def test_a_full_game_through_every_phase(table):
    _game, (_ann, ann_phone), (_bob, bob_phone), projector = await table(reading_seconds=10)
    lobby = await projector.connect()
    assert lobby["state"]["phase"] == "lobby"
    assert [player["nickname"] for player in lobby["players"]] == ["Ann", "Bob"]
    first = await ann_phone.connect()
    assert first["state"]["phase"] == "lobby"
    assert first["me"]["nickname"] == "Ann"
    await bob_phone.connect()

    await projector.command("start", version=lobby["state"]["version"])
    reading, _, _ = await everyone(projector, ann_phone, bob_phone, phase="question")
    assert reading["state"]["question"]["index"] == 0
    assert reading["state"]["deadline"] is not None

    await projector.command("next", version=reading["state"]["version"])  # skip the reading time
    opened, _, _ = await everyone(projector, ann_phone, bob_phone, phase="answering")
    assert opened["state"]["question"]["opened_at"] is not None

    right, wrong = shown_in(opened["state"], "Encoder-only"), shown_in(opened["state"], "Encoder-decoder")
    ack = await ann_phone.answer(0, {"choice": right})
    assert ack["type"] == "ack"
    assert ack["message"] == "Answer received."
    count = await projector.receive_until(lambda m: m["type"] == "answered")
    assert (count["answered"], count["players"]) == (1, 2)

    await bob_phone.answer(0, {"choice": wrong})
    # Everyone answered: the server closes the question by itself.
    revealed, ann_reveal, bob_reveal = await everyone(projector, ann_phone, bob_phone, phase="reveal")
    assert revealed["state"]["reveal"]["correct"] == [right]
    assert ann_reveal["me"]["result"]["correct"] is True
    assert ann_reveal["me"]["result"]["points"] > 500
    assert bob_reveal["me"]["result"]["correct"] is False
    assert ann_reveal["me"]["rank"] == 1
    assert "me" not in revealed  # the projector gets no player's private news

    await projector.command("next", version=revealed["state"]["version"])
    scoreboard, _ann_board, _ = await everyone(projector, ann_phone, bob_phone, phase="scoreboard")
    assert [leader["nickname"] for leader in scoreboard["state"]["leaders"]] == ["Ann", "Bob"]

    for question in (1, 2):
        await projector.command("next", version=scoreboard["state"]["version"])
        reading, _, _ = await everyone(projector, ann_phone, bob_phone, phase="question")
        assert reading["state"]["question_index"] == question
        await projector.command("next", version=reading["state"]["version"])
        opened, _, _ = await everyone(projector, ann_phone, bob_phone, phase="answering")
        await projector.command("next", version=opened["state"]["version"])  # nobody answers: close now
        revealed, ann_reveal, _ = await everyone(projector, ann_phone, bob_phone, phase="reveal")
        assert ann_reveal["me"]["result"] == {"answered": False, "joined_later": False, "correct": False,
                                              "fraction": 0, "points": 0, "streak_bonus": 0}
        await projector.command("next", version=revealed["state"]["version"])
        scoreboard, _, _ = await everyone(projector, ann_phone, bob_phone, phase="scoreboard")

    await projector.command("next", version=scoreboard["state"]["version"])
    podium, ann_podium, bob_podium = await everyone(projector, ann_phone, bob_phone, phase="podium")
    assert [leader["nickname"] for leader in podium["state"]["leaders"]] == ["Ann", "Bob"]
    assert ann_podium["me"]["rank"] == 1
    assert bob_podium["me"]["rank"] == 2
    for connection in (projector, ann_phone, bob_phone):
        await connection.close()


async def test_the_reading_time_and_the_answering_time_end_by_the_servers_clock(table):
    game, (_ann, ann_phone), _, projector = await table(("single",), reading_seconds=1)
    await database_sync_to_async(services.kick)(game.pk, (await database_sync_to_async(
        lambda: Player.objects.get(game=game, nickname="Bob").pk)()))
    await database_sync_to_async(
        lambda: game.game_questions.filter(position=0).update(data={**game.game_questions.get().data, "time_limit": 1})
    )()
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    await ann_phone.phase("question")
    opened = await ann_phone.phase("answering", timeout=3)  # after one second of reading
    revealed = await ann_phone.phase("reveal", timeout=3)  # after one second of answering
    assert revealed["state"]["phase_started_at"] - opened["state"]["phase_started_at"] >= 1000
    assert revealed["me"]["result"]["answered"] is False
    await ann_phone.close()
    await projector.close()


async def test_auto_advance_moves_from_the_reveal_to_the_next_question(table, monkeypatch):
    monkeypatch.setattr(phases, "REVEAL_SECONDS", 0.2)
    monkeypatch.setattr(phases, "SCOREBOARD_SECONDS", 0.2)
    _game, (_ann, ann_phone), _, projector = await table(("single", "single"), auto_advance=True)
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await ann_phone.phase("answering")
    await projector.command("next", version=opened["state"]["version"])
    await ann_phone.phase("reveal")
    await ann_phone.phase("scoreboard", timeout=2)
    second = await ann_phone.phase("answering", timeout=2)
    assert second["state"]["question_index"] == 1
    await ann_phone.close()
    await projector.close()


# -- integrity ---------------------------------------------------------------------------------


def _answers_in(frames: list[str]) -> list[str]:
    """Everything in these frames that could give a right answer away."""
    found = []
    for frame in frames:
        message = json.loads(frame)
        state = message.get("state", {})
        for key in ("reveal",):
            if key in state:
                found.append(f"state.{key}")
        question = json.dumps(state.get("question", {}))
        for secret in ('"correct"', '"accepted"', "Zanzibarcher", "7.25", '"tolerance"', '"order"'):
            if secret in question or (secret in frame and secret != '"order"'):
                found.append(secret)
        if "result" in message.get("me", {}):
            found.append("me.result")
    return found


async def test_the_right_answer_is_never_sent_before_the_reveal(table):
    kinds = ("single", "multiple", "true_false", "type_answer", "slider", "ordering")
    game, (_ann, ann_phone), (_bob, bob_phone), projector = await table(kinds, reading_seconds=10)
    lobby = await projector.connect()
    await ann_phone.connect()
    await bob_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    payloads = {"single": {"choice": 1}, "multiple": {"choices": [0]}, "true_false": {"choice": 0},
                "type_answer": {"text": "nope"}, "slider": {"value": 1}, "ordering": {"order": [0, 1, 2, 3]}}
    for index, kind in enumerate(kinds):
        ann_phone.frames.clear()
        projector.frames.clear()
        reading = await projector.phase("question")
        await projector.command("next", version=reading["state"]["version"])
        opened = await ann_phone.phase("answering")
        assert opened["state"]["question"]["kind"] == kind
        await ann_phone.answer(index, payloads[kind])
        # Reconnecting mid-question is a new snapshot; it must not carry the answer either.
        _late, late_session = await database_sync_to_async(seat)(game, f"Late {index}")
        late_phone = Phone(game, late_session)
        await late_phone.connect()
        await projector.receive_until(lambda m: m["type"] == "answered")
        assert _answers_in(ann_phone.frames + projector.frames + late_phone.frames) == [], kind
        await late_phone.close()
        await projector.command("next", version=opened["state"]["version"])
        revealed = await ann_phone.phase("reveal")
        assert _answers_in([json.dumps(revealed)]) != []  # the check above would have seen it
        await projector.command("next", version=revealed["state"]["version"])
        scoreboard = await projector.phase("scoreboard")
        if index + 1 < len(kinds):
            await projector.command("next", version=scoreboard["state"]["version"])
    for connection in (projector, ann_phone, bob_phone):
        await connection.close()


async def test_one_answer_per_player_and_question_the_first_counts(table):
    _game, (_ann, ann_phone), (_bob, _bob_phone), projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await ann_phone.phase("answering")
    assert (await ann_phone.answer(0, {"choice": shown_in(opened["state"], "Decoder-only")}))["type"] == "ack"
    second = await ann_phone.answer(0, {"choice": shown_in(opened["state"], "Encoder-only")})
    assert (second["type"], second["code"]) == ("rejected", "duplicate")
    # A second tab of the same seat is the same player.
    other_tab = ann_phone.another_tab()
    snapshot = await other_tab.connect()
    assert snapshot["me"]["answered"] is True
    assert (await other_tab.answer(0, {"choice": 0}))["code"] == "duplicate"
    assert await database_sync_to_async(lambda: list(Answer.objects.values_list("answer", flat=True)))() == [1]
    for connection in (projector, ann_phone, other_tab):
        await connection.close()


async def test_simultaneous_answers_from_one_seat_store_exactly_one(table):
    _game, (_ann, ann_phone), _, projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    tabs = [ann_phone.another_tab() for _ in range(4)]
    for tab in tabs:
        await tab.connect()
    await projector.command("start", version=lobby["state"]["version"])
    for tab in tabs:
        await tab.phase("answering")
    for choice, tab in enumerate(tabs):
        await tab.send({"type": "answer", "question": 0, "answer": {"choice": choice % 3}})
    results = [await tab.receive_until(lambda m: m["type"] in ("ack", "rejected")) for tab in tabs]
    assert sorted(result["type"] for result in results) == ["ack", "rejected", "rejected", "rejected"]
    assert await database_sync_to_async(Answer.objects.count)() == 1
    for connection in (projector, ann_phone, *tabs):
        await connection.close()


async def test_no_answer_before_the_question_opens_or_after_it_closes(table):
    _game, (_ann, ann_phone), _, projector = await table(("single", "single"), reading_seconds=10)
    lobby = await projector.connect()
    await ann_phone.connect()
    assert (await ann_phone.answer(0, {"choice": 0}))["code"] == "not-open"  # lobby
    await projector.command("start", version=lobby["state"]["version"])
    reading = await ann_phone.phase("question")
    refused = await ann_phone.answer(0, {"choice": 0})
    assert (refused["code"], refused["message"]) == ("not-open", "Wait for the question to open.")
    await projector.command("next", version=reading["state"]["version"])
    opened = await ann_phone.phase("answering")
    await projector.command("next", version=opened["state"]["version"])
    await ann_phone.phase("reveal")
    closed = await ann_phone.answer(0, {"choice": 0})
    assert (closed["code"], closed["message"]) == ("closed", "Time is up: answers to this question are closed.")
    assert await database_sync_to_async(Answer.objects.count)() == 0
    await ann_phone.close()
    await projector.close()


async def test_no_answer_after_the_deadline_even_if_the_close_is_late(table, monkeypatch):
    _game, (_ann, ann_phone), _, projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    await ann_phone.phase("answering")
    real_now = timing.now
    # The phone's message reaches the server 21 s after the question opened (T = 20 s).
    monkeypatch.setattr("quizzes.consumers.timing.now", lambda: real_now() + 21)
    assert (await ann_phone.answer(0, {"choice": 0}))["code"] == "closed"
    await ann_phone.close()
    await projector.close()


async def test_no_answer_for_a_question_that_is_not_current(table):
    _game, (_ann, ann_phone), _, projector = await table(("single", "single"))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    await ann_phone.phase("answering")
    for question in (1, 5, "0", None, -1):
        refused = await ann_phone.answer(question, {"choice": 0})
        assert refused["type"] == "rejected", question
    assert (await ann_phone.answer(1, {"choice": 0}))["code"] == "not-current"
    await ann_phone.close()
    await projector.close()


async def test_a_connection_without_a_seat_is_refused(table, cast):
    game, *_ = await table()
    for session in (None, await database_sync_to_async(login_session)(cast.student)):
        phone = communicator(f"/ws/quiz/{game.pk}/play/", session)
        assert (await phone.connect())[0]
        refused = json.loads(await phone.receive_from())
        assert refused["code"] == "no-seat"
        assert (await phone.receive_output())["code"] == consumers.CLOSE_NO_SEAT


async def test_a_seat_does_not_open_another_game(table, make_game):
    _game, (_ann, ann_phone), *_ = await table()
    other = await database_sync_to_async(make_game)()
    phone = communicator(f"/ws/quiz/{other.pk}/play/", ann_phone.session_key)
    await phone.connect()
    assert json.loads(await phone.receive_from())["code"] == "no-seat"


async def test_a_player_cannot_answer_for_another(table):
    _game, (ann, ann_phone), (bob, _), projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    await ann_phone.phase("answering")
    # Fields naming another player are ignored: the seat is the connection's.
    await ann_phone.answer(0, {"choice": 0}, player=bob.pk, player_id=bob.pk, seat_token="x")
    stored = await database_sync_to_async(lambda: list(Answer.objects.values_list("player_id", flat=True)))()
    assert stored == [ann.pk]
    await ann_phone.close()
    await projector.close()


async def test_players_cannot_run_the_game_and_students_cannot_host(table, cast):
    game, (_ann, ann_phone), _, _ = await table()
    await ann_phone.connect()
    await ann_phone.send({"type": "start", "version": 1})
    assert (await ann_phone.receive())["code"] == "unknown"
    for user in (cast.student, cast.outsider):
        projector = await projector_for(game, user)
        assert (await projector.connection.connect())[0]
        assert (await projector.receive())["code"] == "not-host"
    state = await database_sync_to_async(lambda: Game.objects.get(pk=game.pk).phase)()
    assert state == "lobby"
    await ann_phone.close()


async def test_a_teaching_assistant_can_host(table, cast):
    game, *_ = await table()
    projector = await projector_for(game, cast.ta)
    assert (await projector.connect())["state"]["phase"] == "lobby"
    await projector.close()


async def test_a_stale_command_changes_nothing_and_resends_the_state(table):
    _game, (_ann, _ann_phone), _, projector = await table()
    lobby = await projector.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await projector.phase("answering")
    await projector.command("next", version=lobby["state"]["version"])  # a second click on an old screen
    assert (await projector.receive())["type"] == "stale"
    fresh = await projector.receive()
    assert fresh["state"]["version"] == opened["state"]["version"]
    await projector.close()


async def test_kicked_players_are_disconnected_and_cannot_come_back(table):
    _game, (ann, ann_phone), (_bob, bob_phone), projector = await table()
    await projector.connect()
    await ann_phone.connect()
    await bob_phone.connect()
    await projector.command("kick", player=ann.pk)
    kicked = await ann_phone.receive_until(lambda m: m["type"] == "error")
    assert kicked["code"] == "kicked"
    assert (await ann_phone.connection.receive_output())["code"] == consumers.CLOSE_KICKED
    assert (await projector.receive_until(lambda m: m["type"] == "player_left"))["player"] == ann.pk
    again = ann_phone.another_tab()
    await again.connection.connect()
    assert (await again.receive())["code"] == "kicked"
    assert await bob_phone.nothing_more()
    await bob_phone.close()
    await projector.close()


async def test_extra_time_reaches_only_that_player(table):
    _game, (_ann, ann_phone), (bob, bob_phone), projector = await table()
    await projector.connect()
    await ann_phone.connect()
    await bob_phone.connect()
    await projector.command("extra_time", player=bob.pk, on=True)
    changed = await projector.receive_until(lambda m: m["type"] == "player_changed")
    assert changed["player"]["extra_time"] is True
    assert (await bob_phone.receive())["me"] == {"time_factor": 1.5}
    assert await ann_phone.nothing_more()
    for connection in (projector, ann_phone, bob_phone):
        await connection.close()


async def test_a_flood_of_messages_is_throttled_then_disconnected(table):
    _game, (_ann, ann_phone), *_ = await table()
    await ann_phone.connect()
    replies = []
    for number in range(consumers.PLAYER_BURST + 5):
        await ann_phone.send({"type": "ping", "ref": number})
        replies.append((await ann_phone.receive())["type"])
    assert replies.count("pong") >= consumers.PLAYER_BURST
    assert replies[-1] == "throttled"
    for _ in range(consumers.MAX_THROTTLED + 1):
        await ann_phone.send({"type": "ping"})
    closed = await ann_phone.receive_until(lambda m: m["type"] == "error", timeout=5)
    assert closed["code"] == "throttled"


async def test_garbage_is_answered_politely(table):
    _game, (_ann, ann_phone), *_ = await table()
    await ann_phone.connect()
    for garbage in ("not json", "[1, 2]", '{"no": "type"}'):
        await ann_phone.connection.send_to(text_data=garbage)
        assert (await ann_phone.receive())["code"] == "bad-message"
    await ann_phone.close()


# -- coming back -------------------------------------------------------------------------------


async def test_a_player_who_reconnects_gets_the_same_seat_score_and_phase(table):
    _game, (ann, ann_phone), (_bob, _bob_phone), projector = await table(("single", "single"))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await ann_phone.phase("answering")
    right = shown_in(opened["state"], "Encoder-only")
    await ann_phone.answer(0, {"choice": right})
    await ann_phone.close()

    back = ann_phone.another_tab()
    snapshot = await back.connect()
    assert snapshot["state"]["phase"] == "answering"
    assert snapshot["state"]["question"]["choices"] == opened["state"]["question"]["choices"]  # the same order
    assert snapshot["me"]["answered"] is True
    await back.close()

    await projector.command("next", version=opened["state"]["version"])
    revealed = await projector.phase("reveal")
    again = ann_phone.another_tab()
    snapshot = await again.connect()
    assert snapshot["state"]["phase"] == "reveal"
    assert snapshot["state"]["reveal"]["correct"] == [right]
    assert snapshot["me"]["result"]["correct"] is True
    assert snapshot["me"]["score"] == snapshot["me"]["result"]["points"] > 0
    assert snapshot["me"]["id"] == ann.pk
    assert snapshot["me"]["rank"] == 1
    await projector.command("next", version=revealed["state"]["version"])
    assert (await again.phase("scoreboard"))["state"]["question_index"] == 0
    await again.close()
    await projector.close()


async def test_a_player_who_joins_while_a_question_is_open_gets_it_with_the_time_left(table, monkeypatch):
    game, _ann, _bob, projector = await table(("single",))
    lobby = await projector.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await projector.phase("answering")
    real_now = timing.now
    monkeypatch.setattr("quizzes.timing.now", lambda: real_now() + 5)  # five seconds into the question
    _late, late_session = await database_sync_to_async(seat)(game, "Late")
    late_phone = Phone(game, late_session)
    snapshot = await late_phone.connect()
    state = snapshot["state"]
    assert (state["phase"], state["question_index"], snapshot["me"]["answered"]) == ("answering", 0, False)
    assert "result" not in snapshot["me"]
    assert state["question"]["choices"] == opened["state"]["question"]["choices"]
    left_ms = state["deadline"] - timing.to_ms(timing.now())
    assert 14_000 < left_ms <= 15_000
    ack = await late_phone.answer(0, {"choice": shown_in(state, "Encoder-only")})
    assert ack["type"] == "ack"
    await projector.command("next", version=state["version"])
    revealed = await late_phone.phase("reveal")
    assert revealed["me"]["result"]["correct"] is True
    assert 860 <= revealed["me"]["result"]["points"] <= 875  # round(1000 * (1 - (5 / 20) / 2)) = 875
    for connection in (projector, late_phone):
        await connection.close()


async def test_a_player_seated_after_an_early_close_is_not_told_they_missed_the_question(table):
    # Issue 17: a phone opened the join page while the question was open; the players already
    # seated all answered, so the question closed at once, and the phone, seated a moment later,
    # was told "Time's up - No answer": its snapshot said "not answered" like a player who let the
    # time run out.
    game, (_ann, ann_phone), (_bob, bob_phone), projector = await table(("single", "single"))
    lobby = await projector.connect()
    await ann_phone.connect()
    await bob_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await ann_phone.phase("answering")
    await ann_phone.answer(0, {"choice": shown_in(opened["state"], "Encoder-only")})
    await bob_phone.answer(0, {"choice": shown_in(opened["state"], "Decoder-only")})
    revealed = await projector.phase("reveal")  # everyone seated answered: closed early
    assert revealed["state"]["reveal"]["players"] == 2

    _late, late_session = await database_sync_to_async(seat)(game, "Late")
    late_phone = Phone(game, late_session)
    snapshot = await late_phone.connect()
    assert snapshot["state"]["phase"] == "reveal"
    assert snapshot["me"]["result"]["answered"] is False
    assert snapshot["me"]["result"]["joined_later"] is True
    assert (await ann_phone.another_tab().connect())["me"]["result"]["joined_later"] is False

    await projector.command("next", version=revealed["state"]["version"])
    board = await late_phone.phase("scoreboard")
    assert board["state"]["question_index"] == 0
    await projector.command("next", version=board["state"]["version"])
    second = await late_phone.phase("answering")  # the next question is theirs
    assert (await late_phone.answer(1, {"choice": shown_in(second["state"], "Encoder-only")}))["type"] == "ack"
    for connection in (projector, ann_phone, bob_phone, late_phone):
        await connection.close()


async def test_a_seated_player_who_did_not_answer_is_told_so(table):
    _game, (_ann, ann_phone), (_bob, _bob_phone), projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await ann_phone.phase("answering")
    await projector.command("next", version=opened["state"]["version"])  # the host stops the answers
    revealed = await ann_phone.phase("reveal")
    assert (revealed["me"]["result"]["answered"], revealed["me"]["result"]["joined_later"]) == (False, False)
    again = await ann_phone.another_tab().connect()
    assert (again["me"]["result"]["answered"], again["me"]["result"]["joined_later"]) == (False, False)
    for connection in (projector, ann_phone):
        await connection.close()


async def test_frames_go_to_the_socket_without_the_session_wrapper(table, monkeypatch):
    # Channels' wrapper checked the session on every frame sent, for nothing: a quarter of a reveal.
    from channels.sessions import InstanceSessionWrapper

    wrapped = []
    real_send = InstanceSessionWrapper.send

    async def send(self, message):
        wrapped.append(message["type"])
        await real_send(self, message)

    monkeypatch.setattr(InstanceSessionWrapper, "send", send)
    _game, (_ann, ann_phone), _bob, _projector = await table(("single",))
    snapshot = await ann_phone.connect()
    assert snapshot["me"]["nickname"] == "Ann"  # the session still found the seat
    assert wrapped == []
    await ann_phone.close()


async def test_the_host_screen_can_be_reloaded_mid_game(table):
    _game, (_ann, ann_phone), _, projector = await table(("single",))
    lobby = await projector.connect()
    await ann_phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    opened = await projector.phase("answering")
    await ann_phone.answer(0, {"choice": shown_in(opened["state"], "Encoder-only")})
    await projector.close()
    reloaded = projector.another_tab()
    snapshot = await reloaded.connect()
    assert snapshot["state"]["phase"] == "answering"
    assert snapshot["answered"] == 1
    assert [player["nickname"] for player in snapshot["players"]] == ["Ann", "Bob"]
    await reloaded.command("next", version=snapshot["state"]["version"])
    assert (await ann_phone.phase("reveal"))["me"]["result"]["correct"] is True
    await reloaded.close()
    await ann_phone.close()


async def test_a_deadline_that_passed_while_nobody_watched_is_caught_up_on_connect(table, monkeypatch):
    game, (_ann, ann_phone), *_ = await table(("single",))
    await database_sync_to_async(services.start_game)(game.pk)
    real_now = timing.now
    monkeypatch.setattr("quizzes.timing.now", lambda: real_now() + 60)
    snapshot = await ann_phone.connect()
    assert snapshot["state"]["phase"] == "answering"
    assert (await ann_phone.phase("reveal"))["me"]["result"]["answered"] is False
    await ann_phone.close()


async def test_phones_and_the_projector_measure_their_clock_against_the_servers(table):
    _game, (_ann, ann_phone), _, projector = await table()
    for screen in (ann_phone, projector):
        await screen.connect()
        await screen.send({"type": "ping", "ref": 1234})
        pong = await screen.receive()
        assert (pong["type"], pong["ref"]) == ("pong", 1234)
        assert abs(pong["now"] - timing.to_ms(timing.now())) < 5_000
        await screen.close()


async def test_a_screen_that_missed_a_change_asks_for_the_state_and_catches_up(table, monkeypatch):
    game, (_ann, ann_phone), _, projector = await table(("single",), reading_seconds=30)
    await ann_phone.connect()
    await projector.connect()
    # The game starts and its news is lost on the way (nothing is broadcast).
    await database_sync_to_async(services.start_game)(game.pk)
    assert await ann_phone.nothing_more()
    for screen in (ann_phone, projector):
        await screen.send({"type": "sync"})
        assert (await screen.receive())["state"]["phase"] == "question"
    # Its reading time ran out unnoticed too: asking again moves the game on for everyone.
    real_now = timing.now
    monkeypatch.setattr("quizzes.timing.now", lambda: real_now() + 60)
    await ann_phone.send({"type": "sync"})
    assert (await ann_phone.receive())["state"]["phase"] == "question"
    assert (await ann_phone.phase("answering"))["state"]["question"]["opened_at"] is not None
    assert (await projector.phase("answering"))["state"]["question"]["index"] == 0
    await ann_phone.close()
    await projector.close()


async def test_a_joining_player_appears_on_the_projector(table, client):
    game, *_ , projector = await table()
    await projector.connect()
    response = await database_sync_to_async(client.post)(f"/play/{game.pin}/", {"nickname": "Chloé"})
    assert response.status_code == 302
    joined = await projector.receive_until(lambda m: m["type"] == "player_joined")
    assert joined["player"]["nickname"] == "Chloé"
    await projector.close()


async def test_answers_arriving_together_are_all_counted(table, cast):
    game, *_ , projector = await table(("single",))
    seats = [await database_sync_to_async(seat)(game, f"Player {number}") for number in range(12)]
    phones = [Phone(game, session) for _, session in seats]
    lobby = await projector.connect()
    for phone in phones:
        await phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    for phone in phones:
        await phone.phase("answering")
    await asyncio.gather(*(phone.send({"type": "answer", "question": 0, "answer": {"choice": 0}}) for phone in phones))
    acks = [await phone.receive_until(lambda m: m["type"] in ("ack", "rejected")) for phone in phones]
    assert {ack["type"] for ack in acks} == {"ack"}
    assert await database_sync_to_async(Answer.objects.count)() == 12
    for connection in (projector, *phones):
        await connection.close()


async def test_answers_arriving_together_are_written_together(table, monkeypatch):
    game, *_ , projector = await table(("single",))
    seats = [await database_sync_to_async(seat)(game, f"Player {number}") for number in range(20)]
    phones = [Phone(game, session) for _, session in seats]
    batches = []
    real_submit = services.submit_answers

    def submit_answers(requests):
        batches.append(len(requests))
        return real_submit(requests)

    monkeypatch.setattr(services, "submit_answers", submit_answers)
    lobby = await projector.connect()
    for phone in phones:
        await phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    for phone in phones:
        await phone.phase("answering")
    await asyncio.gather(*(phone.send({"type": "answer", "question": 0, "answer": {"choice": 1}}) for phone in phones))
    acks = [await phone.receive_until(lambda m: m["type"] in ("ack", "rejected")) for phone in phones]
    assert {ack["type"] for ack in acks} == {"ack"}
    assert sum(batches) == 20
    assert len(batches) < 20  # what arrived while a batch was written went in the next one
    assert await database_sync_to_async(Answer.objects.count)() == 20
    for connection in (projector, *phones):
        await connection.close()
