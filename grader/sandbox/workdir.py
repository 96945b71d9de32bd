"""The sandbox's work folder in the temporary directory: made, held while its grader lives, swept after.

Each sandbox gets a folder of its own (``nn-grader-sandbox-*``): the submission's scratch
directory, the mount point of its private root, and the file its output goes to. A grader removes
the folder when it closes the sandbox; one killed outright (SIGKILL, a machine out of memory, a
container stopped) cannot, and the folder would stay, with a copy of a student's submission in
it, until the machine restarts.

So a grader holds an exclusive ``flock`` on its folder for the folder's life. The lock is the
kernel's: it is released the moment the process holding it dies, however it dies. The first
sandbox a grader process starts sweeps the temporary directory: a folder of this user that nobody
holds, and that is older than a minute (so one being made this instant is never taken), belongs
to a grader that is gone, and is removed. A live grader's folder is never touched, whichever
grader (a batch's worker, a TA's ``grader grade`` beside it) looks.

Folders of the earlier layout (``nn-grader-`` and 8 characters, with ``scratch/`` inside) were
never locked; they are removed once a day old.

Locks are the local kernel's: the sweep assumes the temporary directory belongs to this machine, as
/tmp does (not one shared by several machines). Where its file system has no ``flock`` (some
network file systems refuse one on a folder), no folder is locked, none can be, and none is swept.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

PREFIX = "nn-grader-sandbox-"
ABANDONED_SECONDS = 60.0  # a folder is locked within microseconds of being made: one this young is being made
_UNLOCKED_LAYOUT = re.compile(r"nn-grader-[a-z0-9_]{8}")
UNLOCKED_LAYOUT_SECONDS = 24 * 3600.0

_swept = False  # this process has swept once; later sandboxes do not look again


class WorkFolder:
    """A new, locked folder in the temporary directory: ``path``; :meth:`remove` deletes it and drops the lock."""

    def __init__(self):
        if not _swept:
            sweep()
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX))
        # Close-on-exec: no program started later holds the lock. A fork without exec (a batch's worker) does
        # share it while it lives, which only keeps a folder longer; a live grader's is never given up.
        self._lock = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except OSError:  # no flock here: then no sweep can lock the folder either, and none removes it
            pass
        self._removed = False

    def remove(self) -> None:
        """Delete the folder and all in it, then give up the lock (once; later calls do nothing)."""
        if self._removed:
            return
        self._removed = True
        remove_tree(self.path)
        os.close(self._lock)


def sweep(folder: Path | None = None) -> list[Path]:
    """Remove the work folders in ``folder`` (the temporary directory) whose grader is gone; returns them."""
    global _swept
    _swept = _swept or folder is None
    removed = []
    try:
        entries = list(os.scandir(folder or tempfile.gettempdir()))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if entry.name.startswith(PREFIX):
            old_enough = ABANDONED_SECONDS
        elif _UNLOCKED_LAYOUT.fullmatch(entry.name) and os.path.isdir(os.path.join(entry.path, "scratch")):
            old_enough = UNLOCKED_LAYOUT_SECONDS
        else:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or now - info.st_mtime < old_enough:
            continue
        if _remove_if_unheld(Path(entry.path)):
            removed.append(Path(entry.path))
    return removed


def _remove_if_unheld(path: Path) -> bool:
    """Remove ``path`` if no grader holds its lock (holding it meanwhile, so no other sweep starts on it)."""
    try:
        lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # its grader holds it: alive
        os.close(lock)
        return False
    try:
        remove_tree(path)
    finally:
        os.close(lock)
    return not path.exists()


def remove_tree(path: Path) -> None:
    """Delete ``path`` and all in it, also what student code made unreadable or unwritable (a chmod 0 folder).

    Root deletes whatever the modes say; another user first makes every folder in it its own again.
    """
    shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path) and os.geteuid() != 0:
        make_removable(path)
        shutil.rmtree(path, ignore_errors=True)


def make_removable(path: Path) -> None:
    """Give this user all rights on ``path`` and every folder below it, never through a link.

    Through descriptors, and never following a link: a process of the submission still running (possible
    without a PID namespace) may swap a folder for a link meanwhile, and a chmod through the link would
    change what it points to.
    """
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        os.chmod(top, stat.S_IRWXU)
        for _folder, subfolders, _files, folder_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            for name in subfolders:  # top down: each folder is made readable before fwalk opens it
                try:
                    os.chmod(name, stat.S_IRWXU, dir_fd=folder_fd, follow_symlinks=False)
                except (OSError, NotImplementedError, ValueError):  # a link (Python refuses: ValueError), or gone
                    pass
    except OSError:
        pass
    finally:
        os.close(top)
