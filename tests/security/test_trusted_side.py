"""Replies forged on the sandbox's channel: the trusted side bounds every one before using it, gives a
verdict the student can read, stays within the submission's time, and grades the next one in full."""

import json
import struct
import textwrap
import time

import pytest

from graders import code
from graders.code import grade_code
from graders.sandbox import wire
from tests.conftest import ROOT
from tests.security.conftest import EXERCISE, settled

CORRECT = (EXERCISE / "solution.py").read_text()
FULL_MARKS = 4.0
# The exercise's limits: 1 s per call, so 3 s for the whole submission.
BUDGET_SECONDS = 3.0
CHANNEL_BROKEN = "Your code wrote to the grader's channel, or returned something the grader cannot read"


def forging(frame_code: str, *, at_import: bool = True, then: str = CORRECT) -> str:
    """A submission that writes the frame built by `frame_code` (a Python expression) to fd 3."""
    helpers = textwrap.dedent('''
        import json, os, struct

        def msg(**fields):
            return {"dict": [[key, value] for key, value in fields.items()]}

        def frame(message, blobs=()):
            header = json.dumps({"message": message, "blobs": [len(blob) for blob in blobs]}).encode()
            return struct.pack(">II", 4 + len(header) + sum(map(len, blobs)), len(header)) + header + b"".join(blobs)

        def npy(header_text, data=b""):
            text = header_text.encode("latin1")
            text += b" " * (63 - (10 + len(text)) % 64) + b"\\n"
            return b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(text)) + text + data
    ''')
    if at_import:
        return helpers + f"\nos.write(3, {frame_code})\n" + then
    wrapped = f"\n_real = softmax\ndef softmax(x, dim=-1):\n    os.write(3, {frame_code})\n    return _real(x, dim)\n"
    return helpers + then + wrapped


def syntax_reply(column, line=1):
    return (
        f'frame(msg(id=1, ok=False, error=msg(kind="syntax", message="invalid syntax", '
        f'line={line}, column={column}, text="x" * 10, indentation=False)))'
    )


def assert_next_submission_gets_full_marks(pool):
    assert settled(pool)
    after = grade_code(EXERCISE, CORRECT, pool)
    assert (after.status, after.score) == ("graded", FULL_MARKS), after.message


@pytest.mark.parametrize("column", [10**18, 2**70, 30_000_000, -(10**18)], ids=["1e18", "2^70", "30M", "negative"])
def test_a_forged_syntax_error_cannot_make_a_huge_caret(pool, column):
    verdict = grade_code(EXERCISE, forging(syntax_reply(column)), pool)
    assert verdict.status == "graded"
    assert verdict.score == 0
    assert verdict.message.startswith("Line 1: invalid syntax")
    # The caret points into the submission's own first line, whatever column was claimed.
    first_line = forging(syntax_reply(column)).splitlines()[0]
    assert len(verdict.message) < 200 + len(first_line)
    assert "x" * 10 not in verdict.message  # the line shown is ours, not the one the reply claimed
    assert_next_submission_gets_full_marks(pool)


def test_a_forged_syntax_error_on_a_line_that_does_not_exist_shows_no_line(pool):
    verdict = grade_code(EXERCISE, forging(syntax_reply(5, line=10**9)), pool)
    assert verdict.score == 0
    assert verdict.message.startswith("Line 0: invalid syntax")
    assert "^" not in verdict.message
    assert_next_submission_gets_full_marks(pool)


TOO_LARGE = "(a reply larger than the grader accepts)"
GARBLED = "(a reply the grader could not read)"
BAD_ARRAY = "(an array the grader could not read)"


