"""The sandbox protocol: length-prefixed frames of JSON plus `.npy` blobs, never pickle.

A frame is `u32 length | u32 header length | header JSON | blobs`. The header is
`{"message": ..., "blobs": [length, ...]}`. Plain JSON carries None, bool, int, float, str
and lists; a JSON object always has exactly one key naming what it holds:
`{"tuple": [...]}`, `{"dict": [[key, value], ...]}`, `{"ndarray": blob}`,
`{"tensor": [blob, dtype]}`; requests from the grader may also carry `{"model": [name, kwargs]}`
(built in the sandbox from the model registry) and `{"generator": blob}` (a CPU torch.Generator,
sent as its state, so student code can draw the same random numbers as the reference).

Both sides use this module. Encoding accepts only exact built-in types (no subclasses), so an
object from student code cannot choose how it is serialised; decoding builds fresh objects of
numeric dtypes and never calls anything that came over the wire.
"""

from __future__ import annotations

import json
import math
import re
import struct

import numpy as np
import torch

MAX_DEPTH = 32
MAX_VALUES = 200_000
MAX_STRING = 1_000_000
# Bounds on what the trusted side reads from a sandbox, checked before anything is parsed or
# allocated: the JSON header's size, and the number of arrays in one reply (decoding an array
# costs tens of microseconds however small it is, so a count is a bound on time).
MAX_REPLY_HEADER_BYTES = 4 * 1024 * 1024
MAX_REPLY_BLOBS = 4096
MAX_NPY_HEADER_BYTES = 10_000
# An array's dimensions, and their product with empty dimensions counted as 1, bounded before
# numpy builds it (frame size bounds the data; these bound what a shape with a 0 in it claims).
MAX_DIMENSION = 2**31
MAX_ELEMENTS = 2**40
HEADER = struct.Struct(">II")
# A `.npy` blob: magic, version 1.0, a little-endian u16 header length, the header, the data.
NPY_PREFIX = b"\x93NUMPY\x01\x00"
NPY_ALIGNMENT = 64
# The one header `_npy_bytes` writes (numpy's own layout): a dtype code such as '<f4' or '|b1',
# C or Fortran order, and a shape of at most MAX_DEPTH sizes, padded with spaces to a newline.
# Matched whole, never evaluated (ast.literal_eval was: a tensor reply decoded in 14-15 us, was 34-35).
NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=][a-z][0-9]{1,2})', 'fortran_order': (False|True), "
    rf"'shape': \((|[0-9]{{1,20}},|[0-9]{{1,20}}(?:, [0-9]{{1,20}}){{1,{MAX_DEPTH - 1}}})\), \}} *\n?"
)
# How a sandbox ended (wait status, CPU seconds), sent by its zygote (or keeper) on the status pipe.
EXIT_STATUS = struct.Struct(">id")

