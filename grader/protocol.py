"""The plain-data protocol between the grader and the sandboxed student process.

Only plain data crosses: None, booleans, integers, floats (NaN and ±inf
included), strings, lists, dicts with string keys, and numpy arrays of
numeric dtype sent as dtype + shape + raw bytes. Never pickle: decoding a
message can build nothing but those types, whatever the sender put in it.

A message is one frame: a 4-byte big-endian length, then that many bytes of
UTF-8 JSON. This module needs only the standard library and numpy, because
the sandbox's child process loads it too (by path, before isolation).
"""

from __future__ import annotations

import base64
import json
import math
import os
import struct

import numpy as np

MAX_FRAME_BYTES = 64 * 1024 * 1024
# The child's report of what loaded (errors and defined names, both capped by
# the child) never needs more; anything bigger is refused before decoding.
MAX_REPORT_BYTES = 1024 * 1024
MAX_DEPTH = 32
# Lists, dicts and their items in one message, counted on the raw bytes before
# decoding. Every Python object costs the grader about 0.7 µs and 100 bytes to
# build, so a 64 MiB frame of ``[[],[],...]`` (22 million items) would cost it
# seconds and gigabytes; no result a test expects comes near this bound, and
# numbers sent as numpy arrays do not count (base64 holds none of "[{,").
MAX_ITEMS = 100_000

# What a report of loading holds at most: the child cuts it, the grader cuts again
# (student code can write the report itself).
MAX_TEXT_CHARS = 2000
MAX_LOAD_ERRORS = 50
MAX_DEFINED_NAMES, MAX_NAME_CHARS = 2000, 200

# Array dtypes that may cross; object and structured arrays never do.
ARRAY_KINDS = "biufc"


class ProtocolError(Exception):
    """A message that is not plain data, too large, or cut short."""


class NotPlainData(ProtocolError):
    """A value the child cannot send: says what type it was."""


def to_plain(value, depth: int = 0):
    """Convert ``value`` to JSON-ready plain data, or raise :class:`NotPlainData`."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.ndarray):
        # asarray: a plain ndarray view, even of a subclass (ascontiguousarray would make 0-d arrays 1-d);
        # tobytes() below writes C order whatever the view's strides.
        array = np.asarray(value)
        if array.ndim > 32:
            raise NotPlainData(f"a numpy array of {array.ndim} dimensions (at most 32 can be graded)")
        if array.dtype.kind not in ARRAY_KINDS:
            raise NotPlainData(f"a numpy array of dtype {array.dtype} (only numeric arrays can be graded)")
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        return {"__ndarray__": {"dtype": array.dtype.str, "shape": list(array.shape),
                                "data": base64.b64encode(array.tobytes()).decode("ascii")}}  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [to_plain(item, depth + 1) for item in value]
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlainData(f"a dict with a key of type {type(key).__name__} (keys must be strings)")
            plain[str(key)] = to_plain(item, depth + 1)
        return plain
    raise NotPlainData(f"an object of type {type(value).__name__}")


def short_text(value) -> str:
    """``value`` as a string of at most MAX_TEXT_CHARS (plain data: str() runs no student code)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " [...]"


def load_report(errors: list, defined: list) -> dict:
    """The report of loading, cut to its bounds: at most MAX_LOAD_ERRORS errors ({"label", "message"},
    the last saying how many more there were) and MAX_DEFINED_NAMES names; anything malformed is dropped."""
    errors = [{"label": short_text(e.get("label", "")), "message": short_text(e.get("message", ""))}
              for e in (errors if type(errors) is list else []) if type(e) is dict]  # fmt: skip
    if len(errors) > MAX_LOAD_ERRORS:
        more = len(errors) - MAX_LOAD_ERRORS + 1
        errors = errors[: MAX_LOAD_ERRORS - 1] + [{"label": "…", "message": f"… and {more} more errors"}]
    names = [n for n in (defined if type(defined) is list else []) if type(n) is str and len(n) <= MAX_NAME_CHARS]
    return {"errors": errors, "defined": names[:MAX_DEFINED_NAMES]}


