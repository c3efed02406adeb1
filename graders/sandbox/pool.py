"""The trusted side of the sandbox: the zygote, a warm pool of single-use sandboxes, and calls into them."""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import math
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from graders.sandbox import wire
from graders.sandbox.cgroups import NoCgroups, SandboxCgroups, cgroup_oom_killed, limit_cgroup_memory
from graders.sandbox.isolation import SandboxUnavailable
from graders.sandbox.limits import CEILING, Limits
from graders.sandbox.ready_made import ReadyMade

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_MODEL_MODULES = ("content.nlp2llm.provided",)
# Above the 200,000-264,000 that fixed per-pool blocks used before, so a pool of either kind
# running during an upgrade never meets a uid of the other.
UID_BASE = 1_000_000
UID_RANGE = 10_000_000
UID_CHUNK = 100
# Variables the zygote may inherit: none of them is a secret. OPENBLAS_* keep numpy correct on
# processors where this machine's OpenBLAS needs them.
PASSED_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
READY_TIMEOUT = 30.0
# A zygote that takes longer than this to answer a spawn request is taken for hung, and replaced.
SPAWN_ANSWER_TIMEOUT = 15.0
# Waits between attempts to replace a zygote that died or hung (the last one repeats).
ZYGOTE_RESTART_BACKOFF = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
# A zygote that served this long before it died starts the backoff afresh; one that dies sooner
# (something on the machine keeps killing it) waits longer each time.
ZYGOTE_STABLE_SECONDS = 60.0
# How often the supervisor looks at the zygote while no sandbox is asked for.
SUPERVISE_EVERY_SECONDS = 0.5
# "Build it yourself" rules a pool keeps a warm sandbox for, the most recently asked for first.
RULES_KEPT_WARM = 4
# Without a memory cgroup, memory is bounded per process (RLIMIT_AS): a sandbox of N processes
# could hold N times its limit. So there, a sandbox is one process with one thread.
PROCESSES_WITHOUT_CGROUPS = 1
MAX_TEXT = 20_000
# What one recv asks for: what the frame being read lacks, within these bounds (Sandbox._receive).
RECEIVE_MIN = 64 * 1024
RECEIVE_MAX = 1024 * 1024
# The words a protocol failure may use (see _protocol_failure).
NOT_AN_ANSWER = "a reply that does not answer the request"
UNKNOWN_ERROR = "an error of a kind the grader does not know"
PROTOCOL_CATEGORIES = wire.PROTOCOL_MESSAGES | {NOT_AN_ANSWER, UNKNOWN_ERROR}

SIGNAL_WORDS = {
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGBUS: "a bus error",
    signal.SIGFPE: "a floating point exception",
    signal.SIGILL: "an illegal instruction",
    signal.SIGABRT: "an abort",
}


@dataclass
class Failure:
    """Why a load or a call did not produce a value, in words for the student.

    `kind` is one of: syntax, exception, exit, missing, unsupported, memory, file_size, open_files,
    processes, time, cpu, output, crash, protocol; `forbidden` (the code called one of torch's
    pieces a "build it yourself" rule took away: `message` is its name as the sandbox reported it,
    to be checked against the rule before it is shown); and `killed`, the one that is not the
    student's doing (the sandbox was killed from outside).
    """

    kind: str
    message: str
    traceback: str = ""
    line: int = 0
    column: int = 0
    text: str = ""
    indentation: bool = False


@dataclass
class Outcome:
    """The result of one request: a value (and gradients) or a failure, plus what was printed."""

    value: object = None
    grads: list | None = None
    stdout: str = ""
    failure: Failure | None = None
    duration_ms: float = 0.0


