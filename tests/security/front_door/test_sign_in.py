"""Sign-in throttling: wrong passwords lock the account from the address they came from, many from
several networks lock it everywhere, an address failing for many accounts stops only those; every
message says until when and who can lift it; the locks end by themselves, and staff lift them."""

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

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


def fail_from_many_addresses(client, username, count):
    """`count` wrong passwords, four from each address (under the per-address limit of five)."""
    for number in range(count):
        sign_in(client, username, "wrong", address=f"10.20.{number // 4}.1")


def test_five_wrong_passwords_from_one_address_lock_the_account_there_even_for_the_right_one(client, cast):
    for _ in range(4):
        assert sign_in(client, "sara", "wrong").status_code == 200
    locked = sign_in(client, "sara", "wrong")
    assert locked.status_code == 429
    right = sign_in(client, "sara", PASSWORD)
    assert right.status_code == 429
    assert not signed_in(client)
    text = right.content.decode()
    assert "Too many wrong passwords for this account from your network (5)" in text
    assert "paused until" in text
    assert "An instructor of your course can lift it sooner" in text
    assert "site&#x27;s administrators" in text


def test_the_owner_still_signs_in_from_their_own_network(client, cast):
    """Wrong passwords typed elsewhere (a classmate guessing, the instructor's account targeted)
    never lock the owner out of their own network."""
    for _ in range(10):
        sign_in(client, "ines", "wrong", address="10.66.0.1")
    assert sign_in(client, "ines", PASSWORD, address="10.66.0.1").status_code == 429
    assert sign_in(client, "ines", PASSWORD, address="192.168.1.20").status_code == 302
    assert signed_in(client)


def test_many_networks_guessing_lock_the_account_everywhere(client, cast):
    fail_from_many_addresses(client, "sara", 30)
    refused = sign_in(client, "sara", PASSWORD, address="192.168.1.20")
    assert refused.status_code == 429
    assert "This account is locked after 30 failed sign-ins from several networks" in refused.content.decode()


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


def test_a_right_password_forgets_the_earlier_failures_from_its_address(client, cast):
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
    assert Throttle.objects.get(scope="login-pair", key="sara|10.0.0.1").locked_until is None