def _clean_text(text: str) -> str:
    """``text`` without lone surrogates ("\\ud800" is valid JSON but cannot be written out as UTF-8 later)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def from_plain(value, depth: int = 0):
    """Rebuild values from plain data: fresh numpy arrays, plain Python types, nothing else."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"message nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        return _clean_text(value)
    if type(value) is list:
        return [from_plain(item, depth + 1) for item in value]
    if type(value) is dict:
        if set(value) == {"__ndarray__"}:
            return _array_from_plain(value["__ndarray__"])
        if set(value) == {"__complex__"}:
            parts = value["__complex__"]
            if type(parts) is not list or len(parts) != 2 or any(type(x) not in (int, float) for x in parts):
                raise ProtocolError("malformed complex number in a message")
            return complex(float(parts[0]), float(parts[1]))
        return {_clean_text(key): from_plain(item, depth + 1) for key, item in value.items()}
    raise ProtocolError(f"unexpected {type(value).__name__} in a message")


def _array_from_plain(spec) -> np.ndarray:
    try:
        if type(spec) is not dict or set(spec) != {"dtype", "shape", "data"}:
            raise TypeError("expected exactly dtype, shape and data")
        if type(spec["dtype"]) is not str or type(spec["shape"]) is not list or type(spec["data"]) is not str:
            raise TypeError("dtype and data must be strings, shape a list")
        dtype = np.dtype(spec["dtype"])
        if any(type(n) is not int for n in spec["shape"]):
            raise TypeError("the shape must hold integers")
        shape = tuple(spec["shape"])
        raw = base64.b64decode(spec["data"], validate=True)
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"malformed array in a message: {error}") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"array of dtype {dtype} in a message")
    if len(shape) > 32 or any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != len(raw):
        raise ProtocolError(f"array of shape {shape} and dtype {dtype} does not match its {len(raw)} bytes")
    try:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)
    except ValueError as error:  # e.g. an empty array of shape (0, 10**30): too big for numpy to describe
        raise ProtocolError(f"array of shape {shape} in a message: {error}") from None


def _count_items(body: bytes) -> int:
    return body.count(b",") + body.count(b"[") + body.count(b"{")


def encode(message) -> bytes:
    try:
        body = json.dumps(to_plain(message), allow_nan=True, separators=(",", ":")).encode("utf-8")
    except ValueError as error:  # an int of more than 4300 digits
        raise NotPlainData(f"a number too large to send ({error})") from None
    except UnicodeEncodeError:  # a string with a lone surrogate: json.dumps escapes them, but be safe
        raise NotPlainData("a string that is not valid Unicode") from None
    if len(body) > MAX_FRAME_BYTES:
        raise NotPlainData(f"a result of {len(body) / 2**20:.0f} MiB (the limit is {MAX_FRAME_BYTES // 2**20} MiB)")
    if _count_items(body) > MAX_ITEMS:
        raise NotPlainData(f"a result with more than {MAX_ITEMS} list or dict items (send big data as a numpy array)")
    return struct.pack(">I", len(body)) + body


def decode(body: bytes, max_bytes: int = MAX_FRAME_BYTES):
    """Plain data from one frame's body; anything else, however malformed, is a ProtocolError."""
    if len(body) > max_bytes:
        raise ProtocolError(f"a message of {len(body)} bytes (the limit is {max_bytes})")
    if _count_items(body) > MAX_ITEMS:
        raise ProtocolError(f"a message with more than {MAX_ITEMS} list or dict items")
    try:
        return from_plain(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"a message that is not JSON: {error}") from None
    except ValueError as error:  # an integer of more than 4300 digits
        raise ProtocolError(f"a message with a number too large to read: {str(error)[:80]}") from None
    except RecursionError:
        raise ProtocolError("a message nested too deeply to read") from None


def write_message(fd: int, message) -> None:
    frame = encode(message)
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, count: int) -> bytes:
    """``count`` bytes from ``fd``; raises EOFError if the other side closed first."""
    chunks, remaining = [], count
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int):
    (length,) = struct.unpack(">I", read_exactly(fd, 4))
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"a message of {length} bytes (the limit is {MAX_FRAME_BYTES})")
    return decode(read_exactly(fd, length))
