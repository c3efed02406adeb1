"""Durable jobs: the database row is the truth, the broker is only a doorbell.

A durable job is a row with a state: waiting (a message may start it), running (claimed by one
worker, which keeps beating), and whatever finished states its app gives it. Every transition
is a conditional UPDATE on the state, and on the attempt number where a claim could have been
taken back and claimed again, so two workers never run one job and a second delivery of a
message changes nothing. The message is best effort: the row is committed first, ringing never
raises (a broker that is away is logged), it never holds a person's request (it rings from a
thread once the row is committed; a process that ends rings for what is left, for at most
RING_AT_EXIT_SECONDS), and a periodic sweep takes back what a stopped worker held and rings
again for what waited too long. A worker that has finished a job may claim the next waiting one
itself (`claim_next_reading`) rather than wait for its message, which then finds it claimed.

Used by the grading of submissions (exercises/grading.py) and by the recomputation of a
prompt's themes (reflections/services.py). What a job does, how many attempts it gets, its
backoff and what a person reads when it gives up stay in those apps.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

log = logging.getLogger(__name__)
Sql = tuple[str, list[Any]]  # SQL text and its parameters


@dataclass(frozen=True)
class DurableJob:
    """Where one kind of job keeps its state, and the Celery task that works on it.

    The model has `attempts` (claims so far) and `heartbeat_at` (the claimed job's worker was
    alive then); the task takes one argument, the job's `key`.
    """

    name: str  # for the logs: "submission", "theme computation"
    model: type[models.Model]
    task: Callable[[], Any]  # the task, looked up when used: an app's tasks module imports its services
    key: str  # the field that the task's argument names ("pk", "prompt_id")
    state: str  # the field that holds the state
    waiting: str
    running: str
    rung_at: str  # when the doorbell last rang, or is due to ring, for a waiting row

    def rows(self, key: Any, **condition: Any) -> models.QuerySet:
        return self.model.objects.filter(**{self.key: key}, **condition)

    # The doorbell -------------------------------------------------------------------------

    def ring(self, key: Any, *, countdown: float | None = None) -> bool:
        """Send the task; False, logged, if the broker did not take it (the sweep rings again)."""
        task = self.task()
        try:
            if countdown is None:
                task.delay(key)
            else:
                task.apply_async(args=[key], countdown=countdown)
        except Exception:  # kombu's OperationalError, a refused connection, a frozen socket's timeout ...
            log.exception("could not enqueue the %s %s; the sweeper will ring again", self.name, key)
            return False
        return True

    def ring_after_commit(self, key: Any, *, countdown: float | None = None) -> None:
        """Ring once the row is committed, without making the request wait for the broker.

        The ring goes through a thread of the process (or inline where tasks run eagerly, as in
        tests): a broker that is slow, away or frozen (each try then costs its socket timeouts)
        must not hold a request whose work is done once the row is committed.
        """
        if self.task().app.conf.task_always_eager:
            transaction.on_commit(lambda: self.ring(key, countdown=countdown))
        else:
            transaction.on_commit(lambda: doorbell().put((self, key, countdown)))

    # Claims -------------------------------------------------------------------------------

    def claim(self, key: Any, *, now: datetime | None = None, **also: Any) -> bool:
        """Take a waiting job (waiting -> running, one more attempt, a first beat); False if it was not waiting."""
        sql, params = self._claim_sql(self._key_is(key), now, also)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount > 0

    def claim_reading(
        self, key: Any, fields: Sequence[str], *, now: datetime | None = None, **also: Any
    ) -> dict[str, Any] | None:
        """`claim`, and the claimed row's `fields` read by the same statement; None if it was not waiting.

        `fields` are names of the model's fields, or `relation__field` for a field of the row a
        foreign key points to. One `UPDATE ... RETURNING`, written here rather than by the ORM: a
        grading worker claims tens of rows a second, and building an update and a query with
        select_related cost it more CPU than the database spent running them (docs/benchmarks.md).
        Where the database cannot return rows from an update, the ORM's update, then its query.
        """
        if not _updates_return_rows():
            if not self.claim(key, now=now, **also):
                return None
            return self.rows(key).values(*fields).get()
        return self._returning(self._claim_sql(self._key_is(key), now, also), fields)

    def claim_next_reading(
        self, fields: Sequence[str], *, now: datetime | None = None, where: dict[str, Any] | None = None, **also: Any
    ) -> dict[str, Any] | None:
        """Claim the waiting job whose doorbell rang first (by `now`; matching `where`) as `claim_reading`
        claims a named one, and read its `fields`; None if there is none.

        For a worker that has just finished a job: it takes the next one itself instead of going
        back to the broker for the message that names it (that message then finds it claimed). One
        statement; on PostgreSQL the pick skips rows another worker is claiming at that moment.
        Where the database cannot return rows from an update, always None: the messages still come.
        """
        if not _updates_return_rows():
            return None
        now = now or timezone.now()
        return self._returning(self._claim_sql(self._first_waiting(now, where or {}), now, also), fields)

    def _returning(self, update: Sql, fields: Sequence[str]) -> dict[str, Any] | None:
        """Run an UPDATE of at most one row, returning that row's `fields`; None if it updated none."""
        read = [self._read(name) for name in fields]
        sql, params = update
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} RETURNING {', '.join(expression for expression, _ in read)}", params)
            row = cursor.fetchone()
        if row is None:
            return None
        return {name: _from_database(field, value) for name, (_, field), value in zip(fields, read, row, strict=True)}

    def _claim_sql(self, which: Sql, now: datetime | None, also: dict[str, Any]) -> Sql:
        """The UPDATE of a claim: the row `which` picks, if waiting, set running, one more attempt, a
        first beat, `also`."""
        claimed = {self.state: self.running, "heartbeat_at": now or timezone.now(), **also}
        return self._update_sql(which, {self.state: self.waiting}, claimed, increment=("attempts",))

    def update_claimed(self, key: Any, attempts: int, *, increment: Sequence[str] = (), **values: Any) -> bool:
        """`claimed(key, attempts).update(**values)`, each field named in `increment` one more; False
        if the claim is gone. One statement written here, as `claim_reading`'s (0.8 ms of CPU to
        build with the ORM, 0.2 to write and run by hand, for a verdict's record)."""
        sql, params = self._update_sql(self._key_is(key), {self.state: self.running, "attempts": attempts}, values,
                                       increment)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount > 0

    def _update_sql(
        self, which: Sql, where: dict[str, Any], values: dict[str, Any], increment: Sequence[str]
    ) -> Sql:
        """An UPDATE of the row `which` picks (`_key_is`, `_first_waiting`) if its fields in `where`
        hold these values: `values` set, and each field in `increment` one more. Names come from
        the model; values go as parameters, prepared for the database as the ORM prepares them."""
        meta = self.model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        assignments, params = [], []
        for name in increment:
            column = quote(meta.get_field(name).column)
            assignments.append(f"{column} = {table}.{column} + 1")
        for name, value in values.items():
            field = meta.get_field(name)
            assignments.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_save(value, connection))
        conditions, where_params = self._conditions(table, where)
        sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {' AND '.join([which[0], *conditions])}"  # noqa: S608 (names from the model)
        return sql, params + which[1] + where_params

    def _conditions(self, table: str, where: dict[str, Any]) -> tuple[list[str], list[Any]]:
        """`column = %s` for each field of `where`, on `table` (the model's table or an alias), and their parameters."""
        meta = self.model._meta
        conditions, params = [], []
        for name, value in where.items():
            field = meta.pk if name == "pk" else meta.get_field(name)
            conditions.append(f"{table}.{connection.ops.quote_name(field.column)} = %s")
            params.append(field.get_db_prep_value(value, connection))
        return conditions, params

    def _key_is(self, key: Any) -> Sql:
        """The condition that picks the job's row by its key."""
        conditions, params = self._conditions(connection.ops.quote_name(self.model._meta.db_table), {self.key: key})
        return conditions[0], params

    def _first_waiting(self, now: datetime, where: dict[str, Any]) -> Sql:
        """The condition that picks the waiting row (matching `where`) whose doorbell rang first, by
        `now`; on PostgreSQL, not one that another transaction holds (it is being claimed)."""
        meta = self.model._meta
        quote = connection.ops.quote_name
        alias = quote("first_waiting")
        conditions, params = self._conditions(alias, {self.state: self.waiting, **where})
        rung_at = meta.get_field(self.rung_at)
        conditions.append(f"{alias}.{quote(rung_at.column)} <= %s")
        params.append(rung_at.get_db_prep_value(now, connection))
        pk = quote(meta.pk.column)
        skip = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
        return (
            f"{quote(meta.db_table)}.{pk} = (SELECT {alias}.{pk} FROM {quote(meta.db_table)} {alias} "  # noqa: S608 (names)
            f"WHERE {' AND '.join(conditions)} ORDER BY {alias}.{quote(rung_at.column)}, {alias}.{pk} LIMIT 1{skip})",
            params,
        )

    def _read(self, name: str) -> tuple[str, models.Field]:
        """The SQL that reads `name` (a field, or `relation__field`) of the row being updated, and its field."""
        meta = self.model._meta
        quote = connection.ops.quote_name
        relation, _, remote = name.partition("__")
        field = meta.get_field(relation)
        column = f"{quote(meta.db_table)}.{quote(field.column)}"
        if not remote:
            return column, field
        target = field.related_model._meta.get_field(remote)
        # Under an alias of its own, in case the foreign key points into the same table.
        alias = quote("pointed_at")
        return (
            f"(SELECT {alias}.{quote(target.column)} FROM {quote(field.related_model._meta.db_table)} {alias} "  # noqa: S608 (names)
            f"WHERE {alias}.{quote(field.target_field.column)} = {column})",
            target,
        )

    def claimed(self, key: Any, attempts: int | None = None) -> models.QuerySet:
        """The job's row while a claim holds: running, and, given the claim's `attempts`, not taken
        back and claimed again since."""
        condition: dict[str, Any] = {self.state: self.running}
        if attempts is not None:
            condition["attempts"] = attempts
        return self.rows(key, **condition)

    def beat(self, key: Any, attempts: int | None = None, **also: Any) -> bool:
        """Say the claim's worker is alive (and, in `also`, how far it got); False if the claim is gone."""
        return bool(self.claimed(key, attempts).update(heartbeat_at=timezone.now(), **also))

    def heartbeat(
        self, key: Any, attempts: int, every: float, *, first: tuple[float, Callable[[], Any]] | None = None
    ) -> Heartbeat:
        """A context that beats for the claim from a thread while the work runs; given `first`
        (seconds, call), the same thread makes the call if the work is still running that long after
        it started (for a status that only slow work should show)."""
        return Heartbeat(self, key, attempts, every, first)

    # The sweep ----------------------------------------------------------------------------

    def stale(self, now: datetime, after: timedelta) -> models.QuerySet:
        """Running jobs whose worker has not beaten for `after`: presumed dead."""
        return self.model.objects.filter(**{self.state: self.running, "heartbeat_at__lt": now - after})

    def take_back(self, key: Any, attempts: int, now: datetime, **also: Any) -> bool:
        """Put a stale claim back to waiting, unless it was taken back or claimed again meanwhile."""
        return bool(self.claimed(key, attempts).update(
            **{self.state: self.waiting, self.rung_at: now}, heartbeat_at=None, **also
        ))

    def overdue(self, now: datetime, after: timedelta) -> models.QuerySet:
        """Waiting jobs whose doorbell rang more than `after` ago and that nobody claimed: the ring may be lost."""
        return self.model.objects.filter(**{self.state: self.waiting, f"{self.rung_at}__lt": now - after})