def test_an_address_failing_for_many_accounts_stops_only_the_accounts_that_failed_there(client, cast, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for number in range(7):
        sign_in(client, f"guess{number}", "wrong", address="10.9.9.9")
    sign_in(client, "sara", "wrong", address="10.9.9.9")  # the eighth failure pauses the address
    refused = sign_in(client, "sara", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many failed sign-ins from your network address, for several accounts" in text
    assert "accounts signed in without a mistake are not" in text
    assert sign_in(client, "sara", PASSWORD, address="10.1.1.1").status_code == 302
    client.logout()
    assert sign_in(client, "tom", PASSWORD, address="10.9.9.9").status_code == 302  # a hall behind one address


def test_the_addresses_of_one_ipv6_network_count_as_one(client, cast):
    for number in range(5):
        sign_in(client, "sara", "wrong", address=f"2001:db8:1:2::{number + 1:x}")
    assert sign_in(client, "sara", PASSWORD, address="2001:db8:1:2:ffff::9").status_code == 429
    assert sign_in(client, "sara", PASSWORD, address="2001:db8:1:3::1").status_code == 302


def test_addresses_are_grouped_by_ipv6_network():
    assert throttle.address_group("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert throttle.address_group("::ffff:10.0.0.7") == "10.0.0.7"
    assert throttle.address_group("10.0.0.7") == "10.0.0.7"
    assert throttle.address_group("") == "unknown"


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
    fail_from_many_addresses(client, "sara", 30)
    client.force_login(cast.instructor)
    roster = client.get(reverse("course_roster", args=[cast.course.slug])).content.decode()
    assert "sign-in locked until" in roster
    member = cast.membership(cast.student)
    response = client.post(reverse("member_unlock", args=[cast.course.slug, member.pk]), follow=True)
    assert "Sara Student can sign in again." in response.content.decode()
    client.logout()
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_an_instructor_lifts_another_instructors_lock(client, cast):
    from courses.models import Membership

    Membership.objects.filter(user=cast.ta).update(role=Membership.Role.INSTRUCTOR)
    fail_from_many_addresses(client, "ines", 30)
    client.force_login(cast.ta)
    client.post(reverse("member_unlock", args=[cast.course.slug, cast.membership(cast.instructor).pk]))
    client.logout()
    assert sign_in(client, "ines", PASSWORD).status_code == 302


def test_a_teaching_assistant_cannot_unlock(client, cast):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    client.force_login(cast.ta)
    member = cast.membership(cast.student)
    assert client.post(reverse("member_unlock", args=[cast.course.slug, member.pk])).status_code == 404
    assert throttle.locked_until(throttle.rule("login-pair"), "sara|10.0.0.1") is not None


def test_an_instructor_cannot_unlock_someone_outside_their_course(client, cast):
    from courses.models import Membership

    for _ in range(5):
        sign_in(client, "otto", "wrong")
    client.force_login(cast.instructor)
    outsider = Membership.objects.get(user=cast.outsider)
    url = reverse("member_unlock", args=[cast.course.slug, outsider.pk])
    assert client.post(url).status_code == 404
    assert throttle.locked_until(throttle.rule("login-pair"), "otto|10.0.0.1") is not None


def test_a_password_reset_by_email_lifts_the_accounts_locks(client, cast):
    fail_from_many_addresses(client, "ines", 30)
    token = default_token_generator.make_token(cast.instructor)
    uid = urlsafe_base64_encode(force_bytes(cast.instructor.pk))
    form = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    new_password = "a-new-and-long-password-9"
    client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert sign_in(client, "ines", new_password).status_code == 302


def test_the_unlock_command_lifts_an_accounts_locks(client, cast, capsys):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    call_command("unlock_account", "Sara")
    assert "Unlocked account 'Sara'." in capsys.readouterr().out
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_the_unlock_command_lifts_an_addresss_locks(client, cast, capsys, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for name in ("guess1", "guess2", "sara"):
        sign_in(client, name, "wrong", address="2001:db8::7")
    assert sign_in(client, "sara", PASSWORD, address="2001:db8::7").status_code == 429
    call_command("unlock_account", "--address", "2001:db8::1")
    assert "Unlocked address 2001:db8::/64." in capsys.readouterr().out
    assert sign_in(client, "sara", PASSWORD, address="2001:db8::7").status_code == 302


def test_site_staff_lift_locks_in_the_admin(client, cast):
    for _ in range(5):
        sign_in(client, "sara", "wrong")
    cast.instructor.is_staff = cast.instructor.is_superuser = True
    cast.instructor.save()
    client.force_login(cast.instructor)
    rows = Throttle.objects.filter(key__startswith="sara")
    client.post(reverse("admin:frontdoor_throttle_changelist"),
                {"action": "lift", "_selected_action": [row.pk for row in rows]})
    client.logout()
    assert sign_in(client, "sara", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, cast):
    cast.instructor.is_staff = True
    cast.instructor.is_superuser = True
    cast.instructor.save()
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": "ines", "password": "wrong"}, REMOTE_ADDR="10.0.0.2")
    response = client.post(url, {"username": "ines", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert "Too many wrong passwords for this account" in response.content.decode()
    assert not signed_in(client)


def test_pruning_keeps_locks_and_drops_old_counts(cast, later):
    account = throttle.rule("login-pair")
    throttle.record_failure(account, "old")
    for _ in range(5):
        throttle.record_failure(account, "locked")
    later(120)
    throttle.record_failure(account, "recent")
    Throttle.objects.filter(key="locked").update(locked_until=throttle.now() + timedelta(minutes=5))
    assert throttle.prune() == 1
    assert set(Throttle.objects.values_list("key", flat=True)) == {"locked", "recent"}
