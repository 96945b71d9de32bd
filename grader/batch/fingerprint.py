"""What decides a grade, hashed: a batch re-run reuses every result whose fingerprint is unchanged.

The fingerprint is the submission's bytes (read as grading reads them, without following links),
the homework id, and the homework's manifest, tests, sources (a course's own solution modules) and
the reference engine the expected values come from. A changed submission or changed tests regrade;
nothing else does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader.errors import UserError
from grader.grading.submission import IGNORED_FOLDERS, file_kind, read_regular_file, submitted_files
from grader.homework import manifest as manifests
from grader.paths import REFERENCE_DIR

FINGERPRINT_VERSION = 1


def _hash_files(digest, root: Path, paths) -> None:
    for path in sorted(paths):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part in IGNORED_FOLDERS for part in relative.split("/")) or not path.is_file():
            continue
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())


def content_hash(path: Path) -> str:
    """sha256 of a submission file, or of every file of a submission folder with its relative name.

    Read as grading reads it, without following links: a submission grading
    refuses gets the hash of the refusal.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if file_kind(path) != "folder":
            return hashlib.sha256(read_regular_file(path)).hexdigest()
        for file in submitted_files(path):
            data = read_regular_file(file)
            digest.update(f"{file.relative_to(path).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    except UserError as error:
        return hashlib.sha256(f"refused: {error}".encode()).hexdigest()
    return digest.hexdigest()


def homework_hash(manifest: manifests.Manifest) -> str:
    """sha256 of what decides a grade besides the submission: the manifest, the tests, the sources, the engine."""
    digest = hashlib.sha256()
    _hash_files(digest, manifest.folder, [manifest.folder / "manifest.toml", *(manifest.folder / "tests").rglob("*")])
    for source in manifest.source_paths:  # a course's solution modules live outside reference/
        _hash_files(digest, source.parent, [source])
    _hash_files(digest, REFERENCE_DIR.parent, REFERENCE_DIR.rglob("*"))
    return digest.hexdigest()


def fingerprint(submission: Path, manifest: manifests.Manifest, homework: str) -> dict:
    return {
        "version": FINGERPRINT_VERSION,
        "assignment": manifest.id,
        "submission_sha256": content_hash(submission),
        "homework_sha256": homework,
    }
