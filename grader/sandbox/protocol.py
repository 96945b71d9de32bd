"""The plain-data protocol between the grader and the sandboxed student process.

Only plain data crosses: None, booleans, integers, floats (NaN and ±inf
included), strings, lists, dicts with string keys, and numpy arrays of
numeric dtype sent as dtype + shape + raw bytes. Never pickle: decoding a
message can build nothing but those types, whatever the sender put in it.

Objects that are not plain data stay where they were made: the child keeps
them and sends a *handle* instead, ``{"__handle__": {"id", "type"}}``; the
grader sends the same form back to name them in a later request (see
grader/sandbox/handles.py). Converting to and from plain data takes a hook
for them (``on_object``, ``on_handle``); without one, a handle is an error.

A message is one frame: a 4-byte big-endian length, then that many bytes of
UTF-8 JSON, holding a dict whose ``kind`` is one of :class:`Kind`. This
module needs only the standard library and numpy, because the sandbox's
child process loads it too (by path, before isolation).
"""

from __future__ import annotations

import base64
import enum
import json
import math
import os
import select
import struct
import time

import numpy as np


class Kind(enum.StrEnum):
    """Every message's ``kind``: the one vocabulary the grader and the child speak."""

    ISOLATED = "isolated"  # child → grader, first, before any student code runs: what isolation held
    LOAD = "load"  # grader → child: the submission's chunks
    READY = "ready"  # child → grader: the report of loading (errors, defined names)
    CALL = "call"  # grader → child: one operation (a function, a method, an operator, an attribute)
    RESULT = "result"  # child → grader: the operation's value (plain data, handles inside)
    MISSING = "missing"  # child → grader: no such function or attribute
    ERROR = "error"  # child → grader: the operation raised
    UNSENDABLE = "unsendable"  # child → grader: the value can be neither sent nor kept
    BAD_HANDLE = "bad_handle"  # child → grader: a request named a handle this fork does not hold
    HANDLE_LIMIT = "handle_limit"  # child → grader: keeping the reply's objects would pass the fork's limit
    RESET = "reset"  # grader → child: end this fork; the next request goes to a fresh one
    ENDED = "ended"  # child → grader: a fork ended, with its exit status


# Exit statuses a fork server gives, beside the ordinary ones.
EXIT_GRADER_GONE = 3  # the grader closed the channel: the sandbox ends
EXIT_RESET = 4  # a fork read a reset and ended: the end the grader waits for (a fork's own end is another)
EXIT_CPU_EXHAUSTED = 128 + 24  # out of CPU time (SIGXCPU is 24 on Linux), as a shell reports it

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


class FrameTooLong(ProtocolError):
    """A frame announcing more bytes than the reader accepts; it is refused unread."""

    def __init__(self, length: int, limit: int):
        super().__init__(f"a message of {length} bytes (the limit is {limit})")
        self.length = length


HANDLE = "__handle__"


def handle_reference(handle_id: str, type_name: str = "") -> dict:
    """How a handle is written in a message."""
    return {HANDLE: {"id": handle_id, "type": type_name}}


def to_plain(value, depth: int = 0, on_object=None):
    """Convert ``value`` to JSON-ready plain data, or raise :class:`NotPlainData`.

    ``on_object(value)``, if given, turns what is not plain data into a
    handle reference (the child keeps the object) instead of failing.
    """
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
        return {
            "__ndarray__": {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii"),
            }
        }
    if isinstance(value, (list, tuple)):
        return [to_plain(item, depth + 1, on_object) for item in value]
    if isinstance(value, dict):
        if on_object is not None and not all(isinstance(key, str) for key in value):
            return on_object(value)
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlainData(f"a dict with a key of type {type(key).__name__} (keys must be strings)")
            plain[str(key)] = to_plain(item, depth + 1, on_object)
        return plain
    if on_object is not None:
        return on_object(value)
    raise NotPlainData(f"an object of type {type(value).__name__}")


