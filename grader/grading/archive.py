"""A submission handed in as an archive (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``), unpacked safely.

Students zip their folder; the archive is then graded like that folder. It is
untrusted input read by the grader (often as root), so unpacking refuses
anything an ordinary folder of homework would not hold:

- entries that are not ordinary files or folders (links, devices, pipes);
- names that are absolute or climb out of the folder (``../``), or repeat;
- more than :data:`MAX_FILES` files, or more than :data:`MAX_BYTES` unpacked
  (counted from what is actually read, not from what the archive claims), so
  a zip bomb costs the grader a few megabytes at most.

Hidden and tool folders inside (``.git/``, ``__MACOSX/``) are skipped, as in a
folder submission.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import UserError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MAX_FILES = 200
MAX_BYTES = 20 * 2**20
SKIPPED_PARTS = ("__MACOSX", "__pycache__", ".ipynb_checkpoints")


def is_archive(path: Path) -> bool:
    return Path(path).name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_stem(name: str) -> str:
    """``alice.tar.gz`` -> ``alice``: the student id an archive's name gives."""
    lowered = name.lower()
    return next((name[: -len(suffix)] for suffix in ARCHIVE_SUFFIXES if lowered.endswith(suffix)), name)


def unpack(data: bytes, name: str, into: Path) -> None:
    """Unpack the archive ``data`` (named ``name``) into the empty folder ``into``; UserError saying why not."""
    try:
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                _unpack_zip(archive, name, into)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                _unpack_tar(archive, name, into)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise UserError(
            f"{name} could not be unpacked ({error}): make the archive again, or submit the file itself"
        ) from None


def _unpack_zip(archive: zipfile.ZipFile, name: str, into: Path) -> None:
    budget = _Budget(name)
    for info in archive.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
        if info.is_dir():
            continue
        if kind not in (0, stat.S_IFREG):
            raise UserError(
                f"{name} holds {info.filename}, which is not an ordinary file (a link?): submit the files themselves"
            )
        target = _target(into, info.filename, name)
        if target is None:
            continue
        with archive.open(info) as source:
            _copy(source, target, budget)


def _unpack_tar(archive: tarfile.TarFile, name: str, into: Path) -> None:
    budget = _Budget(name)
    for member in archive:
        if member.isdir():
            continue
        if not member.isfile():
            raise UserError(
                f"{name} holds {member.name}, which is not an ordinary file (a link?): submit the files themselves"
            )
        target = _target(into, member.name, name)
        if target is None:
            continue
        source = archive.extractfile(member)
        if source is not None:
            _copy(source, target, budget)


def _target(into: Path, member: str, name: str) -> Path | None:
    """Where ``member`` goes in ``into``; None to skip it; UserError for a name that leaves the folder."""
    path = PurePosixPath(member.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UserError(f"{name} holds {member!r}, a name outside the archive's own folder: make the archive again")
    if any(part.startswith(".") or part in SKIPPED_PARTS for part in path.parts):
        return None
    target = into.joinpath(*path.parts)
    if target.exists():
        raise UserError(f"{name} holds {member!r} twice: make the archive again")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


class _Budget:
    def __init__(self, name: str):
        self.name, self.files, self.bytes = name, 0, 0

    def take(self, count: int) -> None:
        self.bytes += count
        if self.bytes > MAX_BYTES:
            raise UserError(
                f"{self.name} unpacks to more than {MAX_BYTES // 2**20} MB: submit only your homework's files"
            )


def _copy(source, target: Path, budget: _Budget) -> None:
    budget.files += 1
    if budget.files > MAX_FILES:
        raise UserError(f"{budget.name} holds more than {MAX_FILES} files: submit only your homework's files")
    with open(target, "xb") as out:
        while chunk := source.read(1 << 20):
            budget.take(len(chunk))
            out.write(chunk)
