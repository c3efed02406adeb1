"""Join codes and game PINs cannot be walked: wrong guesses are counted per account (or browser)
and per address, and past the limit typed lookups are refused, right ones too, until the pause
ends. Someone guessing from a shared address stops no one who has not failed there, and the
link or QR code that staff hand out passes every lock."""

from datetime import timedelta

import pytest
from django.urls import reverse

from courses.models import Membership
from frontdoor import throttle


@pytest.fixture
def later(monkeypatch):
    real_now = throttle.now

    def move(minutes):
        monkeypatch.setattr(throttle, "now", lambda: real_now() + timedelta(minutes=minutes))

    return move


def join(client, code, address="10.0.0.1"):
    return client.post(reverse("join"), {"code": code}, REMOTE_ADDR=address)


def test_ten_wrong_join_codes_pause_joining_even_with_the_right_code(client, cast):
    newcomer = cast.outsider
    client.force_login(newcomer)
    for number in range(9):
        assert join(client, f"WRONG{number:03d}").status_code == 400
    assert join(client, "WRONG999").status_code == 429
    refused = join(client, cast.course.join_code)
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many wrong course codes: joining with a typed code is paused until" in text
    assert "The join link or QR code your instructor shares always works" in text
    assert not Membership.objects.filter(user=newcomer, course=cast.course).exists()


