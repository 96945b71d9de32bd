"""The submission loaded in this process: the students' checker's sandbox.

A student checking their own work runs their own code, so there is nothing to
isolate it from; what must be the grader's is everything else. The checker's
requests therefore go through the same steps as the grader's: the message is
built by :class:`~grader.sandbox.client.SandboxClient`, encoded and decoded by
the protocol, answered by :func:`grader.sandbox.operations.answer`, its reply
encoded by :func:`~grader.sandbox.operations.encode_reply` and read back by the
client, handles and all. Only the pipe between them is missing.

A fresh state for every test is the checker's business (it runs each test in
a fork of the loaded process, where it can); each operation has the
homework's time limit where the system has an interval timer (not Windows).
"""

from __future__ import annotations

import signal
import sys
import types

from . import operations, protocol
from .calls import CallResult, LoadReport, Status
from .client import MAX_HANDLES, SandboxClient


class _OutOfTime(BaseException):
    """Raised in student code when its operation's time is up (a BaseException: `except Exception` passes it on)."""


class LocalSandbox(SandboxClient):
    def __init__(self, submission, limits, module_name: str, packages: tuple[str, ...]):
        super().__init__(limits, remember_timeouts=True)
        self.submission, self.module_name, self.packages = submission, module_name, tuple(packages)
        self.load_report: LoadReport | None = None

    def start(self) -> LoadReport:
        """Load the submission's chunks into a fresh module, as the sandbox's child does."""
        module = types.ModuleType(self.module_name)
        module.__file__ = str(self.submission.path)
        sys.modules[self.module_name] = module
        chunks = [{"label": c.label, "source": c.source} for c in self.submission.chunks]
        with self._time_limit(self.limits.load_seconds) as expired:
            self._labels, report = operations.load(protocol, module, chunks, self.packages)
        if expired():
            fatal = (
                f"the submission did not finish loading within {self.limits.load_seconds:g} s "
                "(an infinite loop or a long computation at the top level?)"
            )
            self.load_report = LoadReport(fatal=fatal)
        else:
            self.load_report = LoadReport(errors=report["errors"], defined=report["defined"])
        self._module = module
        self.reset()
        return self.load_report

    def reset(self) -> None:
        """The next test's handles start afresh (the checker forks for a fresh state of the module)."""
        self._test += 1
        self._new_fork()
        self._objects = operations.Handles(protocol, MAX_HANDLES, self._module)

    def _ensure_loaded(self) -> CallResult | None:
        if self.load_report is not None and self.load_report.fatal:
            return CallResult(Status.ERROR, message=self.load_report.fatal)
        return None

    def _exchange(self, message: dict, op: str, what: str) -> CallResult:
        request = protocol.decode(_body(protocol.encode(message)), on_handle=lambda h, _: operations.Reference(h))
        with self._time_limit(self.limits.call_seconds) as expired:
            reply = operations.answer(protocol, request, self._module, self._objects, self._labels)
        if expired():
            return self._timed_out_result(what)
        frame = operations.encode_reply(protocol, {**reply, "id": "local"}, self._objects)
        return self._result_of(protocol.decode(_body(frame), on_handle=self._handle), op, what) or CallResult(
            Status.CRASH, message=f"{what}: an answer the checker does not understand"
        )

    @staticmethod
    def _time_limit(seconds: float):
        return _TimeLimit(seconds)


def _body(frame: bytes) -> bytes:
    """A frame without its length: what the reader at the other end of a pipe decodes."""
    return frame[4:]


class _TimeLimit:
    """``with _TimeLimit(s) as expired:`` stops the code inside after ``s`` seconds (again every half second if
    it catches the first stop); ``expired()`` says whether it had to."""

    def __init__(self, seconds: float):
        self.seconds, self.fired = seconds, False
        self.available = hasattr(signal, "setitimer")

    def __enter__(self):
        if self.available:
            self.previous = signal.signal(signal.SIGALRM, self._stop)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.5)
        return lambda: self.fired

    def __exit__(self, kind, error, traceback):
        if self.available:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return kind is _OutOfTime  # it escaped the student's code: the time is up, say so

    def _stop(self, *_):
        self.fired = True
        raise _OutOfTime
