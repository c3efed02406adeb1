"""Kombu's transports for our two brokers, each with a fault of its own taken out.

Redis (deployments): a lost connection must not stop the worker.

When Redis goes away while a task holds a message (late acks: every grading does), the worker's
consumer closes its connection and kombu hands the unacknowledged messages back to Redis on the
way (`QoS.restore_unacked_once`). That needs a new client, and kombu builds it from a transport
it may already have detached (`'NoneType' object has no attribute 'hostname'`): the exception is
not one of the connection errors Celery ignores there, so the worker logs "Unrecoverable error"
and exits, and every queued submission waits for someone to restart it (seen in
tests/exercises/test_faults.py with Redis restarted mid-queue, about one run in three on a loaded
machine). The same happens a moment later, after the consumer has reconnected, when the grading
that held the message ends and acknowledges it on the channel of the dead connection.

Both are only bookkeeping: the submission's row is the truth, the claim lets a submission be
graded once, and the sweeper rings again for any submission queued or running without a
heartbeat. So a channel whose connection is gone raises a connection error, which Celery logs
and survives, and a hand-back that fails is logged and skipped; the consumer reconnects as it
does for any lost connection.

The filesystem (the embedded path, no Redis): a message is never read before it is whole.

Kombu's filesystem transport creates a message's file under its final name and then writes it,
while a worker takes any file with that name, whoever is writing it: a worker that polls at the
wrong moment reads an empty message, fails to decode it and exits (Celery's "Unrecoverable error"),
and the submission waits for a worker to be started again and for the sweeper instead of a blink. A
producer process and a consumer polling flat out lost 1 to 107 messages in 3,000 that way (six
runs). Here a message is written under a name no worker takes and renamed into place when it is
whole, and a worker claims a message by renaming it into the processed folder, which is on the same
filesystem (kombu moves it to the system's temporary folder: across filesystems that is a copy,
which two workers could both make). A file that is not a message is skipped with a warning: kombu's
decoding error would end the worker.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from queue import Empty

import redis as redis_py
from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked_once(self, stderr=None):
        try:
            return super().restore_unacked_once(stderr)
        except Exception as error:  # whatever it is, raised here it would end the worker
            log.warning("could not hand unacknowledged messages back to Redis (%s: %s); the sweeper rings "
                        "again for their submissions", type(error).__name__, error)
            return None


class Channel(redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous=False):
        # Where kombu would read the address from a connection that is gone (AttributeError).
        if self.connection is None or self.connection.client is None:
            raise redis_py.exceptions.ConnectionError("this broker channel's connection is closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    """`CELERY_BROKER_TRANSPORT` when the broker is Redis (settings.py)."""

    Channel = Channel


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # Kombu's name, with its clock in milliseconds zero-padded: the names are sorted as text to
        # order the queue, and unpadded "10000_" came before "9999_". Written whole under a name
        # that `_get` skips (its part after the first dot is not "<queue>.msg"), then renamed.
        name = f"{round(time.monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        writing = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(writing, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.rename(writing, final)
        except OSError as error:
            try:
                os.unlink(writing)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from error

    # A sender writes a message in well under a second; a ".part" file this old lost its sender
    # (killed mid-write, a full disk) and would stay in the queue's folder for ever.
    ABANDONED_PART_SECONDS = 600

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                if name.startswith(".") and name.endswith(".part"):
                    self._remove_if_abandoned(os.path.join(self.data_folder_in, name))
                continue
            queued = os.path.join(self.data_folder_in, name)
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(queued, claimed)
            except FileNotFoundError as error:
                if not os.path.exists(queued):
                    continue  # another worker took it first
                raise ChannelError(f"Cannot move file {name!r} to {self.processed_folder!r}") from error
            except OSError as error:
                raise ChannelError(f"Cannot take file {name!r} from the queue") from error
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
                if not self.store_processed:
                    os.remove(claimed)
            except OSError as error:
                raise ChannelError(f"Cannot read file {claimed!r} taken from the queue") from error
            try:
                return loads(bytes_to_str(payload))
            except ValueError as error:
                # Raised from here it would end the worker ("Unrecoverable error"): a file cut short
                # (a full disk, an older version's race) costs its own message only.
                log.warning("skipped message file %s that is not a message (%s); the sweeper rings again for "
                            "its submission", name, error)
        raise Empty()

    def _remove_if_abandoned(self, path: str) -> None:
        try:
            age = time.time() - os.stat(path).st_mtime
            if age > self.ABANDONED_PART_SECONDS:
                os.unlink(path)
                log.warning("removed %s, a message its sender began %.0f s ago and never finished; the sweeper "
                            "rings again for its submission", path, age)
        except OSError:
            pass  # renamed into place or removed by another worker meanwhile


class FilesystemTransport(filesystem.Transport):
    """`CELERY_BROKER_TRANSPORT` when there is no Redis (settings.py): the embedded path's queue of files."""

    Channel = FilesystemChannel
