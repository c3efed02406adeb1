"""Database sessions in one statement each: Django's store, without its extra round trips.

Django's database store asks whether a new random key exists before inserting it, and wraps
each INSERT or UPDATE of the session row in a transaction of its own (BEGIN, the statement,
COMMIT): five round trips per phone joining a game that this store does not make. The key's
uniqueness is still enforced by the primary key: an INSERT that collides raises CreateError,
and `create()` draws another key, as Django's loop does. Outside a transaction one statement
commits alone; inside one, Django's savepoint is kept, so a collision cannot break the
transaction around it. Same table, same cookie, same data as `django.contrib.sessions.backends.db`.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        # 32 characters of 36: a collision is caught by the primary key in save(must_create=True).
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        session = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=session)
        if connections[using].in_atomic_block:
            return super().save(must_create=must_create)
        try:
            session.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
