"""Database calls from the game's consumers: on one thread per process, over one kept connection.

Channels' `database_sync_to_async` closes the connection after every call unless
CONN_MAX_AGE keeps it, and keeping connections is wrong for Django under ASGI, where
every HTTP request runs in a thread of its own and would leave its connection behind.
Consumers, though, all share a single thread per process (thread-sensitive calls made
outside a request), so keeping *that* thread's connection costs one connection per
process and saves opening a new one (a PostgreSQL backend) for every answer. A connection
that broke, or was left outside autocommit, is closed and reopened on the next call.
"""

from asgiref.sync import SyncToAsync
from django.db import connections


def _drop_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        if connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
            connection.close()
        elif connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


class GameDatabase(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _drop_broken_connections()


game_database = GameDatabase
