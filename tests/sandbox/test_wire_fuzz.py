"""wire.decode on hostile bytes: only ProtocolError comes out, quickly and in little memory.

Random bytes, and frames that are well formed up to the point where they lie: headers of
random JSON, tags holding anything, blob lengths that do or do not add up, `.npy` blobs with
random magic, versions, header text, dtypes and shapes (empty dimensions beside enormous ones,
negative or non-integer sizes) and data of any length.
"""

import json
import struct
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders.sandbox import wire

SECONDS_PER_DECODE = 1.0
BYTES_PER_DECODE = 64 * 1024 * 1024

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["tuple", "dict", "ndarray", "tensor", "model", "generator", "x"]), children,
                      max_size=2),
    max_leaves=30,
)
sizes = st.one_of(
    st.integers(0, 4),
    st.integers(0, 2**70),
    st.sampled_from([0, 1, 2**31, 2**31 + 1, 2**32, 2**62, 2**63 - 1, 10**32]),
    st.integers(-5, -1),
)
shapes = st.lists(sizes, max_size=40).map(tuple)
descrs = st.sampled_from(["<f8", "<f4", "|b1", "<i8", "|u1", ">f8", "<f2", "|O", "<c16", "<U5", "|V8", "V99999999999",
                          "<M8[s]", "float64", "[('a', '<f4')]", "", "<f8\x00"]) | st.text(max_size=12)


@st.composite
def npy_blobs(draw):
    shape = draw(shapes | st.text(max_size=10) | st.integers())
    descr = draw(descrs)
    fortran = draw(st.booleans() | st.none())
    header = draw(
        st.sampled_from([
            f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {shape!r}, }}",
            f"{{'descr': {descr!r}, 'shape': {shape!r}}}",
            "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "9" * 5000 + ",), }",
        ])
        | st.text(max_size=60)
    )
    text = header.encode("latin1", "replace")
    version = draw(st.sampled_from([1, 2, 3, 0, 255]))
    magic = draw(st.sampled_from([b"\x93NUMPY", b"\x93NUMPX", b""]))
    length_field = struct.pack("<H", min(len(text), 65535)) if version == 1 else struct.pack("<I", len(text))
    data = draw(st.binary(max_size=64) | st.integers(0, 4096).map(lambda n: b"\0" * n))
    return magic + bytes([version, 0]) + length_field + text + data


@st.composite
def frames(draw):
    blobs = draw(st.lists(npy_blobs() | st.binary(max_size=40), max_size=4))
    message = draw(json_values | st.just({"ndarray": 0}) | st.just({"tensor": [0, "float32"]}))
    lengths = [len(blob) for blob in blobs]
    if draw(st.booleans()):
        lengths = draw(st.lists(st.integers(-3, 2**40), max_size=5))
    header = json.dumps({"message": message, "blobs": lengths}).encode()
    if draw(st.booleans()):
        header = draw(st.binary(max_size=80)) or header
    announced = len(header) if draw(st.booleans()) else draw(st.integers(0, 2**32 - 1))
    return struct.pack(">I", announced) + header + b"".join(blobs)


def assert_decodes_or_refuses(body: bytes) -> None:
    tracemalloc.start()
    started = time.monotonic()
    refusal = ""
    try:
        wire.decode(body)
    except wire.ProtocolError as error:
        refusal = str(error)
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert refusal in {"", *wire.PROTOCOL_MESSAGES}
    assert elapsed < SECONDS_PER_DECODE
    assert peak < BYTES_PER_DECODE


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_are_decoded_or_refused_with_a_protocol_error(body):
    assert_decodes_or_refuses(body)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(frames())
def test_hostile_frames_are_decoded_or_refused_with_a_protocol_error(body):
    assert_decodes_or_refuses(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(npy_blobs(), st.sampled_from(["ndarray", "tensor"]), st.sampled_from([*wire.TENSOR_DTYPES, "complex"]))
def test_hostile_arrays_are_decoded_or_refused_with_a_protocol_error(blob, tag, dtype):
    message = {"ndarray": 0} if tag == "ndarray" else {"tensor": [0, dtype]}
    header = json.dumps({"message": message, "blobs": [len(blob)]}).encode()
    assert_decodes_or_refuses(struct.pack(">I", len(header)) + header + blob)


def test_empty_dimensions_beside_enormous_ones_are_refused():
    for shape in [(0, 10**32), (0, 2**63 - 1, 2**63 - 1), (0, 2**31 + 1), (2**31, 0, 2**31)]:
        text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
        blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
        header = json.dumps({"message": {"ndarray": 0}, "blobs": [len(blob)]}).encode()
        with pytest.raises(wire.ProtocolError, match=wire.BAD_ARRAY):
            wire.decode(struct.pack(">I", len(header)) + header + blob)
