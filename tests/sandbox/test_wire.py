"""The protocol: plain data only, strict decoding, and a grader that survives a hostile channel."""

import io
import json
import pickle
import struct

import numpy as np
import pytest
import torch

from graders.sandbox import wire
from tests.sandbox.conftest import run


def body(frame):
    return frame[4:]


def raw_frame(message, blobs=()):
    header = json.dumps({"message": message, "blobs": [len(blob) for blob in blobs]}).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def test_plain_data_round_trips():
    value = {
        "s": torch.tensor(2.5),
        "t": torch.arange(6.0).reshape(2, 3).to(torch.bfloat16),
        "a": np.ones(3),
        "n": (1, 2.5, None, "s"),
    }
    decoded = wire.decode(body(wire.encode(value)))
    assert torch.equal(decoded["t"], value["t"])
    assert decoded["t"].dtype == torch.bfloat16
    assert np.array_equal(decoded["a"], value["a"])
    assert decoded["n"] == (1, 2.5, None, "s")
    assert decoded["s"].shape == ()
    assert decoded["s"].item() == 2.5


@pytest.mark.parametrize(
    "value",
    [
        type("Sneaky", (int,), {"__eq__": lambda self, other: True})(3),
        type("Sneaky", (torch.Tensor,), {})(),
        type("Sneaky", (dict,), {})(),
        type("Sneaky", (), {"__array__": lambda self: np.ones(3)})(),
        np.array([object()], dtype=object),
        torch.ones(2, dtype=torch.complex64),
    ],
    ids=["int-subclass", "tensor-subclass", "dict-subclass", "array-protocol", "object-array", "complex"],
)
def test_encoding_refuses_anything_but_exact_plain_types(value):
    with pytest.raises(wire.UnsupportedValue):
        wire.encode(value)


ARRAYS = [
    *(np.arange(6).reshape(2, 3).astype(dtype) for dtype in sorted(wire.ARRAY_DTYPES, key=str)),
    np.float64(2.5) * np.ones(()),
    np.ones(5, dtype=np.float32),
    np.zeros((0, 3), dtype=np.uint8),
    np.ones((2, 3, 4, 1), dtype=bool),
    np.ones([1] * 32, dtype=np.int8),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda array: f"{array.dtype}-{array.shape}")
def test_an_array_is_written_as_numpy_writes_it(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    assert wire._npy_bytes(array) == buffer.getvalue()
    decoded = wire.decode(raw_frame({"ndarray": 0}, [wire._npy_bytes(array)]))
    assert decoded.dtype == array.dtype
    assert decoded.shape == array.shape
    assert np.array_equal(decoded, array)


@pytest.mark.parametrize(
    "array",
    [
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.frombuffer(b"\x01\x02\x03\x04", dtype=np.uint8),
        np.arange(12.0).reshape(3, 4)[:, 1::2],
    ],
    ids=["fortran-order", "read-only", "strided"],
)
def test_arrays_in_any_layout_arrive_with_their_values(array):
    decoded = wire.decode(body(wire.encode({"a": array})))["a"]
    assert np.array_equal(decoded, array)
    assert decoded.dtype == array.dtype.newbyteorder("=")
    # numpy's own blob of it (Fortran order kept as such) is read the same way.
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    assert np.array_equal(wire.decode(raw_frame({"ndarray": 0}, [buffer.getvalue()])), array)


@pytest.mark.parametrize(
    "header",
    [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2*3,), }",
        "{'shape': (6,), 'fortran_order': False, 'descr': '<f8', }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1, }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (-6,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (\u0666,), }",
        "{'descr': '<f8', 'fortran_order': 0, 'shape': (6,), }",
        "{'descr': 'O', 'fortran_order': False, 'shape': (6,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 32 + "6), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }\n\n",
    ],
    ids=["expression", "keys-reordered", "extra-key", "negative", "arabic-digit", "order-not-bool", "object",
         "33-dimensions", "two-newlines"],
)
def test_an_array_header_is_matched_whole_or_refused(header):
    text = header.encode("latin1", "replace") if header.isascii() else header.encode("utf-8")
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\0" * 48
    with pytest.raises(wire.ProtocolError, match=wire.BAD_ARRAY):
        wire.decode(raw_frame({"ndarray": 0}, [blob]))


def test_decoding_refuses_a_pickled_array():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.ProtocolError):
        wire.decode(raw_frame({"ndarray": 0}, [buffer.getvalue()]))


