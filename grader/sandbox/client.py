"""Requests to a loaded submission and what their replies mean, wherever the submission runs.

:class:`SandboxClient` is everything about a request that does not depend on
how it reaches the submission: the message (handles named by their ids), the
handles of the reply, and the reply made a :class:`~grader.sandbox.calls.CallResult`
with a message in the student's terms. Two transports share it:

- :class:`grader.sandbox.parent.Sandbox`, the grader's: a child process, isolated and limited;
- :class:`grader.sandbox.local.LocalSandbox`, the students' checker's: the student's own process.

So a grade and a check read the same reply the same way: a missing function,
an exception, an unsendable value or an object kept behind a handle says the
same thing in both.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from . import protocol
from .calls import CallResult, OperationFailed, Status, TestMistake
from .handles import Handle, reference_to
from .protocol import Kind

if TYPE_CHECKING:
    from grader.homework.manifest import Limits

# Objects one fork keeps for the grader at once. The grader frees what a test drops, so only a
# test that keeps this many alive (or a reply that holds this many) reaches it.
MAX_HANDLES = 100_000


class SandboxClient:
    """The requests of the tests to one loaded submission; a transport implements :meth:`_exchange`.

    ``remember_timeouts``: an operation that ran out of time once is not run
    again (its later uses time out at once), so an infinite loop costs its
    time limit once per grading, not once per test.
    """

    def __init__(self, limits: Limits, remember_timeouts: bool = False):
        self.limits = limits
        self.remember_timeouts = remember_timeouts
        self._timed_out: dict[str, str] = {}
        self.missing_hints: dict[str, str] = {}
        """Why a function the submission lacks is missing (its part did not load), by name: said instead."""
        # Handles: which test (reset) and which fork of the child they belong to, the methods of
        # each type the current fork has described, and the handles dropped since the last request.
        self._test, self._fork = 0, 0
        self._methods: dict[str, frozenset[str]] = {}
        self._released: list[str] = []
        # The grader's one Handle per object: the child names an object by one id while the grader
        # holds it, and frees it when a Handle of that id is dropped, so a second Handle would end it early.
        self._handles: weakref.WeakValueDictionary[str, Handle] = weakref.WeakValueDictionary()

    # ----- what a transport provides ------------------------------------------------
    def _exchange(self, message: dict, op: str, what: str) -> CallResult:
        """Deliver ``message`` (plain data) and make its reply a result, usually by :meth:`_result_of`."""
        raise NotImplementedError

    def _ensure_loaded(self) -> CallResult | None:
        """Make sure a loaded submission can answer; a result saying why not if it cannot."""
        return None

    # ----- requests -----------------------------------------------------------------
    def call(self, function: str, *args, **kwargs) -> CallResult:
        """Call the submission's ``function(*args, **kwargs)``."""
        return self.request("function", name=function, args=args, kwargs=kwargs, what=function)

    def request(
        self, op: str, *, target: Handle | None = None, name: str | None = None, args=(), kwargs=None, what: str
    ) -> CallResult:
        """One operation on the submission (see operations.py's ``answer``); ``what`` names it in messages.

        op: ``function`` (the submission's ``name``), ``method`` (``target.name(...)``),
        ``attribute`` (``target.name``), ``setattr`` (``target.name = args[0]``),
        ``operator`` (``operator.<name>(*args)``), ``call`` (``target(...)``).
        """
        if self.remember_timeouts and what in self._timed_out:
            return CallResult(
                Status.TIMEOUT, message=f"{self._timed_out[what]} in an earlier test, so it was not run again"
            )
        unavailable = self._ensure_loaded()
        if unavailable is not None:
            return unavailable
        test, fork = self._test, self._fork
        try:
            message = protocol.to_plain(
                {
                    "kind": Kind.CALL,
                    "op": op,
                    "name": name,
                    "args": list(args),
                    "kwargs": dict(kwargs or {}),
                    "free": self._released,
                    "target": target,
                },
                on_object=lambda h: protocol.handle_reference(reference_to(h, self, test, fork)),
            )
        except OperationFailed as failure:
            return CallResult(failure.status, message=failure.message)
        except (TestMistake, protocol.NotPlainData) as mistake:
            raise TestMistake(f"{what}: {mistake}") from None
        self._released = []
        return self._exchange(message, op, what)

    def _handle(self, handle_id: str, type_name: str) -> Handle:
        """The Handle of the object the child calls ``handle_id``: the one the grader holds, or a new one."""
        handle = self._handles.get(handle_id)
        if handle is None or (handle._test, handle._fork) != (self._test, self._fork):
            handle = Handle(self, handle_id, type_name, self._test, self._fork)
            self._handles[handle_id] = handle
        return handle

    def _result_of(self, reply: dict, op: str, what: str) -> CallResult | None:
        """The result a reply stands for; None for a reply that is none of the protocol's."""
        kind = reply.get("kind")
        if kind == Kind.RESULT:
            self._methods.update(
                {protocol.short_text(k): frozenset(_list(v)) for k, v in _dict(reply.get("types")).items()}
            )
            changed = [protocol.short_text(name)[:100] for name in _list(reply.get("changed"))[:20]]
            return CallResult(Status.OK, reply.get("value"), changed=changed)
        if kind == Kind.MISSING and op == "function" and what in self.missing_hints:
            return CallResult(Status.ERROR, message=self.missing_hints[what])
        if kind == Kind.MISSING:
            missing = (
                f"the submission defines no function {what} (was it renamed, or did its cell fail?)"
                if op == "function"
                else f"{what} does not exist (was it renamed?)"
            )
            return CallResult(Status.ERROR, message=missing)
        detail = protocol.short_text(reply.get("message", ""))
        if kind == Kind.UNSENDABLE:
            return CallResult(
                Status.ERROR,
                message=f"{what} returned {detail}, which cannot be graded; "
                "return numbers, numpy arrays, lists or dicts",
            )
        if kind == Kind.HANDLE_LIMIT:
            held, new = (reply.get(key) if type(reply.get(key)) is int else 0 for key in ("held", "new"))
            if new > MAX_HANDLES:
                return CallResult(
                    Status.ERROR,
                    message=f"{what} returned {new} objects, more than can be kept for grading ({MAX_HANDLES})",
                )
            raise TestMistake(
                f"{what}: the test keeps {held} objects of the submission alive in the sandbox, and "
                f"{new} more would pass the limit of {MAX_HANDLES}; drop the handles it no longer needs"
            )
        if kind == Kind.BAD_HANDLE:
            return CallResult(Status.ERROR, message=f"{what}: {detail}")
        if kind == Kind.ERROR:
            return CallResult(Status.ERROR, message=f"{what} raised {detail}")
        return None

    def _timed_out_result(self, what: str) -> CallResult:
        """The result of an operation stopped at its time limit (remembered, when timeouts are)."""
        message = f"{what} did not return within {self.limits.call_seconds:g} s (an infinite loop?); it was stopped"
        if self.remember_timeouts:
            self._timed_out[what] = message
        return CallResult(Status.TIMEOUT, message=message)

    # ----- handles ------------------------------------------------------------------
    def methods_of(self, type_name: str) -> frozenset[str]:
        """The method names of a type of the current fork's objects (sent by the child with its first handle)."""
        return self._methods.get(type_name, frozenset())

    def release_handle(self, handle_id: str, fork: int) -> None:
        """A handle the grader dropped: the child forgets its object with the next request."""
        if fork == self._fork:
            self._released.append(handle_id)

    def _new_fork(self) -> None:
        """Handles of the fork that served so far are gone with it."""
        self._fork += 1
        self._methods = {}
        self._released = []


def _dict(value) -> dict:
    return value if type(value) is dict else {}


def _list(value) -> list:
    return value if type(value) is list else []
