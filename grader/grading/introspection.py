"""A failing plain ``assert`` of a visible test, told in the student's terms.

Instructors port tests written with plain asserts. pytest rewrites the asserts of test modules so
that a failure explains itself, but in the grader's terms::

    assert np.float64(0.5) == 0.25
     +  where np.float64(0.5) = <the submission's sigmoid_backward>(0.0)
     +    where <the submission's sigmoid_backward> = <grader.grading.cases.Student object at 0x7f…>.sigmoid_backward

:func:`student_message` keeps what the explanation says about values and drops what it says about
the grader's own objects::

    assert 0.5 == 0.25
      where 0.5 = student.sigmoid_backward(0.0)

The rules:

- values as numpy prints them under :func:`readable_values`, which the harness holds while a test
  runs (``0.5``, not ``np.float64(0.5)``; an array on one line, a long one shortened with ``...``);
- a function by its name (``isclose``, not ``<function isclose at 0x…>``), the submission's as
  ``student.NAME``, no memory addresses;
- a line that only says where a name came from (``where isclose = np.isclose``) is left out, and so
  is pytest's advice about its own options (``Use -v to get more diff``);
- an assert with a message of its own (``assert ok, "..."``) shows that message alone: the
  instructor chose its words;
- an AssertionError raised by a library (``np.testing.assert_allclose``) keeps its verdict, then
  its ``ACTUAL`` and ``DESIRED``, called ``got`` and ``expected``, then the entries that differ;
- at most :data:`MAX_LINES` lines of at most :data:`MAX_LINE` characters.

Hidden tests never come here: the harness gives them a fixed message without values.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

MAX_LINES = 8
MAX_LINE = 300

_REPLACEMENTS = [
    (re.compile(r"<the submission's ([\w.]+)>"), r"student.\1"),  # grader.sandbox.handles.ModuleFunction
    (re.compile(r"<(?:built-in )?function ([\w.<>]+)(?: at 0x[0-9a-fA-F]+)?>"), r"\1"),
    (re.compile(r"<(?:built-in )?method ([\w.]+) of [^>]*>"), r"\1"),
    (re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>"), r"<\1 object>"),
    # numpy < 2 has no legacy="1.25" printing: its scalars' reprs, as plain numbers
    (re.compile(r"\bnp\.(?:float|int|uint|complex|longdouble)\d*\(([^()]*)\)"), r"\1"),
    (re.compile(r"\bnp\.(True|False)_"), r"\1"),
    (re.compile(r"\\n\s*"), " "),  # pytest escapes the line breaks of a multi-line repr (a 2-d array)
]
# "where NAME = module.NAME": where a name came from, not a value.
_NAME = re.compile(r"[A-Za-z_][\w.]*")
_VALUE_WORDS = {"True", "False", "None", "nan", "inf"}
_WHERE = re.compile(r"^ \+( *)(where|and) +(.*)$")
_PYTEST_ADVICE = re.compile(r"Use -v+ to get|-vv|Full diff|Omitting \d+ identical items")


@contextlib.contextmanager
def readable_values():
    """numpy's printing while a test runs: scalars as plain numbers, arrays on one line, long ones shortened."""
    options = {"threshold": 8, "edgeitems": 2, "linewidth": 1_000_000}
    try:
        context = np.printoptions(legacy="1.25", **options)  # numpy 2: 0.5, not np.float64(0.5)
    except (TypeError, ValueError):
        context = np.printoptions(**options)
    with context:
        yield


def student_message(error: AssertionError) -> str:
    """The message a visible test's failed plain assert (or a library's AssertionError) shows the student."""
    lines = [line.rstrip() for line in str(error).strip("\n").splitlines()]
    if not any(line.strip() for line in lines):
        return "wrong result"
    if lines[0].startswith("assert "):
        kept = _explanation(lines)
    elif any(line.startswith("assert ") for line in lines):
        kept = lines[: next(n for n, line in enumerate(lines) if line.startswith("assert "))]
    else:
        kept = _library(lines)
    kept = [_shorten(_readable(line)) for line in kept if line.strip()]
    if len(kept) > MAX_LINES:
        kept = kept[: MAX_LINES - 1] + [f"  ... ({len(kept) - MAX_LINES + 1} more lines)"]
    return "\n".join(kept)


def _explanation(lines: list[str]) -> list[str]:
    """pytest's explanation of a rewritten assert: its where-lines re-indented, name lookups and advice left out.

    A left-out lookup still says where a name came from: ``where isclose = np.isclose`` makes the
    line above it read ``np.isclose(...)``, ``where <the submission's f> = student.f`` ``student.f(...)``.
    """
    entries = []  # (indent, word, value, source), or a line that is not a where-line
    for line in lines:
        where = _WHERE.match(line)
        if where is None:
            if not _PYTEST_ADVICE.search(line):
                entries.append(line)
            continue
        indent, word, equation = where.groups()
        value, _, source = (_readable(part).strip() for part in equation.partition(" = "))
        entries.append((indent, word, value, source))
    lookups = [(e[2], e[3]) for e in entries if isinstance(e, tuple) and _only_a_name(e[2], e[3])]
    kept, last_indent = [], ""
    for entry in entries:
        if isinstance(entry, str):
            kept.append(_named(entry, lookups))
            continue
        indent, word, value, source = entry
        if (value, source) in lookups:
            continue
        if word == "and" and len(last_indent) < len(indent):  # the "where" before it was left out
            word = "where"
        kept.append(f"{indent}{word} {_named(value, lookups)} = {_named(source, lookups)}")
        last_indent = indent
    return kept


def _named(text: str, lookups: list[tuple[str, str]]) -> str:
    """``text`` with each looked-up object called or indexed by the name it was looked up by."""
    for value, source in lookups:
        if value != source:
            text = re.sub(r"(?<![\w.])" + re.escape(value) + r"(?=[(.\[])", lambda _, s=source: s, text)
    return text


def _only_a_name(value: str, source: str) -> bool:
    """A where-line that names what a name is (``isclose = np.isclose``), saying nothing about values."""
    if value == source or value.startswith("<"):
        return True
    return bool(_NAME.fullmatch(source)) and bool(_NAME.fullmatch(value)) and value not in _VALUE_WORDS


_LIBRARY_VALUES = (" ACTUAL:", " DESIRED:", " x:", " y:")


def _library(lines: list[str]) -> list[str]:
    """numpy.testing's report: its verdict, then the student's value and the expected one, then the entries.

    Its ACTUAL and DESIRED (x and y before numpy 2) are the student's value and the expected one.
    """
    lines = [line.replace("(ACTUAL)", "(got)").replace("(DESIRED)", "(expected)") for line in lines if line.strip()]
    values = [_renamed(line) for line in lines if line.startswith(_LIBRARY_VALUES)]
    rest = [line for line in lines if not line.startswith(_LIBRARY_VALUES + ("Max ",))]
    return rest[:2] + values + rest[2:]


def _renamed(line: str) -> str:
    for theirs, ours in zip(_LIBRARY_VALUES, ("  got:", "  expected:") * 2):
        if line.startswith(theirs):
            return ours + line[len(theirs) :]
    return line


def _readable(text: str) -> str:
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text


def _shorten(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 4] + " ..."