def test_decoding_refuses_a_raw_pickle():
    with pytest.raises(wire.ProtocolError):
        wire.decode(raw_frame({"ndarray": 0}, [pickle.dumps(np.ones(2))]))


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x05{not json",
        struct.pack(">I", 2) + b"{}",
        raw_frame({"eval": "__import__('os')"}),
        raw_frame({"tensor": [0, "float32"]}),
        raw_frame({"model": ["x", {"dict": []}]}),
        raw_frame({"a": 1, "b": 2}),
        raw_frame("x" * 10, [b"extra"])[:-2],
        raw_frame([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
    ],
    ids=[
        "garbled",
        "no-header",
        "unknown-tag",
        "missing-blob",
        "model-in-reply",
        "two-keys",
        "short",
        "too-deep",
    ],
)
def test_decoding_refuses_malformed_frames(frame):
    with pytest.raises(wire.ProtocolError):
        wire.decode(frame)


def test_a_generator_in_a_request_arrives_in_the_same_state():
    generator = torch.Generator().manual_seed(7)
    torch.rand(3, generator=generator)
    decoded = wire.decode(body(wire.encode({"generator": generator}, request=True)), request=True)
    assert type(decoded["generator"]) is torch.Generator
    assert torch.equal(torch.rand(5, generator=decoded["generator"]), torch.rand(5, generator=generator))


def test_a_generator_travels_only_in_requests():
    with pytest.raises(wire.UnsupportedValue):
        wire.encode({"value": torch.Generator()})
    frame = body(wire.encode(torch.Generator(), request=True))
    with pytest.raises(wire.ProtocolError):
        wire.decode(frame)


def test_a_generator_state_torch_refuses_is_a_protocol_error():
    state = np.zeros(10, dtype=np.uint8)
    frame = raw_frame({"generator": 0}, [wire._npy_bytes(state)])
    with pytest.raises(wire.ProtocolError, match="could not read"):
        wire.decode(frame, request=True)


def test_a_student_function_draws_from_the_generator_it_is_given(pool):
    source = "import torch\ndef main(generator):\n    return torch.rand(4, generator=generator)\n"
    generator = torch.Generator().manual_seed(11)
    _loaded, outcome = run(pool, source, args=[generator])
    assert torch.equal(outcome.value, torch.rand(4, generator=torch.Generator().manual_seed(11)))


def test_a_generator_returned_by_student_code_is_unsupported(pool):
    source = "import torch\ndef main():\n    return torch.Generator()\n"
    _loaded, outcome = run(pool, source)
    assert outcome.failure.kind == "unsupported"
    assert "Generator" in outcome.failure.message


def test_an_oversized_frame_is_refused_from_its_length_alone():
    with pytest.raises(wire.ProtocolError, match="larger than the grader accepts"):
        wire.frame_length(struct.pack(">I", 1 << 31), 64 << 20)


def test_garbage_written_to_the_channel_fails_the_call_not_the_grader(pool):
    source = (
        "import os\ndef main():\n    os.write(3, b'\\x00\\x00\\x00\\x10garbage-garbage!')\n    return 1\n"
    )
    _loaded, outcome = run(pool, source)
    assert outcome.failure.kind == "protocol"


def test_a_huge_announced_reply_is_refused(pool):
    source = "import os\ndef main():\n    os.write(3, b'\\xff\\xff\\xff\\xff')\n    return 1\n"
    assert run(pool, source)[1].failure.kind == "protocol"


def test_a_forged_reply_with_a_wrong_id_is_refused(pool):
    forged = wire.encode({"id": 99, "ok": True, "value": "forged"})
    source = f"import os\ndef main():\n    os.write(3, {forged!r})\n    return 1\n"
    assert run(pool, source)[1].failure.kind == "protocol"


def test_printed_output_never_reaches_the_channel(pool):
    fake = wire.encode({"id": 2, "ok": True, "value": "fake"})
    source = (
        f"import os, sys\ndef main():\n    os.write(1, {fake!r})\n    print({fake!r})\n    return 'real'\n"
    )
    outcome = run(pool, source)[1]
    assert outcome.value == "real"
    assert "fake" in outcome.stdout


def test_requests_and_replies_of_every_size_cross_whole(pool):
    """Sizes around the grader's reads (64 KB to 1 MB at a time) and a request larger than the
    socket's buffer, which the grader must wait to send the rest of."""
    source = "def main(x):\n    return x * 2\n"
    with pool.acquire() as sandbox:
        assert sandbox.load(source).failure is None
        for elements in (1, 16 * 1024 - 30, 16 * 1024 + 30, 300_000, 1_500_000):
            x = torch.arange(elements, dtype=torch.float32)
            outcome = sandbox.call("main", [x])
            assert outcome.failure is None, outcome.failure
            assert torch.equal(outcome.value, x * 2)