def test_wrong_join_links_count_like_wrong_codes(client, cast):
    client.force_login(cast.outsider)
    for number in range(10):
        client.get(reverse("join_with_link", args=[f"NOPE{number:04d}"]), REMOTE_ADDR="10.0.0.1")
    response = client.get(reverse("join_with_link", args=[cast.course.join_code]), REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429


def test_joining_works_again_after_the_pause(client, cast, later):
    client.force_login(cast.outsider)
    for number in range(10):
        join(client, f"WRONG{number:03d}")
    later(16)
    assert join(client, cast.course.join_code).status_code == 302
    assert Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_a_closed_course_is_not_counted_as_a_guess(client, cast):
    cast.course.joining_open = False
    cast.course.save()
    client.force_login(cast.outsider)
    for _ in range(12):
        join(client, cast.course.join_code)
    assert throttle.first_lock([(throttle.rule("join-code-account"), str(cast.outsider.pk))]) is None


def test_many_accounts_guessing_from_one_address_are_paused_there(client, cast, settings):
    from tests.conftest import make_user

    settings.JOIN_CODE_FAILURES_PER_ADDRESS = 6
    for number in range(3):
        client.force_login(make_user(f"guesser{number}"))
        join(client, "WRONG001", address="10.5.5.5")
        join(client, "WRONG002", address="10.5.5.5")
    assert join(client, cast.course.join_code, address="10.5.5.5").status_code == 429
    assert join(client, cast.course.join_code, address="10.6.6.6").status_code == 302


def test_a_guesser_on_a_shared_address_stops_no_one_who_has_not_failed(client, cast, settings):
    from tests.conftest import make_user

    settings.JOIN_CODE_FAILURES_PER_ADDRESS = 6
    client.force_login(make_user("guesser"))
    for number in range(6):
        join(client, f"WRONG{number:03d}", address="10.5.5.5")
    client.force_login(cast.outsider)
    assert join(client, cast.course.join_code, address="10.5.5.5").status_code == 302
    assert Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_the_join_link_staff_hand_out_passes_every_lock(client, cast):
    client.force_login(cast.outsider)
    for number in range(10):
        join(client, f"WRONG{number:03d}")
    link = cast.course.join_path()
    assert client.get(link, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert client.post(link, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_a_join_link_with_a_made_up_key_is_a_guess_like_any_other(client, cast):
    client.force_login(cast.outsider)
    for number in range(10):
        join(client, f"WRONG{number:03d}")
    forged = reverse("join_with_link", args=[cast.course.join_code]) + "?k=0123456789ab"
    assert client.get(forged, REMOTE_ADDR="10.0.0.1").status_code == 429


@pytest.fixture
def running_game(cast):
    from quizzes import services
    from quizzes.models import Quiz
    from tests.quizzes.questions import add_question

    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Warm-up")
    add_question(quiz, "single")
    return services.create_game(quiz=quiz, host=cast.instructor, reading_seconds=0)


def wrong_pin(game) -> str:
    return f"{(int(game.pin) + 1) % 10 ** len(game.pin):0{len(game.pin)}d}"


def test_wrong_pins_from_one_browser_pause_its_lookups(client, running_game):
    for _ in range(9):
        assert client.get(reverse("play_pin"), {"pin": wrong_pin(running_game)}).status_code == 404
    assert client.get(reverse("play_pin"), {"pin": wrong_pin(running_game)}).status_code == 429
    refused = client.get(reverse("play_join", args=[running_game.pin]))
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many wrong game PINs from here: typing a PIN is paused until" in text
    assert "Scan the QR code on the projector (or open its link): it always works" in text


def test_a_new_browser_on_a_guessing_address_is_paused_too(client, running_game, settings):
    from django.test import Client

    settings.GAME_PIN_FAILURES_PER_ADDRESS = 5
    for _ in range(5):
        Client().get(reverse("play_join", args=[wrong_pin(running_game)]), REMOTE_ADDR="10.7.7.7")
    assert client.get(reverse("play_join", args=[running_game.pin]), REMOTE_ADDR="10.7.7.7").status_code == 429
    assert client.get(reverse("play_join", args=[running_game.pin]), REMOTE_ADDR="10.8.8.8").status_code == 200


def test_the_projectors_link_lets_a_phone_join_from_a_paused_address(client, running_game, settings):
    from django.test import Client

    from quizzes.models import Player

    settings.GAME_PIN_FAILURES_PER_ADDRESS = 5
    for _ in range(5):
        Client().get(reverse("play_join", args=[wrong_pin(running_game)]), REMOTE_ADDR="10.7.7.7")
    link = running_game.join_path()
    page = client.get(link, REMOTE_ADDR="10.7.7.7")
    assert page.status_code == 200
    surprise = reverse("play_nickname", args=[running_game.pin]) + f"?k={running_game.join_key()}"
    assert f'hx-get="{surprise}"' in page.content.decode()
    assert client.get(surprise, REMOTE_ADDR="10.7.7.7").status_code == 200
    assert client.post(link, {"nickname": "Ann"}, REMOTE_ADDR="10.7.7.7").status_code == 302
    assert Player.objects.get(game=running_game).nickname == "Ann"


def test_a_made_up_key_does_not_pass_the_pause(client, running_game, settings):
    settings.GAME_PIN_FAILURES_PER_ADDRESS = 5
    for _ in range(5):
        client.get(reverse("play_join", args=[wrong_pin(running_game)]), REMOTE_ADDR="10.7.7.7")
    forged = reverse("play_join", args=[running_game.pin]) + "?k=0123456789ab"
    assert client.get(forged, REMOTE_ADDR="10.7.7.7").status_code == 429


def test_pins_guessed_from_one_ipv6_network_count_together(running_game, settings):
    from django.test import Client

    settings.GAME_PIN_FAILURES_PER_ADDRESS = 5
    for number in range(5):
        Client().get(reverse("play_join", args=[wrong_pin(running_game)]), REMOTE_ADDR=f"2001:db8:5:5::{number + 1}")
    guesser = Client().get(reverse("play_join", args=[running_game.pin]), REMOTE_ADDR="2001:db8:5:5:abcd::1")
    assert guesser.status_code == 429


def test_pin_lookups_work_again_after_the_pause(client, running_game, later):
    for _ in range(10):
        client.get(reverse("play_pin"), {"pin": wrong_pin(running_game)})
    later(11)
    assert client.get(reverse("play_pin"), {"pin": running_game.pin}).status_code == 302


def test_right_pins_are_never_counted(client, running_game):
    for _ in range(30):
        assert client.get(reverse("play_join", args=[running_game.pin])).status_code == 200


def test_checking_several_lockouts_is_one_query(cast, django_assert_num_queries):
    checks = [(throttle.rule("join-code-account"), str(cast.outsider.pk)),
              (throttle.rule("join-code-address"), "10.0.0.9")]
    throttle.record_failure(*checks[1])
    with django_assert_num_queries(1):
        assert throttle.first_lock(checks) is None
    for _ in range(throttle.rule("join-code-address").limit):
        throttle.record_failure(*checks[1])
    with django_assert_num_queries(1):
        assert throttle.first_lock(checks)[0] == checks[1][0]
