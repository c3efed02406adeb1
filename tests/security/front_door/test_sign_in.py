"""Sign-in throttling: wrong passwords lock the account and the address, with a message that
says until when and how an instructor unlocks a student; the lockout ends by itself."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from frontdoor import throttle
from frontdoor.models import Throttle
from tests.conftest import PASSWORD


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def later(monkeypatch):
    """Move the throttle's clock forward by some minutes."""
    real_now = throttle.now

    def move(minutes):
        monkeypatch.setattr(throttle, "now", lambda: real_now() + timedelta(minutes=minutes))

    return move


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, cast):
    for _ in range(4):
        assert sign_in(client, "sara", "wrong").status_code == 200
    locked = sign_in(client, "sara", "wrong")
    assert locked.status_code == 429
    right = sign_in(client, "sara", PASSWORD)
    assert right.status_code == 429
    assert not signed_in(client)
    text = right.content.decode()
    assert "This account is locked after 5 failed sign-ins: try again at" in text
    assert "ask an instructor of their course to unlock it" in text


def test_the_lock_covers_every_spelling_of_the_username(client, cast):
    for name in ["sara", "Sara", " SARA", "sArA", "sara"]:
        sign_in(client, name, "wrong")
    assert sign_in(client, "sara", PASSWORD).status_code == 429


def test_the_lockout_ends_by_itself(client, cast, later):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    later(14)
    assert sign_in(client, "sara", PASSWORD).status_code == 429
    later(16)
    assert sign_in(client, "sara", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_right_password_forgets_the_earlier_failures(client, cast):
    for _ in range(4):
        sign_in(client, "sara", "wrong")
    assert sign_in(client, "sara", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "sara", "wrong")
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_failures_older_than_the_window_are_forgotten(client, cast, later):
    for _ in range(4):
        sign_in(client, "sara", "wrong")
    later(16)
    sign_in(client, "sara", "wrong")
    assert Throttle.objects.get(scope="login-account", key="sara").locked_until is None


def test_an_address_that_tries_many_accounts_is_paused(client, cast, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for number in range(8):
        sign_in(client, f"guess{number}", "wrong", address="10.9.9.9")
    refused = sign_in(client, "sara", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your network address" in refused.content.decode()
    assert sign_in(client, "sara", PASSWORD, address="10.1.1.1").status_code == 302


def test_a_locked_account_is_refused_before_its_password_is_checked(client, cast, monkeypatch):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    checked = []
    from django.contrib.auth.backends import ModelBackend

    real = ModelBackend.authenticate
    monkeypatch.setattr(ModelBackend, "authenticate", lambda *a, **k: checked.append(1) or real(*a, **k))
    sign_in(client, "sara", PASSWORD)
    assert checked == []


def test_an_instructor_sees_the_lock_on_the_people_page_and_lifts_it(client, cast):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    client.force_login(cast.instructor)
    roster = client.get(reverse("course_roster", args=[cast.course.slug])).content.decode()
    assert "sign-in locked until" in roster
    member = cast.membership(cast.student)
    response = client.post(reverse("member_unlock", args=[cast.course.slug, member.pk]), follow=True)
    assert "Sara Student can sign in again." in response.content.decode()
    client.logout()
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_a_teaching_assistant_cannot_unlock(client, cast):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    client.force_login(cast.ta)
    member = cast.membership(cast.student)
    assert client.post(reverse("member_unlock", args=[cast.course.slug, member.pk])).status_code == 404
    assert throttle.locked_until(throttle.rule("login-account"), "sara") is not None


def test_an_instructor_cannot_unlock_someone_outside_their_course(client, cast):
    from courses.models import Membership

    for _ in range(5):
        sign_in(client, "otto", "wrong")
    client.force_login(cast.instructor)
    outsider = Membership.objects.get(user=cast.outsider)
    url = reverse("member_unlock", args=[cast.course.slug, outsider.pk])
    assert client.post(url).status_code == 404
    assert throttle.locked_until(throttle.rule("login-account"), "otto") is not None


def test_the_unlock_command_lifts_a_lock(client, cast, capsys):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    call_command("unlock_account", "Sara")
    assert "Unlocked account 'Sara'." in capsys.readouterr().out
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, cast):
    cast.instructor.is_staff = True
    cast.instructor.is_superuser = True
    cast.instructor.save()
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": "ines", "password": "wrong"}, REMOTE_ADDR="10.0.0.2")
    response = client.post(url, {"username": "ines", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert "This account is locked" in response.content.decode()
    assert not signed_in(client)


def test_pruning_keeps_locks_and_drops_old_counts(cast, later):
    account = throttle.rule("login-account")
    throttle.record_failure(account, "old")
    for _ in range(5):
        throttle.record_failure(account, "locked")
    later(120)
    throttle.record_failure(account, "recent")
    Throttle.objects.filter(key="locked").update(locked_until=throttle.now() + timedelta(minutes=5))
    assert throttle.prune() == 1
    assert set(Throttle.objects.values_list("key", flat=True)) == {"locked", "recent"}
