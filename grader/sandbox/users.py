"""A user id of its own for every sandbox, so no sandbox's processes can fail another's.

The kernel counts some limits per user, not per process: ``RLIMIT_NPROC``
(processes and threads) is checked against every process of the caller's
real user id. If every sandbox ran as the same ``nobody``, a fork bomb in one
submission would use up the processes another sandbox needs, and a correct
solution graded beside it would fail. So, when the grader runs as root, each
live sandbox takes a user id (and the group id of the same number) of its
own from a reserved range, like the box ids of the common judge systems:

- the range is ``2000000000`` to ``2000004095`` (4096 sandboxes at once on
  one machine); ``NN_GRADER_SANDBOX_UIDS=FIRST-LAST`` moves it, e.g. for two
  containers that share one kernel without user namespaces. An id that names
  a real account (``/etc/passwd``) is never used;
- an id is taken by an exclusive ``flock`` on ``<lock dir>/<uid>``, held for
  the sandbox's life: the lock is the kernel's, so it is shared by every
  grader process on the machine (two TAs' batches, a batch's workers, a
  ``grader grade`` beside them) and is released even when a grader is killed;
- every process still running as the id is killed when the id is taken and
  when it is given back, so a process a submission detached (possible where
  no PID namespace can be made) never counts against the next sandbox.

Files follow the same split: the sandbox's scratch directory belongs to its
own user and is readable by it alone, so one submission cannot read another's.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import random
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

UID_RANGE = (2_000_000_000, 2_000_004_095)
RANGE_VARIABLE = "NN_GRADER_SANDBOX_UIDS"
LOCK_DIRS = (Path("/run/nn-grader/sandbox-users"), Path("/var/lock/nn-grader-sandbox-users"))
WAIT_SECONDS = 60.0  # every id of the range taken: wait this long for one to come free


class NoSandboxUser(RuntimeError):
    """No user id could be taken (all in use, or no safe place for the locks)."""


@dataclass
class SandboxUser:
    uid: int
    gid: int
    _lock: int  # the open, flock-ed lock file: closing it gives the id back

    def kill_processes(self) -> None:
        kill_processes_of(self.uid)

    def release(self, leftovers_possible: bool = True) -> None:
        """Kill whatever still runs as this user, then give the id back.

        ``leftovers_possible=False`` when the sandbox had a PID namespace: nothing it started can have
        outlived it, so there is nothing to kill (the next taker kills anyway, in case).
        """
        if self._lock < 0:
            return
        if leftovers_possible:
            kill_processes_of(self.uid)
        os.close(self._lock)
        self._lock = -1


def uid_range() -> tuple[int, int]:
    """The reserved range (first, last), from ``NN_GRADER_SANDBOX_UIDS`` if set."""
    text = os.environ.get(RANGE_VARIABLE, "").strip()
    if not text:
        return UID_RANGE
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError:
        raise NoSandboxUser(f"{RANGE_VARIABLE}={text!r}: expected FIRST-LAST, e.g. 2000000000-2000004095") from None
    if not 1000 <= first <= last < 2**32 - 1:
        raise NoSandboxUser(f"{RANGE_VARIABLE}={text!r}: the ids must be ordinary (1000 or more) and FIRST <= LAST")
    return first, last


def acquire(wait_seconds: float = WAIT_SECONDS) -> SandboxUser:
    """Take a free id of the range (root only); raises :class:`NoSandboxUser` if none comes free in time."""
    first, last = uid_range()
    lock_dir = _lock_dir()
    ids = list(range(first, last + 1))
    start = random.randrange(len(ids))  # graders starting together try different ids first
    ids = ids[start:] + ids[:start]
    deadline = time.monotonic() + wait_seconds
    while True:
        for uid in ids:
            lock = _try_lock(lock_dir, uid)
            if lock is None:
                continue
            if _names_an_account(uid):
                os.close(lock)
                continue
            kill_processes_of(uid)  # left over from a grader that was killed before it could clean up
            return SandboxUser(uid, uid, lock)
        if time.monotonic() > deadline:
            raise NoSandboxUser(
                f"all {len(ids)} sandbox user ids ({first}-{last}) are in use; "
                f"grade with fewer workers or widen {RANGE_VARIABLE}"
            )
        time.sleep(0.05)


def _try_lock(lock_dir: Path, uid: int) -> int | None:
    fd = os.open(lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _names_an_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _lock_dir() -> Path:
    """The first usable lock folder: owned by root, not writable by anyone else, not a link."""
    problems = []
    for folder in LOCK_DIRS:
        try:
            folder.parent.mkdir(mode=0o755, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError as error:
            problems.append(f"{folder}: {error.strerror}")
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
            return folder
        problems.append(f"{folder}: not a root-owned folder closed to others")
    raise NoSandboxUser("no safe folder for the sandbox users' locks (" + "; ".join(problems) + ")")


def kill_processes_of(uid: int, seconds: float = 2.0) -> None:
    """SIGKILL every process whose user is ``uid`` (root only).

    A helper process takes the id and calls ``kill(-1, SIGKILL)``, which
    reaches exactly the processes that user may signal: its own. It repeats
    while any of them is still alive (a fork bomb may fork while it is being
    killed), up to ``seconds``. A killed process whose parent has not reaped
    it yet (a zombie) still receives the signal, so "alive" is read from /proc.
    """
    if not _alive_processes_of(uid, os.getpid()):
        return  # nothing runs as uid, so nothing can start as it: the fork below (a large copy) is not needed
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    code = 0
                    break
                if not _alive_processes_of(uid, os.getpid()):
                    code = 0
                    break
                time.sleep(0.002)
        finally:
            os._exit(code)
    while True:
        try:
            os.waitpid(helper, 0)
            return
        except InterruptedError:
            continue


def _alive_processes_of(uid: int, exclude: int) -> bool:
    """Whether a process of ``uid`` other than ``exclude`` is alive (not a zombie), by /proc."""
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == exclude:
            continue
        try:
            status = _read_status(name)
        except OSError:  # ended meanwhile
            continue
        if _status_field(status, b"Uid").split()[:1] == [str(uid).encode()] and not _status_field(
            status, b"State"
        ).startswith((b"Z", b"X")):
            return True
    return False


def _read_status(pid: str) -> bytes:
    # Bytes through os.read, found rather than parsed whole: every process of the machine is read before
    # each sandbox, and this is three times faster than Path.read_text and a dict of every line.
    fd = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def _status_field(status: bytes, name: bytes) -> bytes:
    """The value of the line ``name:`` of a /proc/<pid>/status text."""
    start = status.find(b"\n" + name + b":")
    if start < 0:
        return b""
    end = status.find(b"\n", start + 1)
    return status[start + len(name) + 2 : end if end >= 0 else None].strip()
