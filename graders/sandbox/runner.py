"""The sandbox side: loads the student's module and answers one request at a time over the channel.

Everything here runs inside the isolated process, next to student code, so nothing here is
trusted by the grader: it only turns student return values into plain data (see wire.py).
"""

from __future__ import annotations

import errno
import linecache
import os
import socket
import sys
import traceback
import types

import torch

from graders.sandbox import isolation, models, ready_made, syscalls, wire

CHANNEL_FD = 3
FILENAME = "submission.py"
MAX_REQUEST_BYTES = 1 << 30
MAX_TEXT = 20_000


class Runner:
    """Serves `load` (once) and `call` requests for one submission."""

    def __init__(self, channel: socket.socket, memory_baseline: int, limits_filter: bytes) -> None:
        self.channel = channel
        self.memory_baseline = memory_baseline
        self.limits_filter = limits_filter
        self.module: types.ModuleType | None = None

    def serve(self) -> None:
        self.send({"ready": True})
        while True:
            request = self.receive()
            request_id = request.get("id") if type(request) is dict else None
            try:
                if type(request) is not dict:
                    response = _error("protocol", message="a request that is not a dict")
                elif request.get("op") == "load":
                    response = self.load(request)
                elif request.get("op") == "call":
                    response = self.call(request)
                else:
                    response = _error("protocol", message=f"unknown op {request.get('op')!r}")
            except BaseException as error:  # any student failure becomes a reply
                response = describe_failure(error)
            response["id"] = request_id
            self.send_response(response)

    def receive(self) -> object:
        prefix = self._read_exactly(4)
        length = wire.frame_length(prefix, MAX_REQUEST_BYTES)
        return wire.decode(self._read_exactly(length), request=True)

    def _read_exactly(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            chunk = self.channel.recv(min(remaining, 1 << 20))
            if not chunk:
                os._exit(0)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def send(self, message: dict) -> None:
        self.channel.sendall(wire.encode(message))

    def send_response(self, response: dict) -> None:
        try:
            frame = wire.encode(response)
        except wire.UnsupportedValue as error:
            described = wire.describe_type(response.get("value"))
            culprit = str(error)
            text = described if culprit == described else f"{described} holding {culprit}"
            frame = wire.encode({"id": response["id"], **_error("unsupported", message=text)})
        self.channel.sendall(frame)

    def load(self, request: dict) -> dict:
        if self.module is not None:
            return _error("protocol", message="the submission is already loaded")
        limits = request["limits"]
        isolation.set_limits(
            cpu_seconds=limits["cpu_seconds"],
            memory_bytes=self.memory_baseline + limits["memory_mb"] * 1024 * 1024,
            processes=limits["processes"],
            file_size_bytes=limits["file_size_mb"] * 1024 * 1024,
            open_files=limits["open_files"],
        )
        # From here on the limits stay as they are (no setrlimit, no prlimit64 with a new value).
        syscalls.install_filter(self.limits_filter)
        source = request["source"]
        try:
            code = compile(source, FILENAME, "exec", dont_inherit=True)
        except SyntaxError as error:
            return _error(
                "syntax",
                message=_text(error.msg),
                line=error.lineno if type(error.lineno) is int else 0,
                column=error.offset if type(error.offset) is int else 0,
                text=_text(error.text or ""),
                indentation=isinstance(error, IndentationError),
            )
        except ValueError as error:
            return _error("syntax", message=_text(str(error)), line=0, column=0, text="", indentation=False)
        module = types.ModuleType("submission")
        module.__file__ = FILENAME
        sys.modules["submission"] = module
        linecache.cache[FILENAME] = (len(source), None, source.splitlines(keepends=True), FILENAME)
        self.module = module
        exec(code, module.__dict__)  # noqa: S102 - this is the sandbox: running student code is its job
        return {"ok": True}

    def call(self, request: dict) -> dict:
        if self.module is None:
            return _error("protocol", message="call before load")
        name = request["function"]
        function = self.module.__dict__.get(name)
        if function is None or not callable(function):
            return _error("missing", message=name)
        args = [_resolve_models(arg) for arg in request["args"]]
        kwargs = {key: _resolve_models(value) for key, value in request["kwargs"].items()}
        return self._call(function, args, kwargs, request)

    def _call(self, function, args: list, kwargs: dict, request: dict) -> dict:
        grad_of = request.get("grad_of") or []
        if not grad_of:
            return {"ok": True, "value": function(*args, **kwargs)}
        inputs = []
        for target in grad_of:
            tensor = args[target] if type(target) is int else kwargs[target]
            tensor.requires_grad_(True)
            inputs.append(tensor)
        with torch.enable_grad():
            output = function(*args, **kwargs)
            if type(output) is not torch.Tensor or not output.requires_grad:
                return {"ok": True, "value": output, "grads": None}
            grad_output = None
            if output.dim() > 0:
                generator = torch.Generator().manual_seed(request["grad_seed"])
                grad_output = torch.randn(output.shape, generator=generator, dtype=output.dtype)
            grads = torch.autograd.grad(output, inputs, grad_outputs=grad_output, allow_unused=True)
        return {"ok": True, "value": output.detach(), "grads": list(grads)}


def _resolve_models(value: object) -> object:
    if type(value) is wire.ModelRef:
        return models.build_model(value.name, **value.kwargs)
    if type(value) is list:
        return [_resolve_models(item) for item in value]
    if type(value) is tuple:
        return tuple(_resolve_models(item) for item in value)
    if type(value) is dict:
        return {key: _resolve_models(item) for key, item in value.items()}
    return value


def _error(kind: str, **details: object) -> dict:
    return {"ok": False, "error": {"kind": kind, **details}}


def _text(value: object) -> str:
    text = value if type(value) is str else ""
    return text[:MAX_TEXT]


def describe_failure(error: BaseException) -> dict:
    """A reply describing an exception raised while loading or calling student code."""
    if isinstance(error, SystemExit):
        return _error("exit", message=_text(_safe_str(error.code)))
    if isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and "can't allocate memory" in _safe_str(error)
    ):
        return _error("memory", message="")
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return _error("file_size", message="")
    if isinstance(error, OSError) and error.errno == errno.EMFILE:
        return _error("open_files", message="")
    if (isinstance(error, OSError) and error.errno == errno.EAGAIN) or (
        isinstance(error, RuntimeError) and "can't start new thread" in _safe_str(error)
    ):
        return _error("processes", message="")
    unavailable = ready_made.MESSAGE_PATTERN.search(_safe_str(error))
    if unavailable is not None:
        return _error("forbidden", name=unavailable.group(1))
    return _error(
        "exception",
        type=_text(type(error).__name__),
        message=_text(_safe_str(error)),
        traceback=_text(student_traceback(error)),
    )


def _safe_str(value: object) -> str:
    try:
        text = str(value)
    except BaseException:  # a hostile __str__ must not break the reply
        return "<unprintable>"
    return text if type(text) is str else "<unprintable>"


def student_traceback(error: BaseException) -> str:
    """The traceback restricted to frames in the student's file."""
    try:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == FILENAME]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(error), error)
    except BaseException:
        return f"{type(error).__name__}: <unprintable>"
    return "".join(lines)


def start(channel_fd: int, memory_baseline: int, limits_filter: bytes) -> None:
    """Serve requests on the channel until the trusted side hangs up; never returns."""
    channel = socket.socket(fileno=channel_fd)
    try:
        Runner(channel, memory_baseline, limits_filter).serve()
    finally:
        os._exit(0)


def setup_failure_frame(error: BaseException) -> bytes:
    """The frame a sandbox sends instead of `ready` when isolation failed."""
    message = (
        str(error) if isinstance(error, isolation.SandboxUnavailable) else f"{type(error).__name__}: {error}"
    )
    return wire.encode({"setup_error": message[:MAX_TEXT]})