@pytest.mark.parametrize(
    ("frame_code", "detail"),
    [
        ('frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
         '\'shape\': (10**12,), }")])', BAD_ARRAY),
        ('frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
         '\'shape\': (1000000000000,), }")])', BAD_ARRAY),
        ('frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'|O\', \'fortran_order\': False, '
         '\'shape\': (1,), }", b"x" * 8)])', BAD_ARRAY),
        # Shapes holding no data whose other dimensions numpy refuses (ValueError in reshape).
        ('frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
         '\'shape\': (0, 100000000000000000000000000000000), }")])', BAD_ARRAY),
        ('frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
         '\'shape\': (0, 9223372036854775807, 9223372036854775807), }")])', BAD_ARRAY),
        ('frame(msg(id=2, ok=True, value={"tensor": [0, "float32"]}), [npy("{\'descr\': \'<f4\', '
         '\'fortran_order\': True, \'shape\': (0, 2147483648, 2147483648), }")])', BAD_ARRAY),
        ('frame(msg(id=2, ok=True, value=[{"ndarray": i} for i in range(5000)]), '
         '[npy("{\'descr\': \'<f4\', \'fortran_order\': False, \'shape\': (1,), }", b"\\0" * 4)] * 5000)',
         TOO_LARGE),
        ('struct.pack(">II", 4 + 40_000_000, 40_000_000) + b"[" + b"[]," * 13_333_332 + b"[]]"', TOO_LARGE),
        ('(lambda h: struct.pack(">II", 4 + len(h), len(h)) + h)(b"[" + b"0," * 1_500_000 + b"0]")', TOO_LARGE),
        ('struct.pack(">II", 4 + 4 + 12, 12) + b\'{"message":1\' + b"\\0" * 4', GARBLED),
        ('frame(msg(id=2, ok=False, error=msg(kind="not-a-kind-" + "7" * 30)))',
         "(an error of a kind the grader does not know)"),
        ('struct.pack(">I", 2**32 - 1)', TOO_LARGE),
    ],
    ids=["npy-shape-expression", "npy-shape-1e12", "npy-object", "npy-empty-1e32", "npy-empty-2^63", "npy-empty-2^31-f",
         "5000-arrays", "40-mb-header", "1.5-m-values", "bad-json", "unknown-error-kind", "4-gb-frame"],
)
def test_a_forged_reply_scores_zero_with_a_message_and_the_next_submission_is_graded(pool, frame_code, detail):
    started = time.monotonic()
    verdict = grade_code(EXERCISE, forging(frame_code, at_import=False), pool)
    elapsed = time.monotonic() - started
    assert verdict.status == "graded"
    assert verdict.score == 0
    assert verdict.message.startswith(CHANNEL_BROKEN), verdict.message
    assert detail in verdict.message
    # Nothing the frame held comes back: the message is the fixed text with one of the fixed details.
    assert verdict.message == code.CHANNEL_BROKEN.format(detail=detail[1:-1])
    assert elapsed < BUDGET_SECONDS + 2
    assert_next_submission_gets_full_marks(pool)


def test_the_reply_header_is_bounded_before_it_is_parsed():
    nested = b"[" + b"[]," * 1_000_000 + b"[]]"
    started = time.monotonic()
    with pytest.raises(wire.ProtocolError, match="larger than the grader accepts"):
        wire.decode(struct.pack(">I", len(nested)) + nested)
    assert time.monotonic() - started < 0.5


def test_an_array_is_not_allocated_before_its_bytes_are_counted():
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    message = json.dumps({"message": {"ndarray": 0}, "blobs": [len(blob)]}).encode()
    with pytest.raises(wire.ProtocolError, match="an array the grader could not read"):
        wire.decode(struct.pack(">I", len(message)) + message + blob)


# The course's softmax: eleven tests, 2 s per call, so a budget of 6 s (it used to cost 11 x 2 s).
COURSE_SOFTMAX = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises" / "01-softmax"
COURSE_BUDGET = 6.0


def test_an_infinite_loop_costs_the_submission_budget_not_one_limit_per_test(pool):
    started = time.monotonic()
    verdict = grade_code(COURSE_SOFTMAX, "def softmax(x, dim=-1):\n    while True:\n        pass\n", pool)
    elapsed = time.monotonic() - started
    assert verdict.score == 0
    assert elapsed < COURSE_BUDGET + 2
    assert "Time limit of 2 s exceeded" in verdict.message
    assert "Your code used up this submission's time (6 s for all the tests together)" in verdict.message
    not_run = [test for test in verdict.tests if test.visible and "Not run: your code used up" in test.message]
    assert not_run
    assert_next_submission_gets_full_marks(pool)


def test_a_submission_that_dies_late_in_every_test_stops_at_its_budget(pool):
    source = (COURSE_SOFTMAX / "solution.py").read_text() + (
        "\nimport os, time\n_real = softmax\ndef softmax(x, dim=-1):\n    time.sleep(1.8)\n    os._exit(3)\n"
    )
    started = time.monotonic()
    verdict = grade_code(COURSE_SOFTMAX, source, pool)
    elapsed = time.monotonic() - started
    assert verdict.score == 0
    assert elapsed < COURSE_BUDGET + 2
    assert "used up this submission's time" in verdict.message
    assert_next_submission_gets_full_marks(pool)


def test_a_submission_that_answers_every_request_itself_stays_within_its_budget(pool):
    # Takes over the sandbox's loop: reads each request and answers with 4,000 tiny arrays.
    source = forging("b''", at_import=True, then=textwrap.dedent('''
        import socket
        channel = socket.socket(fileno=3)
        blob = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", b"\\0" * 4)
        os.write(3, frame(msg(id=1, ok=True)))
        for request_id in range(2, 10**6):
            length = struct.unpack(">I", channel.recv(4, socket.MSG_WAITALL))[0]
            channel.recv(length, socket.MSG_WAITALL)
            os.write(3, frame(msg(id=request_id, ok=True, value=[{"ndarray": i} for i in range(4000)]),
                              [blob] * 4000))
    '''))
    started = time.monotonic()
    verdict = grade_code(EXERCISE, source, pool)
    assert time.monotonic() - started < BUDGET_SECONDS + 2
    assert verdict.score == 0
    assert_next_submission_gets_full_marks(pool)