def short_text(value) -> str:
    """``value`` as a string of at most MAX_TEXT_CHARS (plain data: str() runs no student code)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " [...]"


def load_report(errors: list, defined: list) -> dict:
    """The report of loading, cut to its bounds: at most MAX_LOAD_ERRORS errors ({"label", "message"},
    the last saying how many more there were) and MAX_DEFINED_NAMES names; anything malformed is dropped."""
    errors = [
        {"label": short_text(e.get("label", "")), "message": short_text(e.get("message", ""))}
        for e in (errors if type(errors) is list else [])
        if type(e) is dict
    ]
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


def from_plain(value, depth: int = 0, on_handle=None):
    """Rebuild values from plain data: fresh numpy arrays, plain Python types, nothing else.

    A handle reference becomes ``on_handle(id, type)``; without the hook it is a ProtocolError.
    """
    if depth > MAX_DEPTH:
        raise ProtocolError(f"message nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        return _clean_text(value)
    if type(value) is list:
        return [from_plain(item, depth + 1, on_handle) for item in value]
    if type(value) is dict:
        if set(value) == {"__ndarray__"}:
            return _array_from_plain(value["__ndarray__"])
        if set(value) == {HANDLE}:
            return _handle_from_plain(value[HANDLE], on_handle)
        if set(value) == {"__complex__"}:
            parts = value["__complex__"]
            if type(parts) is not list or len(parts) != 2 or any(type(x) not in (int, float) for x in parts):
                raise ProtocolError("malformed complex number in a message")
            return complex(float(parts[0]), float(parts[1]))
        return {_clean_text(key): from_plain(item, depth + 1, on_handle) for key, item in value.items()}
    raise ProtocolError(f"unexpected {type(value).__name__} in a message")


def _handle_from_plain(spec, on_handle):
    if on_handle is None:
        raise ProtocolError("a handle where only plain data may be")
    if (
        type(spec) is not dict
        or set(spec) != {"id", "type"}
        or type(spec["id"]) is not str
        or type(spec["type"]) is not str
    ):
        raise ProtocolError("malformed handle in a message")
    return on_handle(spec["id"], _clean_text(spec["type"])[:MAX_NAME_CHARS])


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


def encode(message, on_object=None) -> bytes:
    """One frame holding ``message`` (see :func:`to_plain` for ``on_object``)."""
    try:
        body = json.dumps(to_plain(message, on_object=on_object), allow_nan=True, separators=(",", ":")).encode("utf-8")
    except ValueError as error:  # an int of more than 4300 digits
        raise NotPlainData(f"a number too large to send ({error})") from None
    except UnicodeEncodeError:  # a string with a lone surrogate: json.dumps escapes them, but be safe
        raise NotPlainData("a string that is not valid Unicode") from None
    if len(body) > MAX_FRAME_BYTES:
        raise NotPlainData(f"a result of {len(body) / 2**20:.0f} MiB (the limit is {MAX_FRAME_BYTES // 2**20} MiB)")
    if _count_items(body) > MAX_ITEMS:
        raise NotPlainData(f"a result with more than {MAX_ITEMS} list or dict items (send big data as a numpy array)")
    return struct.pack(">I", len(body)) + body


def decode(body: bytes, max_bytes: int = MAX_FRAME_BYTES, on_handle=None):
    """Plain data from one frame's body; anything else, however malformed, is a ProtocolError."""
    if len(body) > max_bytes:
        raise FrameTooLong(len(body), max_bytes)
    if _count_items(body) > MAX_ITEMS:
        raise ProtocolError(f"a message with more than {MAX_ITEMS} list or dict items")
    try:
        return from_plain(json.loads(body.decode("utf-8")), on_handle=on_handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"a message that is not JSON: {error}") from None
    except ValueError as error:  # an integer of more than 4300 digits
        raise ProtocolError(f"a message with a number too large to read: {str(error)[:80]}") from None
    except RecursionError:
        raise ProtocolError("a message nested too deeply to read") from None


def write_message(fd: int, message, on_object=None) -> None:
    write_frame(fd, encode(message, on_object))


def write_frame(fd: int, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, *, deadline: float | None = None, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """One frame's body from ``fd``, its length checked against ``max_bytes`` before it is read.

    Raises EOFError if the other side closed, TimeoutError once ``deadline``
    (a time.monotonic() value; None waits for ever) has passed, and
    :class:`FrameTooLong` for a frame announcing more than ``max_bytes``.
    """
    (length,) = struct.unpack(">I", _read_exactly(fd, 4, deadline))
    if length > max_bytes:
        raise FrameTooLong(length, max_bytes)
    return _read_exactly(fd, length, deadline)


def read_message(fd: int, *, deadline: float | None = None, max_bytes: int = MAX_FRAME_BYTES, on_handle=None):
    """One message from ``fd`` (see :func:`read_frame` and :func:`decode`)."""
    return decode(read_frame(fd, deadline=deadline, max_bytes=max_bytes), max_bytes, on_handle)


def _read_exactly(fd: int, count: int, deadline: float | None) -> bytes:
    chunks, remaining = [], count
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