ARRAY_DTYPES = frozenset(
    np.dtype(name)
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64")
)
TENSOR_DTYPES = {
    "bool": torch.bool,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
TENSOR_DTYPE_NAMES = {dtype: name for name, dtype in TENSOR_DTYPES.items()}
NUMPY_SCALARS = frozenset(np.dtype(dtype).type for dtype in ARRAY_DTYPES)


class ProtocolError(Exception):
    """A frame that does not follow the protocol: garbled, oversized, or holding forbidden data.

    Its text is always one of PROTOCOL_MESSAGES, never anything taken from the frame: the text
    reaches the student's verdict, and a number or a word from the frame would be a way for a
    hidden test's inputs to come out.
    """


# What a ProtocolError says. Fixed words only: see ProtocolError.
TOO_LARGE = "a reply larger than the grader accepts"
GARBLED = "a reply the grader could not read"
BAD_ARRAY = "an array the grader could not read"
PROTOCOL_MESSAGES = frozenset({TOO_LARGE, GARBLED, BAD_ARRAY})


class UnsupportedValue(Exception):
    """A value that cannot cross the boundary; the message describes it for the student."""


class ModelRef:
    """A model built inside the sandbox from the model registry, by name and keyword arguments."""

    def __init__(self, name: str, **kwargs: object) -> None:
        self.name = name
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"model {self.name!r}"


def describe_type(value: object) -> str:
    """A short description of a value's type for a message, without calling into the value."""
    kind = type(value)
    if kind is torch.Tensor or isinstance(value, torch.Tensor):
        return "a tensor subclass" if kind is not torch.Tensor else "a tensor"
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", "object")
    if not isinstance(module, str) or not isinstance(name, str):
        return "an object"
    if module == "builtins":
        return f"a {name}"
    return f"a {module}.{name}" if module not in ("__main__", "submission") else f"a {name} object"


def encode(message: object, *, request: bool = False) -> bytes:
    """One frame holding `message`; raises UnsupportedValue for anything but plain data.

    Only a `request` (from the grader) may hold random generators.
    """
    blobs: list[bytes] = []
    counter = [0]
    header = json.dumps(
        {"message": _encode_value(message, blobs, counter, 0, request), "blobs": [len(b) for b in blobs]}
    )
    header_bytes = header.encode()
    body = b"".join(blobs)
    return HEADER.pack(4 + len(header_bytes) + len(body), len(header_bytes)) + header_bytes + body


def _encode_value(value: object, blobs: list[bytes], counter: list[int], depth: int, request: bool) -> object:
    counter[0] += 1
    if counter[0] > MAX_VALUES:
        raise UnsupportedValue(f"a value with more than {MAX_VALUES} items")
    if depth > MAX_DEPTH:
        raise UnsupportedValue(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        if len(value) > MAX_STRING:
            raise UnsupportedValue(f"a string longer than {MAX_STRING} characters")
        return value
    if kind in NUMPY_SCALARS:
        return value.item()
    if kind is list:
        return [_encode_value(item, blobs, counter, depth + 1, request) for item in value]
    if kind is tuple:
        return {"tuple": [_encode_value(item, blobs, counter, depth + 1, request) for item in value]}
    if kind is dict:
        pairs = []
        for key, item in value.items():
            if type(key) not in (str, int):
                raise UnsupportedValue(f"a dict with {describe_type(key)} as a key")
            pairs.append([key, _encode_value(item, blobs, counter, depth + 1, request)])
        return {"dict": pairs}
    if kind is np.ndarray:
        if value.dtype not in ARRAY_DTYPES:
            raise UnsupportedValue(f"an array of dtype {value.dtype}")
        blobs.append(_npy_bytes(value))
        return {"ndarray": len(blobs) - 1}
    if kind in (torch.Tensor, torch.nn.Parameter):
        return {"tensor": [len(blobs), _tensor_blob(value, blobs)]}
    if kind is ModelRef:
        return {"model": [value.name, _encode_value(value.kwargs, blobs, counter, depth + 1, request)]}
    if kind is torch.Generator and request and value.device.type == "cpu":
        blobs.append(_npy_bytes(value.get_state().numpy()))
        return {"generator": len(blobs) - 1}
    raise UnsupportedValue(describe_type(value))


def _tensor_blob(tensor: torch.Tensor, blobs: list[bytes]) -> str:
    if tensor.layout != torch.strided or tensor.device.type != "cpu":
        raise UnsupportedValue("a tensor that is not a dense CPU tensor")
    name = TENSOR_DTYPE_NAMES.get(tensor.dtype)
    if name is None:
        raise UnsupportedValue(f"a tensor of dtype {tensor.dtype}")
    plain = torch.Tensor.detach(tensor).resolve_conj().resolve_neg()
    if name == "bfloat16":
        # numpy has no bfloat16: float32 holds every bfloat16 value exactly.
        plain = plain.to(torch.float32)
    blobs.append(_npy_bytes(plain.contiguous().numpy()))
    return name


def _npy_bytes(array: np.ndarray) -> bytes:
    """`array` as a version 1.0 `.npy` blob in C order: for a C-ordered array, the bytes numpy's
    `write_array` writes, without its BytesIO and its header built in several steps (a tensor
    reply encoded in 10.5 us instead of 16-19.5)."""
    header = f"{{'descr': {array.dtype.str!r}, 'fortran_order': False, 'shape': {tuple(array.shape)!r}, }}"
    padding = -(len(NPY_PREFIX) + 2 + len(header) + 1) % NPY_ALIGNMENT
    text = (header + " " * padding + "\n").encode("latin1")
    return NPY_PREFIX + struct.pack("<H", len(text)) + text + array.tobytes()


def frame_length(prefix: bytes, max_bytes: int) -> int:
    """The length of the frame body announced by its first four bytes, checked against a cap."""
    (length,) = struct.unpack(">I", prefix)
    if length < 4 or length > max_bytes:
        raise ProtocolError(TOO_LARGE if length > max_bytes else GARBLED)
    return length


def decode(body: bytes, *, request: bool = False) -> object:
    """The message in one frame body (without its length prefix); raises ProtocolError, and nothing else.

    Only a `request` (read in the sandbox) may hold models and random generators. A reply (read
    by the grader, `request=False`) is bounded before it is parsed: header size, the number of
    JSON values it can hold, the number of arrays, and each array's shape and size against its
    bytes. Whatever goes wrong in building the values (numpy or torch refusing a shape, memory)
    is a ProtocolError too: a reply can never raise anything else in the trusted process.
    """
    try:
        return _decode(body, request)
    except ProtocolError:
        raise
    except (Exception, MemoryError, RecursionError):
        raise ProtocolError(GARBLED) from None


def _decode(body: bytes, request: bool) -> object:
    if len(body) < 4:
        raise ProtocolError(GARBLED)
    (header_length,) = struct.unpack(">I", body[:4])
    if header_length > len(body) - 4:
        raise ProtocolError(GARBLED)
    raw_header = body[4 : 4 + header_length]
    if not request:
        _check_reply_header_size(raw_header)
    try:
        header = json.loads(raw_header.decode())
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        raise ProtocolError(GARBLED) from None
    if type(header) is not dict or set(header) != {"message", "blobs"}:
        raise ProtocolError(GARBLED)
    lengths = header["blobs"]
    if type(lengths) is not list or any(type(n) is not int or n < 0 for n in lengths):
        raise ProtocolError(GARBLED)
    if not request and len(lengths) > MAX_REPLY_BLOBS:
        raise ProtocolError(TOO_LARGE)
    if sum(lengths) != len(body) - 4 - header_length:
        raise ProtocolError(GARBLED)
    blobs, offset = [], 4 + header_length
    for length in lengths:
        blobs.append(body[offset : offset + length])
        offset += length
    return _decode_value(header["message"], blobs, [0], 0, request)


def _check_reply_header_size(raw_header: bytes) -> None:
    """Refuse a header whose parsing alone would cost too much, before parsing it.

    Every JSON value but the first follows a comma or opens a container, so counting those
    bytes (fast, in C) bounds the number of objects json.loads would build.
    """
    if len(raw_header) > MAX_REPLY_HEADER_BYTES:
        raise ProtocolError(TOO_LARGE)
    values = raw_header.count(b",") + raw_header.count(b"[") + raw_header.count(b"{")
    if values > 2 * MAX_VALUES:
        raise ProtocolError(TOO_LARGE)


def _decode_value(
    value: object, blobs: list[bytes], counter: list[int], depth: int, request: bool
) -> object:
    counter[0] += 1
    if counter[0] > MAX_VALUES or depth > MAX_DEPTH:
        raise ProtocolError(TOO_LARGE)
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        if len(value) > MAX_STRING:
            raise ProtocolError(TOO_LARGE)
        return value
    if kind is list:
        return [_decode_value(item, blobs, counter, depth + 1, request) for item in value]
    if kind is not dict or len(value) != 1:
        raise ProtocolError(GARBLED)
    ((tag, content),) = value.items()
    if tag == "tuple" and type(content) is list:
        return tuple(_decode_value(item, blobs, counter, depth + 1, request) for item in content)
    if tag == "dict" and type(content) is list:
        result = {}
        for pair in content:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                raise ProtocolError(GARBLED)
            result[pair[0]] = _decode_value(pair[1], blobs, counter, depth + 1, request)
        return result
    if tag == "ndarray" and type(content) is int:
        return _read_array(blobs, content)
    if tag == "tensor" and type(content) is list and len(content) == 2 and type(content[0]) is int:
        dtype = TENSOR_DTYPES.get(content[1]) if type(content[1]) is str else None
        if dtype is None:
            raise ProtocolError(BAD_ARRAY)
        array = _read_array(blobs, content[0])
        return torch.from_numpy(array).to(dtype)
    if (
        tag == "model"
        and request
        and type(content) is list
        and len(content) == 2
        and type(content[0]) is str
    ):
        kwargs = _decode_value(content[1], blobs, counter, depth + 1, request)
        if type(kwargs) is not dict or any(type(key) is not str for key in kwargs):
            raise ProtocolError(GARBLED)
        return ModelRef(content[0], **kwargs)
    if tag == "generator" and request and type(content) is int:
        state = _read_array(blobs, content)
        generator = torch.Generator()
        try:
            generator.set_state(torch.from_numpy(state))
        except (RuntimeError, TypeError):
            raise ProtocolError(GARBLED) from None
        return generator
    raise ProtocolError(GARBLED)


def _read_array(blobs: list[bytes], index: int) -> np.ndarray:
    """An array from a `.npy` blob, its shape and size checked before anything is allocated."""
    if not 0 <= index < len(blobs):
        raise ProtocolError(GARBLED)
    blob = blobs[index]
    shape, fortran_order, dtype, offset = _npy_header(blob)
    if dtype.newbyteorder("=") not in ARRAY_DTYPES:
        raise ProtocolError(BAD_ARRAY)
    # Each dimension, and their product with the empty ones left out, bounded before numpy sees
    # them: shape (0, 10**32) holds no data, yet numpy's reshape refuses it with a ValueError.
    if any(size > MAX_DIMENSION for size in shape) or math.prod(max(size, 1) for size in shape) > MAX_ELEMENTS:
        raise ProtocolError(BAD_ARRAY)
    count = math.prod(shape)
    if count * dtype.itemsize != len(blob) - offset:
        raise ProtocolError(BAD_ARRAY)
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    array = flat.reshape(shape, order="F" if fortran_order else "C")
    # A fresh, writable, native-order, C-ordered copy (torch needs native order); not
    # ascontiguousarray, which turns a 0-d array into a 1-d one.
    return np.array(array, dtype=dtype.newbyteorder("="), order="C", copy=True)


def _npy_header(blob: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) of a `.npy` blob, parsed without reading its data."""
    magic = b"\x93NUMPY"
    if len(blob) < 10 or blob[:6] != magic or blob[6] not in (1, 2, 3) or blob[7] != 0:
        raise ProtocolError(BAD_ARRAY)
    if blob[6] == 1:
        (length,) = struct.unpack("<H", blob[8:10])
        start = 10
    else:
        if len(blob) < 12:
            raise ProtocolError(BAD_ARRAY)
        (length,) = struct.unpack("<I", blob[8:12])
        start = 12
    if length > MAX_NPY_HEADER_BYTES or start + length > len(blob):
        raise ProtocolError(BAD_ARRAY)
    match = NPY_HEADER.fullmatch(blob[start : start + length].decode("latin1"))
    if match is None:
        raise ProtocolError(BAD_ARRAY)
    descr, order, sizes = match.groups()
    shape = tuple(int(size) for size in sizes.split(",") if size)
    fortran_order = order == "True"
    try:
        dtype = np.dtype(descr)
    except Exception:  # numpy's refusals vary (TypeError, ValueError, OverflowError...)
        raise ProtocolError(BAD_ARRAY) from None
    return shape, fortran_order, dtype, start + length
