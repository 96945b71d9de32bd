"""The grader's side of the sandbox: student code runs in a child process with limits, never here.

:class:`Sandbox` starts ``grader/sandbox/child.py`` with a scrubbed
environment, hands it the submission's chunks, and sends it requests: call a
function on plain data (:meth:`Sandbox.call`), or any operation on objects
kept in the child behind handles (:meth:`Sandbox.request`, used by
grader/sandbox/handles.py), each with a wall-clock limit. A request that
times out, crashes the child or returns something that cannot be sent
becomes a :class:`~grader.sandbox.calls.CallResult` with a clear message;
after a timeout the child is killed (its whole process group) and a fresh one
is started for the next request.

The child isolates itself (see isolation.py): a private network and mount
namespace where the OS allows one, a tmpfs root holding only its scratch
directory and read-only system and Python directories, resource limits, a user id of
its own when the grader runs as root (see users.py: limits the kernel
counts per user are then this sandbox's alone), and a private PID namespace
so no process it starts outlives :meth:`Sandbox.close`. What held is reported
in :attr:`Sandbox.protections`; what did not in :attr:`Sandbox.protections_off`.

The child is a fork server: calls are answered by a fork of the loaded
process, and :meth:`Sandbox.reset` (the harness calls it before every test)
replaces that fork by a fresh one, so every test sees the submission as it
was after loading, whatever earlier tests did to its memory; a fork that
crashes is replaced at once, without loading again.

Nothing the child sends is trusted beyond being plain data: every request
carries a random ``id`` its reply must echo, and frames with another id
(written by student code to the reply pipe, or left over from an earlier
call) are dropped, so no frame can pass for the answer of a later call. The
report of protections is written by the child before any student code runs.

Without a PID namespace (``protections_off`` says so), a process the student
detaches with fork + setsid outlives its process group; it is killed by its
user id when the sandbox closes (as root), or lives until its CPU limit ends
it (as an ordinary user). Student code can always answer its *own* call
however it likes; that is the point of comparing in the grader.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grader.homework.manifest import DEFAULT_PACKAGES, Limits

from . import client, protocol, users, view, workdir
from .calls import CallResult, LoadReport, Status
from .client import SandboxClient, _dict, _list
from .protocol import Kind
from .zygote import Zygote

if TYPE_CHECKING:
    from grader.grading.submission import Submission

CHILD_SCRIPT = Path(__file__).with_name("child.py")
# A fork server needs milliseconds to replace its fork; far more means something is wrong.
RESET_SECONDS = 5.0


class _Ended(Exception):
    """The fork serving a request ended (the child starts a fresh one): its exit status."""

    def __init__(self, code: int):
        self.code = code


class _Failed(Exception):
    """No usable reply: the child went silent (timeout), closed the pipe, or sent what is not plain data."""

    def __init__(self, status: Status, message: str = ""):
        self.status, self.message = status, message


class Sandbox(SandboxClient):
    """One submission, loaded in a child process, answering requests.

    ``use_zygote``: the child is forked by the grader process's zygote (zygote.py), which has
    Python started and numpy imported already; without it, a fresh Python is started.
    ``remember_timeouts``: see :class:`~grader.sandbox.client.SandboxClient`.
    """

    def __init__(
        self,
        submission: Submission,
        limits: Limits,
        module_name: str = "submission",
        use_namespaces: bool = True,
        remember_timeouts: bool = False,
        packages: tuple[str, ...] = DEFAULT_PACKAGES,
        use_zygote: bool = True,
        private: Sequence[Path] = (),
    ):
        super().__init__(limits, remember_timeouts)
        self.submission = submission
        self.private = tuple(private)
        """Folders of the grader's (a homework's, a course's) hidden from student code wherever it could see them."""
        self.module_name = module_name
        self.use_namespaces = use_namespaces
        self.use_zygote = use_zygote
        self.packages = tuple(packages)
        self.protections: dict[str, str] = {}
        self.protections_off: list[str] = []
        self.load_report: LoadReport | None = None
        self.output = b""
        self.output_bytes = 0  # printed, kept or not
        self.output_truncated = False
        self._printed = 0  # what the current child says it was asked to print
        self._process: subprocess.Popen | None = None
        self._served = False  # the current copy of the submission has been sent a request (see reset)
        self._ending = False  # reset told the current copy to end; its end is still to be read
        self._folder: workdir.WorkFolder | None = None
        self._user: users.SandboxUser | None = None  # its own user id while it lives (root only)

    # ----- life cycle ---------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LoadReport:
        """Start a child and load the submission into it."""
        self.spawn()
        return self.finish_loading()

    def spawn(self) -> None:
        """Start a child, without waiting: :meth:`finish_loading` sends it the submission and waits.

        The child starts (Python and numpy, unless the zygote has them) and isolates itself
        meanwhile, so a grader that has its own work to do (importing pytest, testing the last
        submission) does it while the child starts, on another core. No student code runs before
        the grader waits for it: a submission started ahead never competes with another's tests.
        """
        self._kill()
        self._remove_workdir()
        self._new_fork()
        scratch, file_name = self._prepare_workdir()
        self._spawn(scratch, file_name)

    def finish_loading(self) -> LoadReport:
        """Send the child :meth:`spawn` started the submission; what isolation held, and how loading went."""
        deadline = time.monotonic() + self.limits.load_seconds
        chunks = [{"label": c.label, "source": c.source} for c in self.submission.chunks]
        try:  # read by the child once it is isolated; a pipe holds it until then (or blocks: that is fine)
            self._load_id = self._send({"kind": Kind.LOAD, "chunks": chunks})
        except OSError:
            self._load_id = None
        try:
            if self._load_id is None:
                raise _Failed(Status.CRASH, "the process ended")
            # The first frame, written before any student code ran: what isolation held.
            isolated = self._receive(deadline, None, Kind.ISOLATED, protocol.MAX_REPORT_BYTES)
            self.protections = {
                protocol.short_text(k): protocol.short_text(v) for k, v in _dict(isolated.get("protections")).items()
            }
            self.protections_off = [protocol.short_text(v) for v in _list(isolated.get("off"))]
            ready = self._receive(deadline, self._load_id, Kind.READY, protocol.MAX_REPORT_BYTES)
        except (_Failed, _Ended, OSError) as failure:
            self.load_report = LoadReport(fatal=f"the submission {self._load_failure(failure)}")
            self._kill()
            return self.load_report
        report = protocol.load_report(ready.get("errors"), ready.get("defined"))
        self.load_report = LoadReport(errors=report["errors"], defined=report["defined"])
        return self.load_report

    def _load_failure(self, failure: Exception) -> str:
        if isinstance(failure, _Failed) and failure.status == Status.TIMEOUT:
            return (
                f"did not finish loading within {self.limits.load_seconds:g} s "
                "(an infinite loop or a long computation at the top level?)"
            )
        detail = failure.message if isinstance(failure, _Failed) else "the process ended"
        return f"stopped while loading: {detail or 'the process ended'}"

    def _prepare_workdir(self) -> tuple[Path, str]:
        """A fresh work folder: the submission in ``scratch/``, owned by the sandbox's own user when root."""
        self._folder = workdir.WorkFolder()
        scratch, root_dir = self._workdir / "scratch", self._workdir / "root"
        scratch.mkdir()
        root_dir.mkdir()
        file_name = self.submission.path.name if self.submission.kind == "module" else f"{self.module_name}.py"
        (scratch / file_name).write_text("\n".join(c.source for c in self.submission.chunks), encoding="utf-8")
        if os.getuid() == 0 and self._user is None:
            self._user = users.acquire()
        if self._user is not None:
            os.chmod(self._workdir, 0o711)
            os.chmod(scratch, 0o700)  # no other sandbox's user may read this submission
            for path in (scratch, scratch / file_name):
                os.chown(path, self._user.uid, self._user.gid)
        self._output_file = open(self._workdir / "output", "w+b")
        self._printed = 0
        return scratch, file_name

    def _spawn(self, scratch: Path, file_name: str) -> None:
        """Start the child: forked by this process's zygote, or (without one) a fresh Python."""
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        read_only = view.read_only_paths()
        config = {
            "request_fd": request_read,
            "reply_fd": reply_write,
            "scratch": str(scratch),
            "root_dir": str(self._workdir / "root"),
            "read_only_paths": read_only,
            "hidden_paths": view.hidden_paths(read_only, self.private),
            "python_paths": view.python_paths(),
            "use_namespaces": self.use_namespaces,
            "user": (self._user.uid, self._user.gid) if self._user else None,
            "module_name": self.module_name,
            "packages": list(self.packages),
            "file_name": file_name,
            "limits": {
                "cpu_seconds": self.limits.cpu_seconds,
                "memory_mb": self.limits.memory_mb,
                "processes": self.limits.processes,
                "output_bytes": self.limits.output_kb * 1024,
                "handles": client.MAX_HANDLES,
                "file_bytes": max(16 * 2**20, 4 * self.limits.output_kb * 1024),
            },
            "environment": view.environment(),
        }
        zygote = Zygote.shared() if self.use_zygote else None
        try:
            if zygote is not None:
                self._process = zygote.spawn(config, request_read, reply_write, self._output_file.fileno())
            else:
                self._process = self._fresh_child(config, scratch, request_read, reply_write)
        finally:
            for fd in (request_read, reply_write):
                os.close(fd)
        self._requests, self._replies = request_write, reply_read

    def _fresh_child(self, config: dict, scratch: Path, request_read: int, reply_write: int) -> subprocess.Popen:
        """A new ``python child.py CONFIG_FD``, its configuration on a pipe of its own."""
        config_read, config_write = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), str(config_read)],
                stdin=subprocess.DEVNULL,
                stdout=self._output_file,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, reply_write, config_read),
                env=view.environment(),
                cwd=str(scratch),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(config_read)
        with os.fdopen(config_write, "w") as f:
            json.dump(config, f)
        return process

    def close(self) -> None:
        self._kill()
        self._remove_workdir()
        if self._user is not None:
            self._user.release(leftovers_possible="processes" not in self.protections)
            self._user = None

    def reset(self) -> None:
        """Make the next requests run in a fresh copy of the submission as it was after loading.

        The child is a fork server: the copy that answered the previous test
        exits, and a new fork of the loaded process takes its place, so no
        test sees what student code kept in memory from another, and the
        previous test's handles are gone. Files written to the scratch
        directory stay. If anything goes wrong the child is killed, and the
        next request starts a new one.

        The old copy is told to end at once, but its end is waited for only when the next request
        is sent (:meth:`_settle`): the child ends it and forks the next copy while the grader does
        its own bookkeeping between tests, and no request is sent before the old copy is gone. A
        copy that has answered nothing yet is as fresh as a new one, so it stays.
        """
        self._test += 1
        if not self._served or not self.alive:
            return
        self._new_fork()
        self._served = False
        try:
            self._send({"kind": Kind.RESET})
            self._ending = True
        except OSError:
            self._kill()

    def _settle(self) -> None:
        """Wait for the end of the copy :meth:`reset` ended (the child reports it); kill the child if it does not.

        The copy that reads the reset ends with ``EXIT_RESET``. One copy lives at a time, so at most one
        other end can come first: that of a copy that ended on its own after its test's last call (a
        thread of it exited, it ran out of CPU time), before it read the reset, which the next copy then
        reads. Taken for the reset's end, it would leave the next copy's end to be taken for a crash of
        the next test's first call; so it is passed over, once.
        """
        if not self._ending:
            return
        self._ending = False
        deadline = time.monotonic() + RESET_SECONDS  # from now: however long the grader took since, the child had it
        try:
            if self._receive(deadline, None, Kind.ENDED).get("exit") != protocol.EXIT_RESET:
                self._receive(deadline, None, Kind.ENDED)
        except (OSError, _Failed, _Ended):
            self._kill()

    @property
    def _workdir(self) -> Path | None:
        """The work folder's path while the sandbox has one."""
        return self._folder.path if self._folder is not None else None

    def _remove_workdir(self) -> None:
        if self._folder is not None:
            self._folder.remove()
            self._folder = None

    def _kill(self) -> None:
        """Kill the child and everything it started, then keep what it printed."""
        process, self._process = self._process, None
        self._served, self._ending = False, False
        if process is None:
            return
        if process.pid is not None:  # None: a zygote's fork that never started (the zygote is gone)
            # Its group, and the process itself (a zygote's fork killed at once may not have made its group yet)
            # unless it is known to have ended: the zygote reaps its forks at once, so the pid may be reused.
            for kill in (os.killpg,) if process.poll() is not None else (os.killpg, os.kill):
                try:
                    kill(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        process.wait()
        self._wait_for_end_of_namespace()
        if self._user is not None and "processes" not in self.protections:
            self._user.kill_processes()  # what it detached: no PID namespace ends it for us
        for fd in (self._requests, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        self._collect_output()

    def _wait_for_end_of_namespace(self, seconds: float = 2.0) -> None:
        """Wait (briefly) until no process holds the reply pipe: the namespace's processes are gone.

        The process we waited for is only the one outside the PID namespace;
        the kernel kills the ones inside as it dies, a moment later.
        """
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                if select.select([self._replies], [], [], left)[0] and not os.read(self._replies, 1 << 20):
                    return
            except OSError:
                return

    def _collect_output(self) -> None:
        self._output_file.flush()
        size = os.fstat(self._output_file.fileno()).st_size
        self._output_file.seek(0)
        room = max(0, self.limits.output_kb * 1024 - len(self.output))
        self.output += self._output_file.read(room)
        self.output_bytes += max(size, self._printed)
        self.output_truncated |= max(size, self._printed) >= self.limits.output_kb * 1024
        self._output_file.close()

    # ----- requests -----------------------------------------------------------------
    def _exchange(self, message: dict, op: str, what: str) -> CallResult:
        """Send one request to the child and make its reply a result (see client.py's ``request``)."""
        try:
            self._served = True
            request_id = self._send(message)
            reply = self._receive(time.monotonic() + self.limits.call_seconds, request_id)
        except OSError:
            return self._died(f"running {what}")
        except _Ended as ended:  # the fork serving this request died; the child has started a fresh one
            self._new_fork()
            return CallResult(
                Status.CRASH,
                message=f"the submission's process stopped while running {what}: {self._how_it_ended(ended.code)}",
            )
        except _Failed as failure:
            if failure.status == Status.TIMEOUT:
                return self._timed_out_on(what)
            return self._died(f"running {what}", failure.message)
        return self._result_of(reply, op, what) or self._died(
            f"running {what}", "it sent a reply the grader does not understand"
        )

    def _ensure_loaded(self) -> CallResult | None:
        """A child to answer: a new one if the last one died (None), or why there is none."""
        self._settle()
        if not self.alive:
            report = self.start()
            if report.fatal:
                return CallResult(Status.ERROR, message=report.fatal)
        return None

    def _timed_out_on(self, what: str) -> CallResult:
        self._kill()
        return self._timed_out_result(what)

    def _died(self, doing: str, detail: str = "") -> CallResult:
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        how = (detail or "the process ended") if code is None else self._how_it_ended(code)
        return CallResult(Status.CRASH, message=f"the submission's process stopped while {doing}: {how}")

    def _how_it_ended(self, code: int) -> str:
        """An exit status (negative: the signal) in the student's terms."""
        if code == protocol.EXIT_CPU_EXHAUSTED:
            code = -signal.SIGXCPU
        if code < 0:
            try:
                signal_name = signal.Signals(-code).name
            except ValueError:
                signal_name = f"signal {-code}"
            return {
                "SIGXCPU": f"it used more than {self.limits.cpu_seconds} s of CPU time",
                "SIGKILL": "it was killed (out of memory?)",
                "SIGSEGV": "it crashed (segmentation fault)",
            }.get(signal_name, f"it was stopped by {signal_name}")
        return f"the process exited with status {code} (os._exit or sys.exit in a child process?)"

    # ----- the channel --------------------------------------------------------------
    def _send(self, message: dict) -> str:
        """Send ``message`` tagged with a fresh random id; returns the id its reply must echo."""
        request_id = secrets.token_hex(16)
        protocol.write_message(self._requests, {**message, "id": request_id})
        return request_id

    def _receive(
        self,
        deadline: float,
        request_id: str | None,
        kind: Kind | None = None,
        max_bytes: int = protocol.MAX_FRAME_BYTES,
    ) -> dict:
        """The reply to ``request_id`` (or, with None, the next frame, which must be of ``kind``).

        Frames with another id are dropped: a stale answer to an earlier request,
        or one student code wrote to the pipe itself, is never taken for this one.
        A frame longer than ``max_bytes`` is refused before it is read. Raises
        :class:`_Ended` when the serving fork ended, :class:`_Failed` otherwise.
        """
        make_handle = self._handle
        try:
            while True:
                message = protocol.read_message(
                    self._replies, deadline=deadline, max_bytes=max_bytes, on_handle=make_handle
                )
                if not isinstance(message, dict):
                    raise _Failed(Status.CRASH, "it sent a reply the grader does not understand")
                if type(message.get("printed")) is int and (
                    request_id is None or message.get("id") == request_id or message.get("kind") == Kind.ENDED
                ):
                    self._printed = max(self._printed, message["printed"])
                if request_id is not None and message.get("kind") == Kind.ENDED and "id" not in message:
                    code = message.get("exit")
                    raise _Ended(code if type(code) is int else -signal.SIGKILL)
                if request_id is None:  # the report of isolation, or the end of a fork, comes first
                    if message.get("kind") != kind:
                        raise _Failed(Status.CRASH, "it sent a reply the grader does not understand")
                    return message
                if message.get("id") == request_id and (kind is None or message.get("kind") == kind):
                    return message
        except TimeoutError:
            raise _Failed(Status.TIMEOUT) from None
        except EOFError:
            raise _Failed(Status.CRASH, "the process ended") from None
        except protocol.FrameTooLong as error:
            raise _Failed(Status.CRASH, f"it sent {error.length} bytes, more than any reply may have") from None
        except protocol.ProtocolError as error:
            raise _Failed(Status.CRASH, f"it sent something that is not plain data ({error})") from None