def _updates_return_rows() -> bool:
    """Whether this database takes `UPDATE ... RETURNING` (PostgreSQL; SQLite from 3.35)."""
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version_info >= (3, 35)
    return False


def _from_database(field: models.Field, value: Any) -> Any:
    """A value read by hand as the ORM would have given it: the backend's and the field's converters."""
    expression = field.cached_col
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
        value = converter(value, expression, connection)
    return value


class Heartbeat:
    """Touches a claimed job's heartbeat every `every` seconds while the work runs.

    With `first` (seconds, call), the call is made once the work has run that long, unless it
    has ended; leaving the context waits for a call or beat under way, so that neither comes
    after what the work does next (a verdict's own announcement). The beats and calls of every
    claim a process holds are made by one thread of the process (`_Beater`), started once: a
    thread started and joined per claim cost a grading worker about 0.5 ms of CPU a verdict,
    and more in waits for a core on a busy machine (docs/benchmarks.md)."""

    def __init__(self, job: DurableJob, key: Any, attempts: int, every: float,
                 first: tuple[float, Callable[[], Any]] | None = None):
        self.job, self.key, self.attempts, self.every, self.first = job, key, attempts, every, first

    def __enter__(self) -> Heartbeat:
        _beater().hold(self)
        return self

    def __exit__(self, *exc) -> None:
        _beater().release(self)

    def call_first(self) -> None:
        try:
            self.first[1]()
        except Exception:  # a courtesy: the work and its beats go on without it
            log.exception("the first call for the %s %s failed", self.job.name, self.key)

    def beat(self) -> None:
        try:
            self.job.beat(self.key, self.attempts)
        except Exception as error:  # the database briefly away (or SQLite locked): beat again next time
            log.warning("could not beat for the %s %s (%s); trying again in %g s",
                        self.job.name, self.key, error, self.every)
            connection.close()  # the next beat connects afresh


