"""The session store: one statement per session written, the same guarantees as Django's database store."""

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from frontdoor import sessions
from frontdoor.sessions import SessionStore

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_site_uses_it(settings):
    assert settings.SESSION_ENGINE == "frontdoor.sessions"


def test_a_new_session_is_one_insert_without_a_lookup_or_a_transaction():
    store = SessionStore()
    store["seats"] = {}
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["INSERT"]
    assert SessionStore(store.session_key).load() == {"seats": {}}


def test_a_changed_session_is_one_update():
    store = SessionStore()
    store.create()
    store["seats"] = {"1": "token"}
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["UPDATE"]
    assert SessionStore(store.session_key).load() == {"seats": {"1": "token"}}


def test_a_key_that_is_taken_is_drawn_again(monkeypatch):
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    keys = iter([taken.session_key, "k" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(keys))
    store = SessionStore()
    store["who"] = "second"
    store.save()
    assert store.session_key == "k" * 32
    assert SessionStore(taken.session_key).load() == {"who": "first"}
    assert SessionStore("k" * 32).load() == {"who": "second"}


def test_a_taken_key_inside_a_transaction_leaves_the_transaction_usable(monkeypatch):
    taken = SessionStore()
    taken.create()
    keys = iter([taken.session_key, "t" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(keys))
    with transaction.atomic():
        store = SessionStore()
        store.create()
        assert Session.objects.filter(session_key="t" * 32).exists()
    assert Session.objects.count() == 2


def test_a_session_deleted_meanwhile_is_not_written_back():
    store = SessionStore()
    store.create()
    Session.objects.filter(session_key=store.session_key).delete()
    store["late"] = True
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()
