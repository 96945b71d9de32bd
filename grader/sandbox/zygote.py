"""Sandboxes forked from a prepared process: Python started and numpy imported once per grader, not per sandbox.

Starting a sandbox's child means starting Python and importing numpy, about a tenth of a second,
paid by every submission of a batch. The zygote is a child.py (``--zygote``) that has done that
and nothing else: it knows no submission, no test, no expected value. For each sandbox the grader
sends it the sandbox's configuration and pipes (on a SOCK_SEQPACKET socket pair, the descriptors
attached); it forks, and the fork goes on exactly as a freshly started child.py would, isolating
itself (namespaces, its own user id, limits) before any student code runs. So every protection
holds as before, and sandboxes stay independent: each is its own fork, under its own user.

One zygote serves a grader process for its life, one sandbox after another or several at once;
it dies with the grader. If it cannot start or stops answering, sandboxes are started the old way.
"""

from __future__ import annotations

import collections
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import view

CHILD_SCRIPT = Path(__file__).with_name("child.py")
ANSWER_SECONDS = 10.0  # a fork takes milliseconds; a zygote silent this long is broken


class Zygote:
    """The grader process's zygote (see the module docstring)."""

    _current: Zygote | None = None

    def __init__(self):
        bootstrap_read, bootstrap_write = os.pipe()
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-B",
                    str(CHILD_SCRIPT),
                    "--zygote",
                    str(bootstrap_read),
                    str(theirs.fileno()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(bootstrap_read, theirs.fileno()),
                env=view.environment(),
                cwd="/",
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(bootstrap_read)
            theirs.close()
        with os.fdopen(bootstrap_write, "w") as f:
            json.dump({"python_paths": view.python_paths()}, f)
        self._grader = os.getpid()
        self._ended: dict[int, int] = {}
        self._unanswered: collections.deque[ZygoteChild] = collections.deque()

    @classmethod
    def shared(cls) -> Zygote | None:
        """This process's zygote, started on first use; None if none can run (sandboxes then start the old way)."""
        current = cls._current
        # A process forked from the zygote's grader (a batch worker) starts its own: that one answers its grader only.
        if current is not None and current._grader == os.getpid() and current._process.poll() is None:
            return current
        try:
            cls._current = cls()
        except OSError:
            cls._current = None
        return cls._current

    def spawn(self, config: dict, request_read: int, reply_write: int, output: int) -> ZygoteChild:
        """A sandbox's process, forked with ``config`` on these descriptors (which stay the caller's to close).

        Returns at once, without waiting for the zygote (which may still be importing numpy): the
        fork's pid is read from the zygote's answer when first needed. The zygote answers in the order
        it was asked, so the first unanswered sandbox is the one an answer names.
        """
        socket.send_fds(self._socket, [json.dumps(config).encode()], [request_read, reply_write, output])
        child = ZygoteChild(self)
        self._unanswered.append(child)
        return child

    def wait_until_started(self, child: ZygoteChild) -> None:
        """Read the zygote's answers until ``child``'s pid is known (OSError if the zygote is gone or silent)."""
        deadline = time.monotonic() + ANSWER_SECONDS
        while child._pid is None:
            try:
                self._read_answer(deadline)
            except TimeoutError:
                raise OSError("the sandboxes' zygote did not answer") from None

    def exit_status(self, pid: int, timeout: float | None) -> int | None:
        """How the fork ``pid`` ended (as Popen.returncode), waiting up to ``timeout`` (None: not at all)."""
        deadline = time.monotonic() + (timeout or 0.0)
        while pid not in self._ended:
            try:
                self._read_answer(deadline)
            except TimeoutError:
                return None
        return self._ended[pid]

    def _read_answer(self, deadline: float) -> None:
        """Read the zygote's next answer and note it: a fork's pid, or how one ended. TimeoutError, OSError if gone."""
        left = max(0.0, deadline - time.monotonic())
        if not select.select([self._socket], [], [], left)[0]:
            raise TimeoutError
        data = self._socket.recv(1 << 16)
        if not data:
            raise OSError("the sandboxes' zygote stopped")
        message = json.loads(data)
        if "ended" in message:
            self._ended[int(message["ended"])] = int(message["exit"])
        if "started" in message and self._unanswered:
            self._unanswered.popleft()._pid = int(message["started"])


class ZygoteChild:
    """A sandbox's process forked by the zygote, with the parts of Popen's interface the sandbox uses."""

    def __init__(self, zygote: Zygote):
        self.zygote = zygote
        self._pid: int | None = None  # set when the zygote answers
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        """The fork's pid, waiting for the zygote's answer if need be; None if the zygote is gone (its forks too)."""
        if self._pid is None:
            try:
                self.zygote.wait_until_started(self)
            except OSError:
                self.returncode = -9
        return self._pid

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                if self.pid is not None:
                    self.returncode = self.zygote.exit_status(self.pid, None)
            except OSError:
                self.returncode = -9  # the zygote is gone, and its forks with it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            try:
                self.returncode = self.zygote.exit_status(self.pid, 0.05)
            except OSError:
                self.returncode = -9
        return self.returncode
