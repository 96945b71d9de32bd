"""Checks: what a visible test checks, in a form the students' checker can repeat exactly.

The students' checker cannot run the tests themselves: they compute their
expected values with the reference solution, which never leaves the course.
So ``grader build`` runs the visible tests once on the solution and records
everything they do (grader/authoring/checker.py): every operation on the
student's code, and every call of a *check*, a function decorated with
:func:`check`, with its arguments. An argument that is one of the student's
answers is recorded as the operation that returned it; the others (the
expected values, the names) as they are. The checker repeats the operations
on the student's code and calls the same check functions with the student's
answers (grader/grading/replay.py): the verdict, its message and any partial
credit come from the grader's own code, so the two cannot disagree.

The checks are :func:`grader.grading.compare.assert_close` and its siblings,
``worked_example.check``, ``credit.award``, and the functions a homework's
``tests/checks.py`` decorates with ``@check``: pure functions of their
arguments (numpy, the standard library and the grader's comparison rules,
never the reference), shipped with the checker. Logic a visible test writes
itself (a plain ``assert`` on its own computation) cannot be repeated without
the solution: the checker compares each of that test's answers with the
solution's instead, and ``grader build`` lists those tests.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
from collections.abc import Callable

recording: contextvars.ContextVar = contextvars.ContextVar("recording", default=None)
"""The recorder of the visible test running now (grader/authoring/checker.py), or None when not recording."""

_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_a_check", default=False)

CHECKS: dict[str, Callable] = {}
"""Every check by its key, ``module.qualified_name``."""


def check(function: Callable | None = None, *, student: tuple[str, ...] | None = None):
    """Mark ``function`` as a check; ``student`` names its parameters that take the student's answers.

    By default the first parameter is the student's answer (``assert_close(got, expected, ...)``). A check
    called inside another check is part of it and is not recorded again.
    """
    if function is None:
        return functools.partial(check, student=student)
    parameters = list(inspect.signature(function).parameters)
    students = tuple(student) if student is not None else tuple(p for p in parameters[:1] if p != "self")
    if not students and parameters[:1] == ["self"]:
        students = tuple(parameters[1:2])
    key = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def checked(*args, **kwargs):
        recorder = recording.get()
        if recorder is None or _inside.get():
            return function(*args, **kwargs)
        bound = inspect.signature(function).bind(*args, **kwargs)
        recorder.check(key, bound.arguments, students)
        token = _inside.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _inside.reset(token)

    checked.check_key = key
    CHECKS[key] = checked
    return checked


def inside_a_check() -> bool:
    """Whether a check is running now (its own asserts are part of it, not a test's own logic)."""
    return _inside.get()


def by_key(key: str) -> Callable:
    """The check recorded as ``key`` (its module imported if need be); LookupError if there is none."""
    if key not in CHECKS:
        module, _, _ = key.rpartition(".")
        while module and key not in CHECKS:
            try:
                importlib.import_module(module)
                break
            except ImportError:
                module = module.rpartition(".")[0]
    if key not in CHECKS:
        raise LookupError(f"no check named {key}")
    return CHECKS[key]