class UidBlock:
    """Fresh uids for one pool's sandboxes: never a uid an earlier sandbox on this machine had.

    The kernel keeps per-uid state after a sandbox ends (the uid's keyring, for one), so a reused
    uid could hand one submission what another planted. The next unused uid of a large range
    lives in a private file (root-owned under /run/attentive-sandbox, so it survives a worker's
    restart); every pool on the machine reserves UID_CHUNK uids at a time from it under flock,
    so no two pools, in one process or several, ever hand out the same uid. The range wraps
    only after UID_RANGE sandboxes.

    In the user-namespace mode (a worker that is not root) only uid 0 is mapped inside, and
    every sandbox is that uid: there the seccomp filter's denial of keyctl/add_key/request_key
    is what keeps the keyring from carrying anything between submissions.
    """

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            directory = Path("/run/attentive-sandbox" if os.geteuid() == 0 else tempfile.gettempdir())
            if os.geteuid() != 0:
                directory = directory / f"attentive-sandbox-{os.geteuid()}"
        directory.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(directory)
        if info.st_uid != os.geteuid() or info.st_mode & 0o077 or not directory.is_dir():
            raise SandboxUnavailable(f"{directory} must be a private directory owned by uid {os.geteuid()}")
        self.counter = directory / "next-uid"
        self.lock = threading.Lock()
        self.chunks: list[int] = []
        self.next = self.end = 0
        self.in_use: set[int] = set()
        with self.lock:
            self._reserve()  # an unusable counter file stops the pool here, not at the first sandbox

    def _reserve(self) -> None:
        fd = os.open(self.counter, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            info = os.fstat(fd)
            if info.st_uid != os.geteuid() or info.st_mode & 0o077:
                raise SandboxUnavailable(f"{self.counter} must be a private file owned by uid {os.geteuid()}")
            text = os.pread(fd, 64, 0).strip()
            first = int(text) if text.isdigit() else UID_BASE if not text else -1
            if first < 0:
                raise SandboxUnavailable(
                    f"{self.counter} holds {text[:20]!r}, not a uid: write into it a uid above every "
                    f"sandbox uid used since the machine started (at least {UID_BASE}), then restart"
                )
            if not UID_BASE <= first <= UID_BASE + UID_RANGE - UID_CHUNK:
                first = UID_BASE
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{first + UID_CHUNK}\n".encode(), 0)
        finally:
            os.close(fd)  # releases the flock
        self.chunks.append(first)
        self.next, self.end = first, first + UID_CHUNK

    def take(self) -> int:
        with self.lock:
            if self.next >= self.end:
                self._reserve()
            uid = self.next
            self.next += 1
            self.in_use.add(uid)
            return uid

    def owns(self, uid: int) -> bool:
        """True if this pool handed out (or may still hand out) `uid`."""
        return any(first <= uid < first + UID_CHUNK for first in self.chunks)

    def give_back(self, uid: int) -> None:
        # Only marks the uid's sandbox as gone: the uid itself is never handed out again.
        with self.lock:
            self.in_use.discard(uid)

    def close(self) -> None:
        """Nothing to release: the counter file is only held while a chunk is reserved."""


class Sandbox:
    """One isolated, single-use process: load a submission once, call its functions, then close."""

    def __init__(
        self,
        pool: SandboxPool,
        channel: socket.socket,
        output: int,
        status: int,
        pidfd: int | None,
        uid: int,
        unavailable: ReadyMade | None = None,
    ) -> None:
        self.pool = pool
        self.channel = channel
        self.output = output
        self.status = status
        self.pidfd = pidfd
        self.uid = uid
        self.limits = Limits()
        self.alive = True
        self.killed_by_us = False
        self.output_total = 0
        self.output_kept = bytearray()
        self.buffer = bytearray()
        self.request_id = 0
        # What the loaded submission's lines are, to check a reported syntax error against.
        self.source_lines: list[str] = []
        # What a "build it yourself" rule took away in this sandbox before it was handed out.
        self.unavailable = unavailable
        self.keeper_pid: int | None = None
        # Forked by its zygote itself (as root), without a keeper: keeper_pid is then the sandbox's own pid.
        self.direct = False
        # Bytes of replies read from this sandbox, for the grader's per-submission cap.
        self.received_bytes = 0
        channel.setblocking(False)
        os.set_blocking(output, False)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_ready(self, timeout: float) -> None:
        """Wait for the sandbox to report that it is isolated; raise SandboxUnavailable otherwise."""
        message, failure = self._receive(time.monotonic() + timeout, Limits(output_kb=CEILING.output_kb))
        if failure is not None:
            self.close()
            raise SandboxUnavailable(f"the sandbox did not start: {failure.message}")
        if type(message) is dict and type(message.get("setup_error")) is str:
            self.close()
            raise SandboxUnavailable(message["setup_error"])
        if message != {"ready": True}:
            self.close()
            raise SandboxUnavailable("the sandbox sent an unexpected first message")

    def load(self, source: str, limits: Limits | None = None, *, unavailable: ReadyMade | None = None) -> Outcome:
        """Compile and run the student's module under `limits` (lowered from the pool's ceiling).

        `unavailable`: the "build it yourself" rule the sandbox was made with (see ready_made.py
        and `SandboxPool.acquire`): its pieces were taken away, and exec denied, before the
        module runs.
        """
        self.limits = limits or Limits()
        if not self.limits.within(self.pool.ceiling):
            raise ValueError(f"{self.limits} is above the pool's ceiling {self.pool.ceiling}")
        if unavailable != self.unavailable:
            raise ValueError("this sandbox was made for another rule: acquire it with pool.acquire(unavailable=rule)")
        if self.pool.cgroups is None and self.limits.processes > PROCESSES_WITHOUT_CGROUPS:
            self.limits = replace(self.limits, processes=PROCESSES_WITHOUT_CGROUPS)
        self.source_lines = source.splitlines()
        if self.pool.cgroups:
            try:
                limit_cgroup_memory(self.uid, self.limits.memory_mb)
            except OSError as error:  # the exercise's RLIMIT_AS still holds; the cgroup keeps the ceiling
                log.warning("could not lower the cgroup memory limit of sandbox %s: %s", self.uid, error)
        request = {"op": "load", "source": source, "limits": asdict(self.limits)}
        return self._request(request, None)

    def call(
        self,
        function: str,
        args: tuple | list = (),
        kwargs: dict | None = None,
        *,
        grad_of: tuple | list = (),
        grad_seed: int = 0,
        timeout: float | None = None,
    ) -> Outcome:
        """Call a student function with plain-data arguments; gradients of `grad_of` inputs on request."""
        request = {
            "op": "call",
            "function": function,
            "args": list(args),
            "kwargs": dict(kwargs or {}),
            "grad_of": list(grad_of),
            "grad_seed": grad_seed,
        }
        outcome = self._request(request, timeout)
        if outcome.failure and outcome.failure.kind == "missing":
            outcome.failure.message = f"your code does not define a function `{function}`"
        return outcome

    def _request(self, request: dict, timeout: float | None) -> Outcome:
        if not self.alive:
            raise RuntimeError("this sandbox has ended; take a new one from the pool")
        started = time.monotonic()
        self.request_id += 1
        request["id"] = self.request_id
        frame = wire.encode(request, request=True)
        seconds = timeout or self.limits.wall_seconds
        output_before = len(self.output_kept)
        failure = self._send(frame, started + seconds)
        reply = None
        if failure is None:
            reply, failure = self._receive(started + seconds, self.limits, seconds)
        if failure is None:
            outcome = self._outcome(reply)
        else:
            outcome = Outcome(failure=failure)
        self._drain_output(self.limits)
        outcome.stdout = self.output_kept[output_before:].decode("utf-8", "replace")
        outcome.duration_ms = (time.monotonic() - started) * 1000
        return outcome

    def _outcome(self, reply: object) -> Outcome:
        if type(reply) is not dict or reply.get("id") != self.request_id or type(reply.get("ok")) is not bool:
            self.close()
            return Outcome(failure=_protocol_failure(NOT_AN_ANSWER))
        if reply["ok"]:
            grads = reply.get("grads")
            if grads is not None and type(grads) is not list:
                self.close()
                return Outcome(failure=_protocol_failure(wire.GARBLED))
            return Outcome(value=reply.get("value"), grads=grads)
        error = reply.get("error")
        if type(error) is not dict or type(error.get("kind")) is not str:
            self.close()
            return Outcome(failure=_protocol_failure(UNKNOWN_ERROR))
        return Outcome(failure=self._failure_from_reply(error))

    def _failure_from_reply(self, error: dict) -> Failure:
        def text(key: str) -> str:
            value = error.get(key)
            return value[:MAX_TEXT] if type(value) is str else ""

        def number(key: str) -> int:
            value = error.get(key)
            return value if type(value) is int else 0

        kind = error["kind"]
        limits = self.limits
        if kind == "syntax":
            # The line's text comes from our own copy of the source, and the position must lie
            # within it: a forged reply cannot make the grader build a caret of 10**18 spaces.
            line = number("line")
            if not 1 <= line <= len(self.source_lines):
                return Failure("syntax", text("message"), indentation=error.get("indentation") is True)
            source_line = self.source_lines[line - 1][:MAX_TEXT]
            column = min(max(number("column"), 0), len(source_line) + 1)
            return Failure(
                "syntax",
                text("message"),
                line=line,
                column=column,
                text=source_line,
                indentation=error.get("indentation") is True,
            )
        if kind == "exception":
            return Failure("exception", f"{text('type')}: {text('message')}", traceback=text("traceback"))
        if kind == "forbidden":
            return Failure("forbidden", text("name")[:200])
        messages = {
            "exit": f"your code called sys.exit({text('message')})",
            "missing": "your code does not define this function",
            "unsupported": f"your function returned {text('message')}",
            "memory": f"memory limit of {limits.memory_mb} MB exceeded",
            "file_size": f"file size limit of {limits.file_size_mb} MB exceeded",
            "open_files": f"open files limit of {limits.open_files} exceeded",
            "processes": (
                "on this grader your code may start no thread or process"
                if limits.processes == PROCESSES_WITHOUT_CGROUPS
                else f"process limit of {limits.processes} processes and threads exceeded"
            ),
        }
        if kind not in messages:
            return _protocol_failure(UNKNOWN_ERROR)
        return Failure(kind, messages[kind])

    def _send(self, frame: bytes, deadline: float) -> Failure | None:
        view = memoryview(frame)
        while view:
            # Sent at once when the socket has room, as it has for every request but the largest:
            # a poll first would cost each call a system call and a wait_for.
            try:
                sent = self.channel.send(view[: 1 << 20])
            except BlockingIOError:
                failure = self._wait(deadline, want_write=True)
                if failure is not None:
                    return failure
                continue
            except OSError:
                return self._death_failure()
            view = view[sent:]
        return None

    def _receive(
        self, deadline: float, limits: Limits, seconds: float = 0.0
    ) -> tuple[object, Failure | None]:
        while True:
            # What the frame being read still lacks, once its length is known.
            lacking = 0
            if len(self.buffer) >= 4:
                try:
                    length = wire.frame_length(bytes(self.buffer[:4]), self.pool.max_reply_bytes)
                except wire.ProtocolError as error:
                    self.close()
                    return None, _protocol_failure(str(error))
                if len(self.buffer) >= 4 + length:
                    body = bytes(self.buffer[4 : 4 + length])
                    del self.buffer[: 4 + length]
                    self.received_bytes += 4 + length
                    try:
                        return wire.decode(body), None
                    except wire.ProtocolError as error:
                        self.close()
                        return None, _protocol_failure(str(error))
                lacking = 4 + length - len(self.buffer)
            failure = self._wait(deadline, want_write=False, limits=limits, seconds=seconds)
            if failure is not None:
                return None, failure
            try:
                # recv(n) allocates n bytes before it reads: 1 MB for every reply of a few hundred
                # bytes was an mmap, an mremap and a munmap per call. So what is lacking, within bounds.
                chunk = self.channel.recv(min(max(lacking, RECEIVE_MIN), RECEIVE_MAX))
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                return None, self._death_failure()
            self.buffer += chunk

    def _wait(
        self, deadline: float, *, want_write: bool, limits: Limits | None = None, seconds: float = 0.0
    ) -> Failure | None:
        """Block until the channel is ready, draining output meanwhile; a failure ends the sandbox."""
        limits = limits or self.limits
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                return Failure("time", f"time limit of {seconds or limits.wall_seconds:g} s exceeded")
            readable = [self.channel, self.output]
            ready_read, ready_write = wait_for(readable, [self.channel] if want_write else [], remaining)
            if self.output in ready_read and self._drain_output(limits):
                return Failure("output", f"output limit of {limits.output_kb} KB exceeded")
            if (self.channel in ready_read and not want_write) or ready_write:
                return None

    def _drain_output(self, limits: Limits) -> bool:
        """Read what the sandbox printed; True (and the sandbox ended) if it printed too much."""
        if not self.alive:
            # Its descriptor is closed, and its number may already belong to another sandbox's
            # pipe (the refill thread opens them): a read would take that one's output, or block.
            return False
        cap = limits.output_kb * 1024
        while True:
            try:
                chunk = os.read(self.output, 1 << 16)
            except (BlockingIOError, OSError):
                return False
            if not chunk:
                return False
            self.output_total += len(chunk)
            if len(self.output_kept) < cap:
                self.output_kept += chunk[: cap - len(self.output_kept)]
            if self.output_total > cap:
                self.close()
                return True

    def _death_failure(self) -> Failure:
        """Why the sandbox ended by itself, from the status its keeper (or, as root, its zygote) reports."""
        status = b""
        ready, _ = wait_for([self.status], [], 2.0)
        if ready:
            status = os.read(self.status, wire.EXIT_STATUS.size)
        # End of file at once: the keeper (or zygote) ended without a report. (Nothing for 2 s: the sandbox
        # lives on without its channel, which student code closing fd 3 does.)
        keeper_silent = bool(ready) and not status
        # Read before the cgroup is removed with the sandbox: a SIGKILL at the cgroup's memory
        # limit is the student's memory use, not a kill from outside.
        out_of_memory = cgroup_oom_killed(self.uid) if self.pool.cgroups else False
        self.close()
        if keeper_silent:
            # The keeper (or zygote) reports every end of the sandbox before it exits itself, and
            # student code cannot reach it (another PID namespace, another uid): no report means it
            # was killed (an operator, the host's OOM killer, a dying zygote), and the sandbox with it.
            return Failure("killed", "the process running your code was killed from outside the sandbox")
        if len(status) != wire.EXIT_STATUS.size:
            return Failure("crash", "your code ended the Python process that runs it")
        wait_status, cpu_seconds = wire.EXIT_STATUS.unpack(status)
        if os.WIFSIGNALED(wait_status):
            number = os.WTERMSIG(wait_status)
            if number in (signal.SIGKILL, signal.SIGXCPU) and cpu_seconds >= self.limits.cpu_seconds - 0.5:
                return Failure("cpu", f"CPU time limit of {self.limits.cpu_seconds:g} s exceeded")
            if number == signal.SIGXFSZ:
                return Failure("file_size", f"file size limit of {self.limits.file_size_mb} MB exceeded")
            if number == signal.SIGKILL and out_of_memory:
                return Failure("memory", f"memory limit of {self.limits.memory_mb} MB exceeded")
            if number == signal.SIGKILL:
                # Student code cannot SIGKILL itself: it is PID 1 of its namespace, which the kernel
                # shields from its own members. So this came from outside: the host's OOM killer,
                # an operator, a dying zygote. Not the student's doing, and not to be scored.
                return Failure("killed", "the process running your code was killed from outside the sandbox")
            words = SIGNAL_WORDS.get(number, f"signal {signal.Signals(number).name}")
            return Failure("crash", f"your code crashed the Python process with {words}")
        code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else -1
        return Failure("crash", f"your code ended the Python process (exit status {code}, e.g. os._exit)")

    def close(self) -> None:
        """End the sandbox and everything in it; safe to call twice. Returns without waiting."""
        if not self.alive:
            return
        self.alive = False
        if self.pidfd is not None:
            try:
                # A keeper answers SIGTERM by killing the sandbox's PID namespace; a sandbox forked
                # by its zygote (as root) is that namespace's init, which takes SIGKILL only.
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL if self.direct else signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.channel.close()
        os.close(self.output)
        self.pool.reap(self)

    def wait_ended(self) -> None:
        """Wait until the keeper is gone (SIGKILL if it lingers), then free the last descriptors."""
        if self.pidfd is not None:
            if not wait_for([self.pidfd], [], 1.0)[0]:
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                wait_for([self.pidfd], [], 5.0)
            os.close(self.pidfd)
        os.close(self.status)
        self.pool.uids.give_back(self.uid)

    def is_running(self) -> bool:
        """True if the sandbox process is still there and has not said anything unasked."""
        if not self.alive or self.pidfd is None:
            return False
        ready, _ = wait_for([self.pidfd, self.channel], [], 0)
        return not ready


# What poll reports for a descriptor that select would call readable (data, end of file, an
# error, a process ended for a pidfd) or writable.
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR | select.POLLNVAL


def wait_for(read: list, write: list, timeout: float) -> tuple[list, list]:
    """select() for files and descriptor numbers, by poll: select refuses any descriptor numbered
    1,024 or above, which a long-lived worker (or a test process) can reach."""
    poller = select.poll()
    masks: dict[int, int] = {}
    for item in read:
        number = item if isinstance(item, int) else item.fileno()
        masks[number] = masks.get(number, 0) | select.POLLIN | select.POLLPRI
    for item in write:
        number = item if isinstance(item, int) else item.fileno()
        masks[number] = masks.get(number, 0) | select.POLLOUT
    for number, mask in masks.items():
        poller.register(number, mask)
    events = dict(poller.poll(max(0.0, timeout) * 1000))

    def fired(item, wanted: int) -> bool:
        return bool(events.get(item if isinstance(item, int) else item.fileno(), 0) & wanted)

    return [item for item in read if fired(item, _READABLE)], [item for item in write if fired(item, _WRITABLE)]


def _protocol_failure(category: str) -> Failure:
    """A protocol failure in one of a few fixed words: nothing the sandbox wrote is echoed.

    A verdict shows this text, and a hidden test's inputs written into an error's kind (or a
    frame's length, an array's shape...) would otherwise come out in it.
    """
    if category not in PROTOCOL_CATEGORIES:
        category = wire.GARBLED
    return Failure("protocol", f"the reply from your code's process was not understood ({category})")


class SandboxPool:
    """A zygote plus `size` warm sandboxes, refilled in the background. Each sandbox is used once.

    Use as a context manager, or call `start()` and `close()`. `preload` names modules the zygote
    imports before dropping privileges (model registries); everything they hold is readable by
    student code, so they must hold no solutions. `launcher` is a command prefix for the zygote
    (e.g. `setpriv --reuid=...` to run it as a dedicated user).
    """

    def __init__(
        self,
        size: int = 2,
        *,
        preload: tuple[str, ...] = DEFAULT_MODEL_MODULES,
        launcher: tuple[str, ...] = (),
        python: str = sys.executable,
        ceiling: Limits = CEILING,
        max_reply_mb: int = 64,
    ) -> None:
        self.size = size
        self.preload = preload
        self.launcher = launcher
        self.python = python
        self.ceiling = ceiling
        self.max_reply_bytes = max_reply_mb * 1024 * 1024
        self.mode = ""
        self.uids: UidBlock
        self.cgroups: SandboxCgroups | None = None
        self.zygote: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.zygote_lock = threading.Lock()
        self.condition = threading.Condition()
        self.warm: collections.deque[Sandbox] = collections.deque()
        # `size` warm sandboxes per rule asked for lately, their pieces already taken away.
        self.warm_for_rule: collections.OrderedDict[ReadyMade, collections.deque[Sandbox]] = collections.OrderedDict()
        self.failure: SandboxUnavailable | None = None
        # Why the zygote is out of service ("" while it serves), and how its replacement goes.
        self.zygote_down = ""
        self.zygote_restarts = 0
        self.zygote_failed_at = -math.inf
        self.zygote_started_at = -math.inf
        self.closed = False
        self.stopping = threading.Event()
        self.supervisor: threading.Thread | None = None
        self.refiller: threading.Thread | None = None
        self.ended: queue.SimpleQueue[Sandbox | None] = queue.SimpleQueue()
        self.reaper: threading.Thread | None = None

    def __enter__(self) -> SandboxPool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> SandboxPool:
        """Start the zygote and one sandbox (so a missing capability fails here), then the refiller."""
        self.uids = UidBlock()
        self.reaper = threading.Thread(target=self._reap_ended, name="sandbox-pool-reaper", daemon=True)
        self.reaper.start()
        try:
            self._start_zygote()
            self._start_cgroups()
            first = self.spawn()
        except BaseException:
            self.close()
            raise
        self.warm.append(first)
        self.refiller = threading.Thread(target=self._refill, name="sandbox-pool-refill", daemon=True)
        self.refiller.start()
        self.supervisor = threading.Thread(target=self._supervise, name="sandbox-pool-supervisor", daemon=True)
        self.supervisor.start()
        return self

    def _start_cgroups(self) -> None:
        """Memory and pids cgroups for the sandboxes, or a loud warning and one process per sandbox."""
        reason = "the sandboxes run in a user namespace, whose keepers may not move processes between cgroups"
        if self.mode == "root":
            try:
                self.cgroups = SandboxCgroups.start(self.ceiling.memory_mb * 1024 * 1024, self.ceiling.processes)
                return
            except NoCgroups as error:
                reason = str(error)
        log.warning(
            "SANDBOXES RUN WITHOUT MEMORY AND PIDS CGROUPS (%s). Memory is bounded per process only "
            "(RLIMIT_AS), so each sandbox is limited to %d process (no thread, no child): student code "
            "cannot multiply its memory limit. Give the worker a writable cgroup v2 tree (docker-compose.yml "
            "does, see docs/security.md) to lift this.",
            reason,
            PROCESSES_WITHOUT_CGROUPS,
        )

    def _start_zygote(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1"}
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        # One thread: a thread pool alive at fork time would be copied in a broken state.
        environment.update(
            {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        )
        environment.update({name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ})
        self.zygote_errors = tempfile.TemporaryFile()
        command = [
            *self.launcher,
            self.python,
            "-m",
            "graders.sandbox.zygote",
            str(child.fileno()),
            *self.preload,
        ]
        self.zygote = subprocess.Popen(
            command,
            pass_fds=[child.fileno()],
            env=environment,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.zygote_errors,
        )
        child.close()
        self.control = parent
        parent.settimeout(120)
        try:
            message = parent.recv(65536)
        except OSError:
            message = b""
        parent.settimeout(SPAWN_ANSWER_TIMEOUT)
        reply = json.loads(message) if message else {"error": self._zygote_stderr()}
        if not reply.get("ready"):
            raise SandboxUnavailable(f"the sandbox zygote did not start: {reply.get('error')}")
        self.mode = reply["mode"]
        self.zygote_started_at = time.monotonic()

    def _zygote_lost(self, reason: str) -> None:
        """Take the zygote out of service (zygote_lock held); the supervisor or the next spawn replaces it."""
        now = time.monotonic()
        if now - self.zygote_started_at > ZYGOTE_STABLE_SECONDS:
            self.zygote_restarts = 0
        self.zygote_down = reason
        self.zygote_failed_at = now
        log.warning("%s; it will be replaced", reason)

    def _replace_zygote(self) -> None:
        """Start a new zygote in place of one that died or hung (zygote_lock held), with backoff."""
        wait = ZYGOTE_RESTART_BACKOFF[min(self.zygote_restarts, len(ZYGOTE_RESTART_BACKOFF) - 1)]
        if time.monotonic() < self.zygote_failed_at + wait:
            raise SandboxUnavailable(f"{self.zygote_down}; replacing it in {wait:g} s")
        if self.zygote is not None and self.zygote.poll() is None:
            self.zygote.kill()
            self.zygote.wait()
        if self.control is not None:
            self.control.close()
        self.zygote_restarts += 1
        try:
            self._start_zygote()
        except SandboxUnavailable as error:
            self.zygote_failed_at = time.monotonic()
            self.zygote_down = f"a new sandbox zygote did not start ({error})"
            log.error("%s", self.zygote_down)
            raise SandboxUnavailable(self.zygote_down) from None
        log.warning("replaced the sandbox zygote (%d replacements in a row)", self.zygote_restarts)
        self.zygote_down = ""

    def _supervise(self) -> None:
        """Notice a zygote that died while nobody asked for a sandbox, and replace it before the next one is.

        Its warm sandboxes died with it (their keepers' parent-death signal): they are dropped,
        and the refiller makes new ones from the new zygote.
        """
        while not self.stopping.wait(SUPERVISE_EVERY_SECONDS):
            with self.zygote_lock:
                if self.closed or self.control is None:
                    return
                if not self.zygote_down and self.zygote is not None and self.zygote.poll() is not None:
                    self._zygote_lost(f"the sandbox zygote exited ({self._zygote_stderr()})")
                if not self.zygote_down:
                    continue
                try:
                    self._replace_zygote()
                except SandboxUnavailable:
                    continue  # waiting out the backoff, or the new one did not start: try again later
            self._drop_dead_warm_sandboxes()

    def _drop_dead_warm_sandboxes(self) -> None:
        with self.condition:
            for warm in (self.warm, *self.warm_for_rule.values()):
                dead = [sandbox for sandbox in warm if not sandbox.is_running()]
                for sandbox in dead:
                    warm.remove(sandbox)
                    sandbox.close()
            self.failure = None
            self.condition.notify_all()

    def problem(self) -> str:
        """Why this pool cannot hand out sandboxes right now, or "" when it can."""
        if self.closed:
            return "the sandbox pool is closed"
        if self.zygote_down:
            return self.zygote_down
        return str(self.failure) if self.failure is not None else ""

    def _zygote_stderr(self) -> str:
        if self.zygote is not None:
            try:
                self.zygote.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.zygote_errors.seek(0)
        text = self.zygote_errors.read()[-2000:].decode("utf-8", "replace").strip()
        return text or "it exited without a message"

    def spawn(self, unavailable: ReadyMade | None = None) -> Sandbox:
        """A new isolated sandbox, ready for a submission (slow path: a fork plus isolation).

        `unavailable`: a "build it yourself" rule whose pieces the sandbox takes away (and then
        may exec no program) before it says it is ready.
        """
        uid = self.uids.take()
        try:
            cgroup_procs = self.cgroups.prepare(uid) if self.cgroups else []
        except OSError as error:
            self.uids.give_back(uid)
            raise SandboxUnavailable(f"making the sandbox's cgroup failed: {error}") from None
        parent_channel, child_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        output_read, output_write = os.pipe()
        status_read, status_write = os.pipe()
        request = {"uid": uid, "gid": uid, "limits": asdict(self.ceiling), "cgroup_procs": cgroup_procs}
        if unavailable is not None:
            request["unavailable"] = {"operators": sorted(unavailable.operators), "words": list(unavailable.words)}
        try:
            with self.zygote_lock:
                if self.closed or self.control is None:
                    raise SandboxUnavailable("the sandbox pool is closed")
                if self.zygote_down:
                    self._replace_zygote()
                try:
                    socket.send_fds(
                        self.control,
                        [json.dumps(request).encode()],
                        [child_channel.fileno(), output_write, status_write],
                    )
                    message, fds, _, _ = socket.recv_fds(self.control, 4096, 1)
                except OSError:  # the zygote is gone, or hung past the control socket's timeout
                    message, fds = b"", []
                if not message:
                    self._zygote_lost(f"the sandbox zygote stopped answering ({self._zygote_stderr()})")
        finally:
            child_channel.close()
            os.close(output_write)
            os.close(status_write)
        if not message:
            for fd in (output_read, status_read):
                os.close(fd)
            parent_channel.close()
            self.uids.give_back(uid)
            if self.cgroups:
                self.cgroups.remove(uid)
            raise SandboxUnavailable(self.zygote_down or "the sandbox zygote did not answer")
        sandbox = Sandbox(self, parent_channel, output_read, status_read, fds[0] if fds else None, uid, unavailable)
        reply = json.loads(message) if message.startswith(b"{") else {}
        keeper = reply.get("pid")
        sandbox.keeper_pid = keeper if type(keeper) is int else None
        sandbox.direct = reply.get("direct") is True
        sandbox.wait_ready(READY_TIMEOUT)
        return sandbox

    def _refill(self) -> None:
        while True:
            with self.condition:
                while not self.closed and not (missing := self._missing()):
                    self.condition.wait()
                if self.closed:
                    return
                rule = missing[0]
            try:
                sandbox = self.spawn(rule)
            except SandboxUnavailable as error:
                with self.condition:
                    self.failure = error
                    self.condition.notify_all()
                    self.condition.wait(1.0)
                continue
            with self.condition:
                if self.closed:
                    sandbox.close()
                    return
                self.failure = None
                if rule is None:
                    self.warm.append(sandbox)
                elif rule in self.warm_for_rule:
                    self.warm_for_rule[rule].append(sandbox)
                else:  # no longer among the rules kept warm
                    sandbox.close()
                self.condition.notify_all()

    def _missing(self) -> list[ReadyMade | None]:
        """What the refiller should make next (None: a plain sandbox), first first; condition held."""
        missing: list[ReadyMade | None] = [None] if len(self.warm) < self.size else []
        return missing + [rule for rule, warm in self.warm_for_rule.items() if len(warm) < self.size]

    def reap(self, sandbox: Sandbox) -> None:
        """Hand a closed sandbox to the reaper thread, so closing never waits for the kernel."""
        self.ended.put(sandbox)

    def _reap_ended(self) -> None:
        while (sandbox := self.ended.get()) is not None:
            sandbox.wait_ended()
            if self.cgroups:
                self.cgroups.remove(sandbox.uid)

    def acquire(self, timeout: float = 30.0, *, unavailable: ReadyMade | None = None) -> Sandbox:
        """A warm sandbox for one submission; close it (or use `with`) when done.

        `unavailable`: a sandbox for a "build it yourself" rule, its pieces already taken away.
        The pool keeps `size` warm for each of the RULES_KEPT_WARM rules asked for last; the
        first time a rule is asked for, the sandbox is made on the spot.
        """
        if unavailable is not None:
            return self._acquire_for_rule(unavailable)
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                if self.closed:
                    raise SandboxUnavailable("the sandbox pool is closed")
                while self.warm:
                    sandbox = self.warm.popleft()
                    self.condition.notify_all()
                    if sandbox.is_running():
                        return sandbox
                    sandbox.close()
                if self.failure is not None:
                    raise SandboxUnavailable(str(self.failure))
                if self.size == 0:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SandboxUnavailable(f"no sandbox became ready within {timeout:g} s")
                self.condition.wait(remaining)
        return self.spawn()

    def keep_warm(self, rules: Iterable[ReadyMade]) -> None:
        """Keep sandboxes warm for `rules` from now on (the last ones given count as asked for last),
        as if each had been asked for once: the refiller makes them, and their rule's zygote, in
        the background, not the first submission that needs one."""
        with self.condition:
            if self.closed or not self.size:
                return
            for rule in rules:
                self._warm_for(rule)
            self.condition.notify_all()

    def _warm_for(self, rule: ReadyMade) -> collections.deque[Sandbox]:
        """The warm sandboxes of `rule`, now the rule asked for last; condition held."""
        warm = self.warm_for_rule.setdefault(rule, collections.deque())
        self.warm_for_rule.move_to_end(rule)
        while len(self.warm_for_rule) > RULES_KEPT_WARM:
            for sandbox in self.warm_for_rule.popitem(last=False)[1]:
                sandbox.close()
        return warm

    def _acquire_for_rule(self, rule: ReadyMade) -> Sandbox:
        with self.condition:
            if self.closed:
                raise SandboxUnavailable("the sandbox pool is closed")
            if self.size:
                warm = self._warm_for(rule)
                while warm:
                    sandbox = warm.popleft()
                    self.condition.notify_all()
                    if sandbox.is_running():
                        return sandbox
                    sandbox.close()
                self.condition.notify_all()
        return self.spawn(rule)

    def warm_sandboxes(self) -> list[Sandbox]:
        """Every warm sandbox, plain or made for a rule."""
        with self.condition:
            return [*self.warm, *(sandbox for warm in self.warm_for_rule.values() for sandbox in warm)]

    def close(self) -> None:
        """Stop refilling, end every warm sandbox and the zygote."""
        self.stopping.set()
        with self.condition:
            self.closed = True
            self.condition.notify_all()
            warm = [*self.warm, *(sandbox for kept in self.warm_for_rule.values() for sandbox in kept)]
            self.warm, self.warm_for_rule = collections.deque(), collections.OrderedDict()
        for thread in (self.refiller, self.supervisor):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=30)
        for sandbox in warm:
            sandbox.close()
        if self.reaper is not None:
            self.ended.put(None)
            self.reaper.join(timeout=60)
        if self.cgroups:
            self.cgroups.close()
        with self.zygote_lock:
            if self.control is not None:
                self.control.close()
                self.control = None
        if self.zygote is not None:
            try:
                self.zygote.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.zygote.kill()
                self.zygote.wait()
        if hasattr(self, "uids"):
            self.uids.close()
