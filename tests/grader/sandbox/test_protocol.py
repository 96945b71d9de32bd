"""The plain-data protocol: what may cross between grader and sandbox, and what never can."""

import base64
import json
import math
import os
import struct

import numpy as np
import pytest

from grader.sandbox import protocol
from grader.sandbox.protocol import NotPlainData, ProtocolError


def round_trip(value):
    frame = protocol.encode(value)
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    return protocol.decode(frame[4:])


def body(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**62,
        1.5,
        -0.0,
        1e308,
        "",
        "héllo ∂",
        [],
        [1, "a", None],
        {"a": {"b": [1, {"c": 2.5}]}, "d": []},
    ],
)
def test_plain_values_round_trip_unchanged_and_with_their_exact_type(value):
    back = round_trip(value)
    assert back == value
    assert type(back) is type(value)


def test_nan_and_infinities_round_trip():
    nan, inf, minus_inf = round_trip([math.nan, math.inf, -math.inf])
    assert math.isnan(nan) and inf == math.inf and minus_inf == -math.inf


def test_tuples_become_lists_and_numpy_scalars_become_python_numbers():
    assert round_trip((1, 2)) == [1, 2]
    back = round_trip([np.float64(0.5), np.int32(3), np.bool_(True)])
    assert back == [0.5, 3, True] and [type(x) for x in back] == [float, int, bool]


def test_complex_numbers_round_trip():
    assert round_trip(1 + 2j) == 1 + 2j


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float64).reshape(2, 3),
        np.array(3.25),
        np.zeros((0, 4)),
        np.arange(5, dtype=np.int8),
        np.array([1, 2], dtype=np.uint64),
        np.array([True, False]),
        np.ones((2, 2), dtype=np.float32),
        np.array([1 + 1j, 2], dtype=np.complex128),
        np.zeros((1, 1, 1, 2), dtype=np.int64),
    ],
)
def test_numpy_arrays_round_trip_with_dtype_and_shape(array):
    back = round_trip(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable and back.flags.owndata


def test_big_endian_arrays_arrive_in_native_byte_order_with_the_same_values():
    array = np.arange(4, dtype=">f8")
    back = round_trip(array)
    assert back.dtype == np.float64 and back.dtype.isnative
    np.testing.assert_array_equal(back, [0, 1, 2, 3])


def test_non_contiguous_views_are_sent_as_their_values():
    base = np.arange(20.0).reshape(4, 5)
    for view in (base.T, base[::2, 1::2], base[:, 3]):
        np.testing.assert_array_equal(round_trip(view), view)


def test_nan_inside_arrays_survives():
    back = round_trip(np.array([np.nan, np.inf, 1.0]))
    assert np.isnan(back[0]) and np.isinf(back[1])


class Opaque:
    pass


@pytest.mark.parametrize(
    "value, named",
    [
        (np.array([object()], dtype=object), "dtype object"),
        ({1, 2}, "set"),
        (Opaque(), "Opaque"),
        ({1: "a"}, "key of type int"),
        ([{"ok": [frozenset()]}], "frozenset"),
        (np.array(["a"]), "dtype <U1"),
        (np.zeros(2, dtype=[("a", "f8")]), "dtype"),
        (lambda: 0, "function"),
        (b"bytes", "bytes"),
    ],
)
def test_values_that_are_not_plain_data_are_refused_naming_their_type(value, named):
    with pytest.raises(NotPlainData, match=named):
        protocol.encode(value)


def test_self_referencing_lists_are_refused_not_recursed_forever():
    loop = []
    loop.append(loop)
    with pytest.raises(NotPlainData, match="nested"):
        protocol.encode(loop)


def test_an_integer_too_long_to_print_is_refused_as_not_plain_data():
    with pytest.raises(NotPlainData, match="too large"):
        protocol.encode(10**5000)


def array_spec(dtype="<f8", shape=(1,), data=b"\0" * 8):
    return {"__ndarray__": {"dtype": dtype, "shape": list(shape), "data": base64.b64encode(data).decode()}}


@pytest.mark.parametrize(
    "message",
    [
        array_spec(dtype="O"),
        array_spec(dtype="|O8"),
        array_spec(dtype="V8"),
        array_spec(dtype="<M8[s]"),
        array_spec(dtype="[('a', '<f8')]"),
        array_spec(dtype="(2,)<f4"),
        array_spec(dtype="<U2"),
        array_spec(shape=(2,)),
        array_spec(shape=(-1,)),
        array_spec(shape=(0, 10**30), data=b""),
        array_spec(shape=(1,) * 40),
        {"__ndarray__": {"dtype": "<f8", "shape": [2.5], "data": ""}},
        {"__ndarray__": {"dtype": "<f8", "shape": 1, "data": "AAAAAAAAAAA="}},
        {"__ndarray__": "AAAA"},
        {"__ndarray__": {"dtype": "<f8", "shape": [1], "data": "not base64!"}},
        {"__ndarray__": {"dtype": "<f8", "shape": [1], "data": "AAAAAAAAAAA=", "extra": 1}},
        {"__complex__": [1]},
        {"__complex__": "ab"},
        {"__complex__": [1, "x"]},
    ],
)
def test_decoding_a_forged_or_malformed_special_value_raises_protocol_error(message):
    with pytest.raises(ProtocolError):
        protocol.decode(body(message))


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe", b"{not json", b"1" + b"0" * 5000, b"[" * 100000 + b"]" * 100000, b"[" + b"[]," * 20 + b"[]]"]
)
def test_decoding_garbage_raises_protocol_error_and_nothing_else(raw, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_ITEMS", 10)
    with pytest.raises(ProtocolError):
        protocol.decode(raw)


def test_decoding_builds_only_plain_types():
    decoded = protocol.decode(body({"a": [1, 2.0, "s", None, True, {"b": array_spec()}]}))
    seen = []

    def walk(v):
        seen.append(type(v))
        if isinstance(v, dict):
            [walk(x) for x in v.values()]
        elif isinstance(v, list):
            [walk(x) for x in v]

    walk(decoded)
    assert set(seen) <= {dict, list, int, float, str, type(None), bool, np.ndarray}


def test_lone_surrogates_in_strings_are_replaced_so_reports_can_be_written():
    text = protocol.decode(b'{"message": "bad \\ud800 text"}')["message"]
    text.encode("utf-8")  # would raise if the surrogate had survived
    assert text.startswith("bad ")


def test_a_frame_header_claiming_more_than_the_limit_is_refused_without_reading_it():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, struct.pack(">I", 0xFFFFFFFF) + b"{}")
        with pytest.raises(ProtocolError, match="limit"):
            protocol.read_message(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_message_larger_than_the_frame_limit_cannot_be_sent(monkeypatch):
    monkeypatch.setattr(protocol, "MAX_FRAME_BYTES", 1000)
    with pytest.raises(NotPlainData, match="MiB"):
        protocol.encode(np.zeros(1000))


def test_messages_cross_a_pipe_intact_and_a_closed_pipe_is_end_of_file():
    read_fd, write_fd = os.pipe()
    message = {"x": np.arange(3.0), "y": [1, "two"]}
    protocol.write_message(write_fd, message)
    os.close(write_fd)
    got = protocol.read_message(read_fd)
    np.testing.assert_array_equal(got["x"], message["x"])
    assert got["y"] == [1, "two"]
    with pytest.raises(EOFError):
        protocol.read_message(read_fd)
    os.close(read_fd)
