"""Expected versus got: the one comparison the tests use, by the course's tolerance policy.

Everything compared here is plain data the grader decoded itself (numbers,
lists, dicts, fresh numpy arrays), never an object of the student's, so no
student ``__eq__`` ever runs. A mismatch raises :class:`Mismatch` whose
message says what differs in the student's terms: the key or index, the
shape, the dtype, the first differing entry and its relative error, and a
hint when the difference looks like a known mistake (see
:mod:`grader.grading.diagnose`). In hidden tests the expected values are left out of
the message (``reveal=False``).
"""

from __future__ import annotations

import contextvars
import numbers

import numpy as np

from grader.grading import diagnose, tolerances
from grader.grading.checks import check
from grader.sandbox.handles import Handle, type_of

reveal_expected: contextvars.ContextVar[bool] = contextvars.ContextVar("reveal_expected", default=True)


class Mismatch(AssertionError):
    """The student's value is not the expected one; the message is fit to show the student."""


class WrongType(Mismatch):
    """Not even the right kind of value (None, a string, a list where a dict belongs): graded as an error."""


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, threshold=12, edgeitems=2)
    return repr(value)


def _relative(got: float, expected: float) -> float:
    return abs(got - expected) / max(tolerances.RELATIVE_ERROR_FLOOR, abs(expected))


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _as_array(value) -> np.ndarray | None:
    """A float64 copy of a number, an array or a (nested) list of numbers; None if it is none of these."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype.kind in "biuf" else None
    if _is_number(value) or isinstance(value, list):
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        return array
    return None


@check
def assert_close(
    got,
    expected,
    *,
    name: str,
    rtol: float = tolerances.FORWARD_RTOL,
    atol: float = tolerances.FORWARD_ATOL,
    reveal: bool | None = None,
    credit=None,
) -> None:
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` within ``rtol``/``atol`` (numpy's isclose rule).

    ``expected`` may be a number, an array, a list, or a dict of those
    (compared key by key, ``name`` growing into "backward_pass['w5']").
    ``credit``: the test's ``credit`` fixture, to earn the share of entries that are close when not all are.
    """
    reveal = reveal_expected.get() if reveal is None else reveal
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            raise WrongType(f"{name}: expected a dict with keys {sorted(expected)}, got {_type_name(got)}")
        missing = [k for k in expected if k not in got]
        if missing:
            raise WrongType(f"{name}: the returned dict lacks the key(s) {missing}")
        for key in expected:
            assert_close(got[key], expected[key], name=f"{name}[{key!r}]", rtol=rtol, atol=atol, reveal=reveal)
        return
    want = _as_array(expected)
    if want is None:
        raise TypeError(f"assert_close compares numbers, arrays, lists and dicts, not {type(expected).__name__}")
    have = _as_array(got)
    if have is None:
        raise WrongType(f"{name}: expected {_kind(want)}, got {_type_name(got)}")
    if isinstance(got, np.ndarray) and got.dtype.kind == "b" and want.dtype.kind != "b":
        raise WrongType(f"{name}: expected numbers, got an array of booleans")
    if have.shape != want.shape:
        hint = diagnose.shape_hint(have.shape, want.shape)
        raise Mismatch(f"{name}: expected shape {want.shape}, got shape {have.shape}{hint}")
    if np.isnan(have).any() and not np.isnan(want).any():
        index = _first(np.isnan(have))
        raise Mismatch(f"{name}: got NaN{_at(index, want.ndim)} (a division by zero or the log of a negative number?)")
    close = np.isclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    if credit is not None:
        credit.award(float(close.mean()))
    index = _first(~close)
    g, e = float(have[index]), float(want[index])
    differing = int((~close).sum())
    where = _at(index, want.ndim)
    count = f" ({differing} of {want.size} entries differ)" if want.size > 1 else ""
    detail = f"expected {_fmt(e)}, got {_fmt(g)}" if reveal else f"got {_fmt(g)}"
    hint = diagnose.value_hint(have, want)
    raise Mismatch(f"{name}: wrong value{where}: {detail}, relative error {_relative(g, e):.2e}{count}{hint}")


@check
def assert_unchanged(changed: list[str], *, name: str) -> None:
    """Raise :class:`Mismatch` if the student's ``name`` changed any of its arguments in place (see
    ``student.f.with_changes(...)``): a function told to leave its arguments as they were must return new values."""
    if changed:
        raise Mismatch(
            f"{name} changed its argument{'s' if len(changed) > 1 else ''} {', '.join(changed)} in place; "
            "leave the arguments as they were and return new values"
        )


KINDS = {
    "dict": (dict,),
    "list": (list,),
    "number": (int, float, np.number),
    "array": (np.ndarray,),
    "object": (Handle,),
}
"""What :func:`assert_kind` can ask for, as the grader receives it (a tuple arrives as a list)."""


@check
def assert_kind(got, kind: str, *, name: str, what: str = "") -> None:
    """Raise :class:`WrongType` unless ``got`` is of ``kind`` (a key of :data:`KINDS`): the test cannot go on.

    ``what`` says in the student's terms what was wanted ("a dict of the intermediates").
    """
    wanted = KINDS[kind]
    if isinstance(got, bool) or not isinstance(got, wanted):
        raise WrongType(f"{name} must return {what or 'a ' + kind}, got {_type_name(got)}")


@check
def assert_equal(got, expected, *, name: str) -> None:
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` exactly: for values that are not measurements
    (True or False, None, a count, an index, a string, lists of them). Numbers that are computed are
    compared by :func:`assert_close`."""
    if isinstance(got, Handle):
        raise WrongType(f"{name}: expected {expected!r}, got {_type_name(got)}")
    if isinstance(got, np.ndarray) or isinstance(expected, np.ndarray):
        same = isinstance(got, np.ndarray) and isinstance(expected, np.ndarray) and np.array_equal(got, expected)
    else:
        same = (type(got) is type(expected) or (_is_number(got) and _is_number(expected))) and got == expected
    if not same:
        shown = _fmt(got) if isinstance(got, np.ndarray) else repr(got)
        raise Mismatch(f"{name}: expected {expected!r}, got {shown}")


def matches_printed(value: float, printed: str) -> bool:
    """Whether ``value`` is the lecture's printed number ``printed``, at the precision it was printed.

    |value − p| ≤ 0.55 units of the last printed digit (see
    ``grader.grading.tolerances.PRINTED_DIGIT_UNITS``); ``value`` is never rounded.
    """
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(value) - float(printed)) <= tolerances.PRINTED_DIGIT_UNITS * 10.0 ** (-decimals)


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


def _at(index: tuple[int, ...], ndim: int) -> str:
    return f" at index {list(index) if len(index) > 1 else index[0]}" if ndim else ""


def _kind(array: np.ndarray) -> str:
    return "a number" if array.ndim == 0 else f"an array of shape {array.shape}"


def _type_name(value) -> str:
    if value is None:
        return "None (a missing return statement?)"
    if isinstance(value, Handle):
        return (
            f"a {type_of(value)} object, which cannot be graded as a value (it stays in the sandbox); "
            "return numbers, numpy arrays, lists or dicts"
        )
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return f"a {type(value).__name__}"
