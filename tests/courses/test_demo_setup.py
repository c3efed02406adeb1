"""The demo accounts' password: the published one only where nobody else can reach the site."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

DEMO_USERNAMES = ("teacher", "alice", "bob", "chloe")


@pytest.fixture
def no_sandbox_check(monkeypatch):
    """The pack's exercises are checked elsewhere; here only the accounts matter."""
    from courses.management.commands import demo_setup

    monkeypatch.setattr(demo_setup.Command, "_can_sandbox", lambda self: False)


def setup(*args: str) -> str:
    out = StringIO()
    call_command("demo_setup", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_with_debug_off_and_no_word_on_who_can_reach_the_site_it_refuses(db, settings, no_sandbox_check):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--local"):
        setup()
    assert not get_user_model().objects.filter(username="teacher").exists()


def test_served_on_this_machine_only_the_published_password_works(db, settings, no_sandbox_check):
    settings.DEBUG = False
    printed = setup("--local")
    assert "password 'attentive-demo'" in printed
    for username in DEMO_USERNAMES:
        assert get_user_model().objects.get(username=username).check_password("attentive-demo")


def test_open_to_the_room_every_demo_account_gets_the_printed_fresh_password(db, settings, no_sandbox_check):
    settings.DEBUG = False
    setup("--local")
    printed = setup("--classroom")
    password = re.search(r"password '([^']+)'", printed).group(1)
    assert password != "attentive-demo"
    assert len(password) >= 12
    for username in DEMO_USERNAMES:
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password)
        assert not user.check_password("attentive-demo")
    again = re.search(r"password '([^']+)'", setup("--classroom")).group(1)
    assert again != password


def test_back_on_this_machine_the_printed_published_password_is_true_again(db, settings, no_sandbox_check):
    settings.DEBUG = False
    setup("--classroom")
    setup("--local")
    assert get_user_model().objects.get(username="teacher").check_password("attentive-demo")
