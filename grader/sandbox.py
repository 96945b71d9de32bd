"""Student code runs here: in a child process with limits, never in the grader's process.

:class:`Sandbox` starts ``grader/sandbox_child.py`` with a scrubbed
environment, hands it the submission's chunks, and calls student functions
on plain data with a wall-clock limit per call. A call that times out,
crashes the child or returns something that is not plain data becomes a
:class:`CallResult` with a clear message; the child is killed (its whole
process group) and a fresh one is started for the next call.

The child isolates itself (see sandbox_child.py): a private network and mount
namespace where the OS allows one, a tmpfs root holding only its scratch
directory and read-only system and Python directories, resource limits, a user id of
its own when the grader runs as root (see sandbox_user.py: limits the kernel
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
import shutil
import signal
import site
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import protocol, sandbox_user
from .manifest import Limits
from .paths import PROJECT_ROOT

if TYPE_CHECKING:
    from .submission import Submission

CHILD_SCRIPT = Path(__file__).with_name("sandbox_child.py")
SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/localtime", "/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"]  # fmt: skip
# Variables the child may see: numpy threads pinned to one, and the OpenBLAS
# core settings some processors need for correct results.
PASSED_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# The project's own packages and folders: never visible in the child, even
# where an installed copy sits inside a directory the child sees read-only.
PROJECT_NAMES = ("reference", "grader", "assignments", "tests")

# A fork server needs milliseconds to replace its fork; far more means something is wrong.
RESET_SECONDS = 5.0


@dataclass
class CallResult:
    """What one call into student code gave: ``status`` is ok, error, timeout or crash."""

    status: str
    value: object = None
    message: str = ""


@dataclass
class LoadReport:
    errors: list[dict] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    fatal: str = ""


def _load_report(ready: dict) -> LoadReport:
    """The child's "ready" message, cut to its bounds whatever the child sent (student code can forge it)."""
    report = protocol.load_report(ready.get("errors"), ready.get("defined"))
    return LoadReport(errors=report["errors"], defined=report["defined"])


def _python_paths() -> list[str]:
    """Directories the child needs on sys.path: the standard library's and numpy's."""
    paths = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"),
             os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload"),
             str(Path(np.__file__).resolve().parent.parent)]  # fmt: skip
    return list(dict.fromkeys(p for p in paths if p and os.path.isdir(p)))


def _read_only_paths() -> list[str]:
    """What the child's root shows, read-only: system directories, Python's prefixes, numpy."""
    paths = SYSTEM_PATHS + [sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)] + _python_paths()
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _hidden_paths(read_only: list[str]) -> list[str]:
    """Copies of the project under a read-only path (e.g. a non-editable install in site-packages)."""
    sites = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    candidates = [str(PROJECT_ROOT)] + [os.path.join(d, name) for d in sites if d for name in PROJECT_NAMES]
    return [path for path in candidates if os.path.isdir(path)
            and any(path == k or path.startswith(k.rstrip("/") + "/") for k in read_only)]  # fmt: skip


