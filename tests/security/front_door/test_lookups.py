"""Join codes and game PINs cannot be walked: wrong guesses are counted per account (or browser)
and per address, and past the limit every lookup is refused, right ones too, until the pause ends."""

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
    assert "Too many wrong course codes: joining is paused until" in refused.content.decode()
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


def test_many_accounts_guessing_from_one_address_are_paused(client, cast, settings):
    from tests.conftest import make_user

    settings.JOIN_CODE_FAILURES_PER_ADDRESS = 6
    for number in range(3):
        client.force_login(make_user(f"guesser{number}"))
        join(client, "WRONG001", address="10.5.5.5")
        join(client, "WRONG002", address="10.5.5.5")
    assert join(client, cast.course.join_code, address="10.5.5.5").status_code == 429
    assert join(client, cast.course.join_code, address="10.6.6.6").status_code == 302


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
    assert "Too many wrong game PINs from here" in refused.content.decode()


def test_a_new_browser_on_a_guessing_address_is_paused_too(client, running_game, settings):
    from django.test import Client

    settings.GAME_PIN_FAILURES_PER_ADDRESS = 5
    for _ in range(5):
        Client().get(reverse("play_join", args=[wrong_pin(running_game)]), REMOTE_ADDR="10.7.7.7")
    assert client.get(reverse("play_join", args=[running_game.pin]), REMOTE_ADDR="10.7.7.7").status_code == 429
    assert client.get(reverse("play_join", args=[running_game.pin]), REMOTE_ADDR="10.8.8.8").status_code == 200


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
