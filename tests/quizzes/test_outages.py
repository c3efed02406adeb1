"""Live games while the channel layer fails (Redis restarting): seats, answers and commands still happen,
news is best effort, and a screen is refused rather than accepted and dropped."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError
from django.test import Client

from bench.common import free_port
from quizzes import consumers, live, services
from quizzes.models import Game, Player
from quizzes.services import SEATS_SESSION_KEY
from tests.quizzes.conftest import Phone, Projector, login_session, seat


class LayerDown(ConnectionError):
    pass


def fail(*_args, **_kwargs):
    raise LayerDown("Connection refused by the channel layer")


@pytest.fixture
def layer():
    """The class of the channel layer this run uses (in memory, or Redis in CI), to make it fail."""
    return type(get_channel_layer())


@pytest.fixture
def redis_down(settings):
    """The Redis channel layer, pointed at a port where no Redis listens: every call fails."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{free_port()}/0", "socket_connect_timeout": 0.5}]},
    }}


@pytest.fixture
def game(cast, make_game):
    return make_game(("single", "single"))


def test_a_join_takes_its_seat_when_the_projector_cannot_be_told(client, game, redis_down,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    assert response.status_code == 302
    assert response.url == f"/play/game/{game.pk}/"
    assert len(callbacks) == 1  # the news for the projector, sent only after the seat was committed
    player = Player.objects.get(game=game)
    assert client.session[SEATS_SESSION_KEY] == {str(game.pk): player.seat_token}
    assert client.get(response.url).status_code == 200  # the phone's page opens on its seat


def test_the_join_form_gives_the_browser_its_session_before_the_join(client, game):
    client.get(f"/play/{game.pin}/")
    assert "sessionid" in client.cookies


def test_the_session_that_took_a_nickname_gets_the_same_seat_when_it_asks_again(client, game):
    client.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    first = Player.objects.get(game=game)
    # The first answer was lost on the way: the session kept no seat, the phone sends the form again.
    session = client.session
    session[SEATS_SESSION_KEY] = {}
    session.save()
    again = client.post(f"/play/{game.pin}/", {"nickname": "ann"})
    assert again.status_code == 302
    assert list(Player.objects.filter(game=game)) == [first]
    assert client.session[SEATS_SESSION_KEY] == {str(game.pk): first.seat_token}


def test_another_browser_cannot_take_a_nickname_already_taken(client, game):
    client.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    other = Client()
    response = other.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    assert response.status_code == 400
    assert "is taken in this game" in response.content.decode()
    assert Player.objects.filter(game=game).count() == 1


def test_a_removed_player_asking_again_for_their_nickname_is_still_removed(client, game):
    client.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    player = Player.objects.get(game=game)
    services.kick(game.pk, player.pk)
    session = client.session
    session[SEATS_SESSION_KEY] = {}
    session.save()
    response = client.post(f"/play/{game.pin}/", {"nickname": "Ann"})
    assert response.status_code == 403
    assert "The host removed you from this game." in response.content.decode()


def test_ending_a_game_from_its_page_works_when_the_screens_cannot_be_told(as_staff, game, redis_down,
                                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_staff.post(f"/c/nlp/games/{game.pk}/end/")
    assert response.status_code == 302
    game.refresh_from_db()
    assert game.finished_at is not None


@pytest.fixture
def as_staff(client, cast):
    client.force_login(cast.instructor)
    return client


# -- the consumers ------------------------------------------------------------------------------


@pytest.fixture
def seated(cast, make_game):
    async def build():
        def setup():
            game = make_game(("single", "single"))
            return game, *seat(game, "Ann"), login_session(cast.instructor)

        game, ann, ann_session, host_session = await database_sync_to_async(setup)()
        return game, ann, Phone(game, ann_session), Projector(game, host_session)

    return build


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_a_screen_joins_its_group_before_its_connection_is_accepted(seated, layer, monkeypatch):
    _game, _ann, phone, projector = await seated()
    steps = []
    real_group_add, real_accept = layer.group_add, consumers.GameConsumer.accept

    async def group_add(self, group, channel):
        steps.append(("group", group.split("-")[1]))
        await real_group_add(self, group, channel)

    async def accept(self, *args, **kwargs):
        steps.append(("accept", type(self).__name__))
        await real_accept(self, *args, **kwargs)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(consumers.GameConsumer, "accept", accept)
    await phone.connect()
    await projector.connect()
    # The process joined the game's screens group for the phone: the projector, a moment later,
    # does not join it again (a hall connecting at once joins it once, not once per phone).
    assert steps == [("group", "game"), ("group", "screens"), ("accept", "PlayerConsumer"),
                     ("group", "host"), ("accept", "HostConsumer")]
    await phone.close()
    await projector.close()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_while_the_layer_is_down_connections_are_refused_not_accepted_and_dropped(seated, layer, monkeypatch):
    _game, _ann, phone, projector = await seated()
    monkeypatch.setattr(layer, "group_add", fail)
    for screen in (phone, projector):
        connected, _code = await screen.connection.connect()
        assert connected is False
    monkeypatch.undo()
    # Back up: the same screens connect and get the whole state.
    for screen in (phone.another_tab(), projector.another_tab()):
        assert (await screen.connect())["state"]["phase"] == "lobby"
        await screen.close()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_the_game_moves_on_and_answers_count_while_news_cannot_be_sent(seated, layer, monkeypatch):
    game, ann, phone, projector = await seated()
    lobby = await projector.connect()
    await phone.connect()
    monkeypatch.setattr(layer, "group_send", fail)
    await projector.command("start", version=lobby["state"]["version"])
    # The broadcast failed, the start did not: the screens ask and get the question.
    await projector.send({"type": "ping", "ref": 1})
    assert (await projector.receive_until(lambda m: m["type"] == "pong"))["ref"] == 1
    await phone.send({"type": "sync"})
    opened = await phone.phase("answering")
    ack = await phone.answer(0, {"choice": 0})
    assert ack["type"] == "ack"
    await projector.command("kick", player=ann.pk)
    await projector.send({"type": "sync"})
    assert (await projector.receive_until(lambda m: m["type"] == "state"))["players"] == []
    current = await database_sync_to_async(Game.objects.get)(pk=game.pk)
    assert (current.phase, current.version) == ("answering", opened["state"]["version"])
    assert await database_sync_to_async(lambda: Player.objects.get(pk=ann.pk).kicked)()
    await phone.close()
    await projector.close()


@pytest.mark.anyio
async def test_a_broadcast_that_fails_is_logged_not_raised(layer, monkeypatch, caplog):
    monkeypatch.setattr(layer, "group_send", fail)
    state = {"game": 1, "version": 2, "phase": "question", "deadline": None}
    await live.broadcast(services.Transition(1, 2, state, None, None))
    assert "could not be sent" in caplog.text


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_an_answer_the_database_cannot_store_is_refused_and_the_phone_keeps_its_socket(seated, monkeypatch):
    _game, _ann, phone, projector = await seated()
    lobby = await projector.connect()
    await phone.connect()
    await projector.command("start", version=lobby["state"]["version"])
    await phone.phase("answering")

    def database_down(_requests):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(services, "submit_answers", database_down)
    refused = await phone.answer(0, {"choice": 0})
    assert (refused["type"], refused["code"]) == ("rejected", "unavailable")
    monkeypatch.undo()
    # The same socket, once the database is back: the answer is sent again and counts.
    assert (await phone.answer(0, {"choice": 0}))["type"] == "ack"
    await phone.close()
    await projector.close()