class Sandbox:
    """One submission, loaded in a child process, answering calls on plain data."""

    def __init__(self, submission: Submission, limits: Limits, module_name: str = "submission", use_namespaces: bool = True):
        self.submission = submission
        self.limits = limits
        self.module_name = module_name
        self.use_namespaces = use_namespaces
        self.protections: dict[str, str] = {}
        self.protections_off: list[str] = []
        self.load_report: LoadReport | None = None
        self.output = b""
        self.output_bytes = 0  # printed, kept or not
        self._printed = 0  # what the current child says it was asked to print
        self.output_truncated = False
        self._process: subprocess.Popen | None = None
        self._workdir: Path | None = None
        # Its own user id while it lives (root only): see sandbox_user.py.
        self._user: sandbox_user.SandboxUser | None = None

    # ----- life cycle ---------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> LoadReport:
        """Start a child and load the submission into it."""
        self._kill()
        self._remove_workdir()
        self._workdir = Path(tempfile.mkdtemp(prefix="nn-grader-"))
        scratch, root_dir = self._workdir / "scratch", self._workdir / "root"
        scratch.mkdir()
        root_dir.mkdir()
        file_name = self.submission.path.name if self.submission.kind == "module" else f"{self.module_name}.py"
        (scratch / file_name).write_text("\n".join(c.source for c in self.submission.chunks), encoding="utf-8")
        if os.getuid() == 0 and self._user is None:
            self._user = sandbox_user.acquire()
        user = (self._user.uid, self._user.gid) if self._user else None
        if user is not None:
            os.chmod(self._workdir, 0o711)
            os.chmod(scratch, 0o700)  # no other sandbox's user may read this submission
            for path in (scratch, scratch / file_name):
                os.chown(path, *user)
        self._output_file = open(self._workdir / "output", "w+b")
        self._printed = 0

        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        config_read, config_write = os.pipe()
        read_only = _read_only_paths()
        config = {
            "request_fd": request_read, "reply_fd": reply_write,
            "scratch": str(scratch), "root_dir": str(root_dir),
            "read_only_paths": read_only, "hidden_paths": _hidden_paths(read_only), "python_paths": _python_paths(),
            "grader_dir": str(CHILD_SCRIPT.parent), "use_namespaces": self.use_namespaces, "user": user,
            "module_name": self.module_name, "file_name": file_name,
            "limits": {"cpu_seconds": self.limits.cpu_seconds, "memory_mb": self.limits.memory_mb,
                       "processes": self.limits.processes, "output_bytes": self.limits.output_kb * 1024,
                       "file_bytes": max(16 * 2**20, 4 * self.limits.output_kb * 1024)},
            "environment": self._environment(),
        }  # fmt: skip
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), str(config_read)],
                stdin=subprocess.DEVNULL, stdout=self._output_file, stderr=subprocess.STDOUT,
                pass_fds=(request_read, reply_write, config_read), env=self._environment(),
                cwd=str(scratch), start_new_session=True, close_fds=True,
            )  # fmt: skip
        finally:
            for fd in (request_read, reply_write, config_read):
                os.close(fd)
        with os.fdopen(config_write, "w") as f:
            json.dump(config, f)
        self._requests, self._replies = request_write, reply_read
        deadline = time.monotonic() + self.limits.load_seconds
        # The first frame, written before any student code ran: what isolation held.
        isolated = self._receive(deadline, None, "isolated", protocol.MAX_REPORT_BYTES)
        if isolated.status == "ok":
            self.protections = {protocol.short_text(k): protocol.short_text(v) for k, v in isolated.value.get("protections", {}).items()}
            self.protections_off = [protocol.short_text(v) for v in isolated.value.get("off", [])]
            try:
                request_id = self._send({"chunks": [{"label": c.label, "source": c.source} for c in self.submission.chunks]})
            except OSError:
                isolated = CallResult("crash", message="the process ended")
        reply = self._receive(deadline, request_id, "ready", protocol.MAX_REPORT_BYTES) if isolated.status == "ok" else isolated
        if reply.status != "ok":
            what = {"timeout": f"did not finish loading within {self.limits.load_seconds:g} s "
                               "(an infinite loop or a long computation at the top level?)"}.get(
                reply.status, f"stopped while loading: {reply.message}")  # fmt: skip
            self.load_report = LoadReport(fatal=f"the submission {what}")
            self._kill()
            return self.load_report
        self.load_report = _load_report(reply.value)
        return self.load_report

    def close(self) -> None:
        self._kill()
        self._remove_workdir()
        if self._user is not None:
            self._user.release()
            self._user = None

    def _remove_workdir(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _environment(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin", "HOME": "/scratch", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
        env.update({k: os.environ[k] for k in PASSED_VARIABLES if k in os.environ})
        return env

    def _kill(self) -> None:
        """Kill the child and everything it started, then keep what it printed."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
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

    # ----- calls --------------------------------------------------------------------
    def call(self, function: str, *args, **kwargs) -> CallResult:
        """Call ``function(*args, **kwargs)`` in the child; restart the child first if it died."""
        if not self.alive:
            report = self.start()
            if report.fatal:
                return CallResult("error", message=report.fatal)
        try:
            request_id = self._send({"function": function, "args": list(args), "kwargs": kwargs})
        except (BrokenPipeError, OSError):
            return self._died(f"calling {function}")
        reply = self._receive(time.monotonic() + self.limits.call_seconds, request_id)
        if reply.status == "ended":  # the fork serving this call died; the child has started a fresh one
            return CallResult("crash", message=f"the submission's process stopped while running {function}: "
                                               f"{self._how_it_ended(reply.value)}")  # fmt: skip
        if reply.status == "timeout":
            self._kill()
            return CallResult("timeout", message=f"{function} did not return within {self.limits.call_seconds:g} s "
                                                 "(an infinite loop?); it was stopped")  # fmt: skip
        if reply.status != "ok":
            return self._died(f"running {function}", reply.message)
        message = reply.value
        kind = message.get("kind")
        if kind == "result":
            return CallResult("ok", message.get("value"))
        if kind == "missing":
            return CallResult("error", message=f"the submission defines no function {function} "
                                               "(was it renamed, or did its cell fail?)")  # fmt: skip
        detail = protocol.short_text(message.get("message", ""))
        if kind == "unsendable":
            return CallResult("error", message=f"{function} returned {detail}, which cannot be graded; "
                                               "return numbers, numpy arrays, lists or dicts")  # fmt: skip
        if kind == "error":
            return CallResult("error", message=f"{function} raised {detail}")
        return self._died(f"running {function}", "it sent a reply the grader does not understand")

    def _died(self, doing: str, detail: str = "") -> CallResult:
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        how = (detail or "the process ended") if code is None else self._how_it_ended(code)
        return CallResult("crash", message=f"the submission's process stopped while {doing}: {how}")

    def _how_it_ended(self, code: int) -> str:
        """An exit status (negative: the signal) in the student's terms."""
        if code == 128 + signal.SIGXCPU:  # sandbox_child.CPU_EXHAUSTED
            code = -signal.SIGXCPU
        if code < 0:
            try:
                signal_name = signal.Signals(-code).name
            except ValueError:
                signal_name = f"signal {-code}"
            return {"SIGXCPU": f"it used more than {self.limits.cpu_seconds} s of CPU time",
                    "SIGKILL": "it was killed (out of memory?)", "SIGSEGV": "it crashed (segmentation fault)",
                    }.get(signal_name, f"it was stopped by {signal_name}")  # fmt: skip
        return f"the process exited with status {code} (os._exit or sys.exit in a child process?)"

    def reset(self) -> None:
        """Make the next calls run in a fresh copy of the submission as it was after loading.

        The child is a fork server: the copy that answered the previous test
        exits, and a new fork of the loaded process takes its place, so no
        test sees what student code kept in memory from another. Files written
        to the scratch directory stay. If anything goes wrong the child is
        killed, and the next call starts a new one.
        """
        if not self.alive:
            return
        try:
            self._send({"kind": "reset"})
        except OSError:
            self._kill()
            return
        if self._receive(time.monotonic() + RESET_SECONDS, None, kind="ended").status != "ok":
            self._kill()

    def _send(self, message: dict) -> str:
        """Send ``message`` tagged with a fresh random id; returns the id its reply must echo."""
        request_id = secrets.token_hex(16)
        protocol.write_message(self._requests, {**message, "id": request_id})
        return request_id

    def _receive(self, deadline: float, request_id: str | None, kind: str | None = None,
                 max_bytes: int = protocol.MAX_FRAME_BYTES) -> CallResult:  # fmt: skip
        """The reply to ``request_id`` before ``deadline``, as CallResult(ok, message dict) or a failure.

        Frames with another id are dropped: a stale answer to an earlier call,
        or one student code wrote to the pipe itself, is never taken for this one.
        A frame longer than ``max_bytes`` is refused before it is read.
        """
        try:
            while True:
                header = self._read(4, deadline)
                (length,) = struct.unpack(">I", header)
                if length > max_bytes:
                    return CallResult("crash", message=f"it sent {length} bytes, more than any reply may have")
                message = protocol.decode(self._read(length, deadline), max_bytes)
                if not isinstance(message, dict):
                    return CallResult("crash", message="it sent a reply the grader does not understand")
                if request_id is not None and message.get("kind") == "ended" and "id" not in message:
                    if type(message.get("printed")) is int:
                        self._printed = max(self._printed, message["printed"])
                    code = message.get("exit")
                    return CallResult("ended", code if type(code) is int else -signal.SIGKILL)
                if kind is not None and message.get("kind") != kind:
                    if request_id is None:  # the report of isolation, or the end of a fork, comes first
                        return CallResult("crash", message="it sent a reply the grader does not understand")
                    continue
                if message.get("id") == request_id:
                    if type(message.get("printed")) is int:
                        self._printed = max(self._printed, message["printed"])
                    return CallResult("ok", message)
        except TimeoutError:
            return CallResult("timeout")
        except EOFError:
            return CallResult("crash", message="the process ended")
        except protocol.ProtocolError as error:
            return CallResult("crash", message=f"it sent something that is not plain data ({error})")

    def _read(self, count: int, deadline: float) -> bytes:
        chunks, remaining = [], count
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self._replies, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