# A hidden test's inputs, written by the submission into every part of a forged reply the grader
# reads: none of it may come out in the verdict (it once read "an error of unknown kind '-2.973,1.097,...'").
LEAKS = {
    "error-kind": 'frame(msg(id=request_id, ok=False, error=msg(kind=secret)))',
    "syntax-message": 'frame(msg(id=request_id, ok=False, error=msg(kind="syntax", message=secret, line=1, column=1)))',
    "exit-code": 'frame(msg(id=request_id, ok=False, error=msg(kind="exit", message=secret)))',
    "unsupported": 'frame(msg(id=request_id, ok=False, error=msg(kind="unsupported", message=secret)))',
    "exception": 'frame(msg(id=request_id, ok=False, error=msg(kind="exception", type=secret, message=secret)))',
    "forbidden": 'frame(msg(id=request_id, ok=False, error=msg(kind="forbidden", name=secret)))',
    "frame-length": 'struct.pack(">I", int(secret_digits[:9]) + 10**9)',
    "npy-shape": ('frame(msg(id=request_id, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', '
                  '\'fortran_order\': False, \'shape\': (0, " + secret_digits + "), }")])'),
    "wrong-id": 'frame(msg(id=int(secret_digits[:12]), ok=True, value=1))',
}


@pytest.mark.parametrize("forged", LEAKS.values(), ids=LEAKS.keys())
def test_nothing_a_hidden_test_sends_comes_back_in_the_verdict(pool, forged):
    # The course's softmax: five visible tests, then hidden ones. The submission answers the
    # visible ones right, and in the first hidden one writes its input into a forged reply.
    source = forging("b''", at_import=True, then=textwrap.dedent(f'''
        import torch
        calls = [0]

        def softmax(x, dim=-1):
            calls[0] += 1
            if calls[0] == HIDDEN_CALL:
                request_id = calls[0] + 1
                values = x.flatten().tolist()
                secret = ",".join(f"{{v:.3f}}" for v in values)
                secret_digits = "".join(ch for ch in secret if ch.isdigit())[:30].lstrip("0") or "7"
                os.write(3, {forged})
                os._exit(0)
            shifted = x - x.amax(dim=dim, keepdim=True)
            return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
    '''))
    visible_calls = count_visible_calls(pool)
    verdict = grade_code(COURSE_SOFTMAX, source.replace("HIDDEN_CALL", str(visible_calls + 1)), pool)
    # The forging ran in a hidden test: one failed (or the whole submission did).
    assert any(not test.passed for test in verdict.tests if not test.visible)
    hidden_input = first_hidden_input()
    shown = json.dumps(verdict.to_dict())
    for value in hidden_input:
        assert f"{value:.3f}" not in shown, shown
    assert_next_submission_gets_full_marks(pool)


def count_visible_calls(pool) -> int:
    """How many calls the course softmax's visible tests make (the correct answer's, through a counter)."""
    source = textwrap.dedent('''
        import torch
        calls = [0]

        def softmax(x, dim=-1):
            calls[0] += 1
            print("call", calls[0])
            shifted = x - x.amax(dim=dim, keepdim=True)
            return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
    ''')
    verdict = grade_code(COURSE_SOFTMAX, source, pool)
    assert verdict.score == verdict.max_score
    visible = [test for test in verdict.tests if test.visible]
    # Visible tests run first; the rule's test runs in its own sandbox (its own counter).
    counted = [test for test in visible if test.name != "built_from_exp_sum_and_max"]
    return max(int(line.split()[1]) for test in counted for line in test.stdout.splitlines() if line.startswith("call"))


def first_hidden_input() -> list[float]:
    """The input of the course softmax's first hidden test, made here as the grader makes it."""
    from graders.code import TestContext, exercise_files, load_exercise

    exercise = load_exercise(exercise_files(COURSE_SOFTMAX))
    spec = next(spec for spec in exercise.tests if spec.hidden)
    seen = []

    class Recording(TestContext):
        def call(self, function, *args, **kwargs):
            seen.append(args[0])
            raise StopIteration

    try:
        spec.function(Recording(spec, type("G", (), {"exercise": exercise, "source": ""})()))
    except StopIteration:
        pass
    return seen[0].flatten().tolist()