class _Beater:
    """The thread that makes every held Heartbeat's beats and first call when they are due."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.due: dict[Heartbeat, list[float | None]] = {}  # heartbeat -> [next beat, first call or None]
        self.busy: Heartbeat | None = None  # whose beat or call is being made
        self.waking_at: float | None = None  # when the thread wakes next by itself (None: when told)
        self.thread = threading.Thread(target=self._run, name="job-heartbeats", daemon=True)
        self.thread.start()

    def hold(self, heartbeat: Heartbeat) -> None:
        now = time.monotonic()
        call_at = now + heartbeat.first[0] if heartbeat.first else None
        with self.changed:
            times = self.due[heartbeat] = [now + heartbeat.every, call_at]
            if self.waking_at is None or _soonest(times) < self.waking_at:
                self.changed.notify_all()

    def release(self, heartbeat: Heartbeat) -> None:
        with self.changed:
            self.due.pop(heartbeat, None)
            while self.busy is heartbeat:
                self.changed.wait()

    def _next(self) -> Callable[[], None]:
        """Wait for the next beat or call that is due, and mark its heartbeat busy."""
        with self.changed:
            while True:
                now, soonest = time.monotonic(), None
                for heartbeat, times in self.due.items():
                    at = _soonest(times)
                    if soonest is None or at < soonest[0]:
                        soonest = (at, heartbeat)
                if soonest is not None and soonest[0] <= now:
                    heartbeat = soonest[1]
                    times = self.due[heartbeat]
                    self.busy = heartbeat
                    if times[1] is not None and times[1] <= times[0]:  # both due: the earlier first
                        times[1] = None
                        return heartbeat.call_first
                    times[0] = now + heartbeat.every
                    return heartbeat.beat
                if soonest is None and connection.connection is not None:
                    connection.close()  # nothing held: no connection kept open between claims
                self.waking_at = None if soonest is None else soonest[0]
                self.changed.wait(None if soonest is None else soonest[0] - now)

    def _run(self) -> None:
        while True:
            action = self._next()
            try:
                action()
            finally:
                with self.changed:
                    self.busy = None
                    self.changed.notify_all()


def _soonest(times: list[float | None]) -> float:
    """When a held heartbeat next needs the thread: its next beat, or its first call if sooner."""
    beat_at, call_at = times
    return beat_at if call_at is None else min(beat_at, call_at)


_beater_lock = threading.Lock()
_beater_of: tuple[int, _Beater] | None = None


def _beater() -> _Beater:
    """This process's beater, made on first use (and again in a forked process, which inherits the
    variable, not the thread)."""
    global _beater_of
    with _beater_lock:
        if _beater_of is None or _beater_of[0] != os.getpid() or not _beater_of[1].thread.is_alive():
            _beater_of = (os.getpid(), _Beater())
        return _beater_of[1]


_doorbell_lock = threading.Lock()
_doorbell: tuple[int, queue.SimpleQueue, threading.Thread] | None = None
# What the doorbell still holds when the process ends is rung before it ends, for at most this long:
# a short-lived process (`manage.py shell -c`, a command) that committed a job must not leave
# it for the sweeper (GRADING_REQUEUE_AFTER_SECONDS), nor hang on a broker that does not answer.
RING_AT_EXIT_SECONDS = 5.0
_STOP = object()


def doorbell() -> queue.SimpleQueue:
    """This process's queue of (job, key, countdown) to ring for, and the thread that rings (made on first use)."""
    global _doorbell
    with _doorbell_lock:
        # A forked process inherits the variable, not the thread.
        if _doorbell is None or _doorbell[0] != os.getpid():
            waiting: queue.SimpleQueue = queue.SimpleQueue()
            thread = threading.Thread(target=_ring_forever, args=(waiting,), name="job-doorbell", daemon=True)
            thread.start()
            _doorbell = (os.getpid(), waiting, thread)
        return _doorbell[1]


def _ring_forever(waiting: queue.SimpleQueue) -> None:
    while True:
        item = waiting.get()
        if item is _STOP:
            return
        job, key, countdown = item
        job.ring(key, countdown=countdown)


def _ring_what_is_left() -> None:
    """At exit: let the doorbell ring for what it holds, within RING_AT_EXIT_SECONDS (it is a daemon thread)."""
    with _doorbell_lock:
        current = _doorbell
    if current is None or current[0] != os.getpid():
        return
    _, waiting, thread = current
    waiting.put(_STOP)
    thread.join(RING_AT_EXIT_SECONDS)
    if thread.is_alive():
        log.warning("exiting with jobs not yet rung for after %g s; the sweeper will ring for them",
                    RING_AT_EXIT_SECONDS)


atexit.register(_ring_what_is_left)
