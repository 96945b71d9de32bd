"""What one request into the sandbox gave, and whose mistake a failure is.

A request either returns (:attr:`Status.OK`, with its value: plain data, and
handles for the objects that stay in the sandbox) or fails in one of three
ways, all the submission's doing: it raised (``ERROR``), ran out of time
(``TIMEOUT``), or its process stopped (``CRASH``). Code that needs the value
calls :func:`value_of`, which raises :class:`OperationFailed` for those.

A *test* can misuse the sandbox too: name a handle from an earlier test or
another sandbox, pass an argument that is not plain data, keep too many
objects alive. That is :class:`TestMistake`: never blamed on the student.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASH = "crash"


@dataclass
class CallResult:
    status: Status
    value: object = None
    message: str = ""
    changed: list[str] = field(default_factory=list)
    """The arguments the call changed in place (plain-data arguments only), by parameter name."""


@dataclass
class LoadReport:
    """How loading the submission went: each chunk's error, the names it defined, or why nothing loaded."""

    errors: list[dict] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    fatal: str = ""


class OperationFailed(Exception):
    """Student code did not give a value: it raised, ran too long, or its process stopped."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class TestMistake(Exception):
    """The test, not the submission, used the sandbox wrongly (the message says how)."""

    __test__ = False  # not a pytest test class, whatever its name


def value_of(result: CallResult):
    """The value of a request that returned; :class:`OperationFailed` otherwise."""
    if result.status != Status.OK:
        raise OperationFailed(result.status, result.message)
    return result.value


class Unavailable:
    """Stands in for a sandbox when the submission could not be read or loaded: every request fails saying why."""

    def __init__(self, message: str):
        self.message = message

    def call(self, function: str, *args, **kwargs) -> CallResult:
        return CallResult(Status.ERROR, message=self.message)

    def reset(self) -> None:
        pass
