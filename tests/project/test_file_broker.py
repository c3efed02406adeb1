"""The embedded path's broker (files under var/broker): every message reaches exactly one worker, whole.

Kombu's own filesystem transport let a worker take a message's file before its sender had written
it: the worker read nothing, failed to decode it and exited ("Unrecoverable error"), and the
submission waited for the sweeper. These tests send from another process while workers poll
flat out, which lost about one message in 300 that way.
"""

import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from kombu import Connection

from attentive import broker
from attentive.broker import FilesystemTransport

ROOT = Path(__file__).resolve().parents[2]

TRANSPORT = "attentive.broker.FilesystemTransport"
MESSAGES = 1500
PADDING = "x" * 2000  # a message about the size of a grading task's


def folders(root: Path) -> dict:
    for name in ("queue", "processed", "control"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(root / "queue"), "data_folder_out": str(root / "queue"),
            "processed_folder": str(root / "processed"), "control_folder": str(root / "control"),
            "store_processed": False, "polling_interval": 0}


def fresh_queue() -> str:
    """A queue name no test has used: kombu remembers, per process (and a fork inherits it), which
    queues it has bound, and would neither bind a used name in new folders nor send to it there."""
    return f"grading-{uuid.uuid4().hex}"


def send(options: dict, name: str, start: int, count: int) -> None:
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(name)
        for number in range(start, start + count):
            queue.put({"number": number, "padding": PADDING})


def receive(options: dict, name: str, expected: int, seconds: float, count, results) -> None:
    """Take messages until `expected` have been taken by all receivers together (or time is up)."""
    taken, errors = [], []
    deadline = time.monotonic() + seconds
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(name)
        while time.monotonic() < deadline and count.value < expected:
            try:
                message = queue.get(timeout=0.01)
            except queue.Empty:
                continue
            except Exception as error:  # what would end a worker
                errors.append(repr(error))
                continue
            taken.append(message.payload["number"] if message.payload["padding"] == PADDING else -1)
            message.ack()
            with count.get_lock():
                count.value += 1
    results[os.getpid()] = (taken, errors)


def run(tmp_path: Path, receivers: int) -> tuple[list[int], list[str]]:
    options = folders(tmp_path / "broker")
    context = multiprocessing.get_context("fork")
    count = context.Value("i", 0)
    name = fresh_queue()
    with context.Manager() as manager:
        results = manager.dict()
        # Two senders, as a web process and the sweeper send at once; receivers poll flat out.
        senders = [context.Process(target=send, args=(options, name, start, MESSAGES // 2))
                   for start in (0, MESSAGES // 2)]
        readers = [context.Process(target=receive, args=(options, name, MESSAGES, 60, count, results))
                   for _ in range(receivers)]
        for process in readers + senders:
            process.start()
        for process in senders + readers:
            process.join(90)
            assert process.exitcode == 0, f"a sender or receiver failed (exit code {process.exitcode})"
        outcomes = list(results.values())
    assert len(outcomes) == receivers
    return [number for taken, _ in outcomes for number in taken], [error for _, errors in outcomes for error in errors]


def test_every_message_sent_while_a_worker_polls_arrives_once_and_whole(tmp_path):
    taken, errors = run(tmp_path, receivers=1)
    assert errors == []
    assert sorted(taken) == list(range(MESSAGES))


def test_two_workers_polling_one_queue_never_take_the_same_message(tmp_path):
    taken, errors = run(tmp_path, receivers=2)
    assert errors == []
    assert sorted(taken) == list(range(MESSAGES))  # none twice, none lost
    assert not any((tmp_path / "broker" / "queue").iterdir())
    assert not any((tmp_path / "broker" / "processed").iterdir())  # read, then removed


def test_a_message_being_written_is_not_taken_and_a_file_that_is_not_a_message_is_skipped(tmp_path):
    options = folders(tmp_path / "broker")
    queue_folder = Path(options["data_folder_in"])
    name = fresh_queue()
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(name)
        # What a sender is still writing has a name no worker takes.
        (queue_folder / f".1_a.{name}.msg.part").write_bytes(b"")
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.05)
        assert queue.qsize() == 0
        # A file cut short (a full disk, an older version's race) costs its own message, not the worker;
        # its name sorts first, so it is read first.
        (queue_folder / f"{0:015d}_b.{name}.msg").write_bytes(b"")
        queue.put({"number": 7})
        with mock.patch.object(broker.log, "warning") as warning:
            message = queue.get(timeout=1)
        assert message.payload == {"number": 7}
        message.ack()
        [(text, *arguments)] = [call.args for call in warning.call_args_list]
        assert f"{0:015d}_b.{name}.msg" in arguments
        assert "sweeper" in text
        assert [path.name for path in queue_folder.iterdir()] == [f".1_a.{name}.msg.part"]


def test_a_message_its_sender_never_finished_is_removed_once_it_is_old(tmp_path):
    options = folders(tmp_path / "broker")
    queue_folder = Path(options["data_folder_in"])
    name = fresh_queue()
    abandoned = queue_folder / f".1_a.{name}.msg.part"
    being_written = queue_folder / ".2_b.other-queue.msg.part"
    for path in (abandoned, being_written):
        path.write_bytes(b'{"body": ')
    old = time.time() - broker.FilesystemChannel.ABANDONED_PART_SECONDS - 5
    os.utime(abandoned, (old, old))
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(name)
        with mock.patch.object(broker.log, "warning") as warning, pytest.raises(queue.Empty):
            queue.get(timeout=0.05)
    assert [path.name for path in queue_folder.iterdir()] == [being_written.name]
    [(text, *arguments)] = {call.args for call in warning.call_args_list}
    assert str(abandoned) in arguments
    assert "never finished" in text


def test_messages_are_taken_in_the_order_they_were_sent_when_the_clock_gains_a_digit(tmp_path):
    options = folders(tmp_path / "broker")
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(fresh_queue())
        for number, seconds in enumerate((9.998, 9.999, 10.000, 10.001)):
            with mock.patch.object(broker.time, "monotonic", return_value=seconds):
                queue.put({"number": number})
        taken = []
        for _ in range(4):
            message = queue.get(timeout=1)
            taken.append(message.payload["number"])
            message.ack()
    assert taken == [0, 1, 2, 3]


def test_a_queue_folder_that_cannot_be_written_is_a_channel_error_and_leaves_nothing_behind(tmp_path):
    from kombu.exceptions import ChannelError

    options = folders(tmp_path / "broker")
    options["data_folder_out"] = str(tmp_path / "missing")
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(fresh_queue())
        with pytest.raises(ChannelError, match="Cannot add file"):
            queue.put({"number": 1})
    assert not (tmp_path / "missing").exists()


def test_the_embedded_settings_use_this_transport(tmp_path):
    # settings.py picks the transport by REDIS_URL: read its choice without one, in a fresh interpreter.
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="attentive.settings", ATTENTIVE_VAR_DIR=str(tmp_path))
    code = ("import django; django.setup(); from attentive.celery import app; "
            "print(app.connection_for_write().transport_cls)")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [TRANSPORT]
    assert FilesystemTransport.Channel.__module__ == "attentive.broker"
