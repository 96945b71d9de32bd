"""What the sandbox's child sees: the folders its private root shows, those hidden in them, its environment.

The child (isolation.py) mounts :func:`read_only_paths` read-only into a fresh root beside its
scratch folder, and covers :func:`hidden_paths` (the grader's own folders that happen to lie inside
them) with an empty, unreadable file system; its environment is :func:`environment` and nothing else.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import site
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from grader.homework.course import ENVIRONMENT
from grader.paths import PROJECT_ROOT
from grader.threads import ONE_THREAD

SYSTEM_PATHS = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
]
# Variables the child may see: numpy threads pinned to one, and the OpenBLAS
# core settings some processors need for correct results.
PASSED_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# The project's own packages and folders: never visible in the child, even
# where an installed copy sits inside a directory the child sees read-only.
PROJECT_NAMES = ("reference", "grader", "assignments", "tests")


def python_paths() -> list[str]:
    """Directories the child needs on sys.path: the standard library's and numpy's."""
    return list(_python_paths())


@functools.cache
def _python_paths() -> tuple[str, ...]:
    # The same for the grader's whole life, and asked for by every sandbox: sysconfig takes a millisecond or two.
    paths = [
        sysconfig.get_path("stdlib"),
        sysconfig.get_path("platstdlib"),
        os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload"),
        # Where numpy is installed, found without importing it (the zygote starts before the grader imports it).
        str(Path(importlib.util.find_spec("numpy").origin).resolve().parent.parent),
    ]
    return tuple(dict.fromkeys(p for p in paths if p and os.path.isdir(p)))


def read_only_paths() -> list[str]:
    """What the child's root shows, read-only: system directories, Python's prefixes, numpy."""
    paths = SYSTEM_PATHS + [sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)] + python_paths()
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def hidden_paths(read_only: list[str], private: Sequence[Path] = ()) -> list[str]:
    """The grader's folders under a read-only path: copies of the project (e.g. a non-editable install in
    site-packages), the course folders (a homework's tests and solution), and ``private``."""
    sites = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    candidates = [str(PROJECT_ROOT)] + [os.path.join(d, name) for d in sites if d for name in PROJECT_NAMES]
    # The course folders as named, unchecked: a sandbox hides what it can and never fails on a bad name.
    candidates += [os.path.abspath(entry) for entry in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if entry]
    candidates += [str(Path(path).resolve()) for path in private]
    return [
        path
        for path in dict.fromkeys(candidates)
        if os.path.isdir(path) and any(path == k or path.startswith(k.rstrip("/") + "/") for k in read_only)
    ]


def environment() -> dict[str, str]:
    """The child's whole environment: nothing of the grader's but the variables it may see."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/scratch",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        **ONE_THREAD,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({k: os.environ[k] for k in PASSED_VARIABLES if k in os.environ})
    return env
