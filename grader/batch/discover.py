"""The submissions of a class folder: one file or sub-folder per student, or a Gradescope export.

A Gradescope "export submissions" folder has ``submission_metadata.yml`` at its top and one
``submission_<id>/`` folder per submission; the submitters' names, emails and student ids come
from the metadata (the id is the first submitter's sid, else their email).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from grader.errors import UserError
from grader.grading.archive import archive_stem, is_archive
from grader.grading.submission import IGNORED_FOLDERS, SUBMISSION_SUFFIXES, file_kind
from grader.homework.deadline import aware

GRADESCOPE_METADATA = "submission_metadata.yml"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class Submitter:
    id: str
    name: str = ""
    email: str = ""


@dataclass
class Entry:
    """One submission of the class folder."""

    student: str
    """The output folder's name: a safe path component, unique in the batch."""
    path: Path
    submitters: list[Submitter]
    fingerprint: dict = field(default_factory=dict)
    submitted_at: datetime | None = None
    """When it was submitted (Gradescope's export, or a CSV of times), for the late policy."""


def safe_name(text: str) -> str:
    """``text`` as one harmless path component: no separators, no leading dot, never empty."""
    name = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", str(text).strip())).lstrip(".")[:100]
    return name or "_"


@dataclass
class ClassFolder:
    """What a class folder holds: the submissions to grade, notes, and what is not graded with the reason."""

    entries: list[Entry]
    notes: list[str]
    not_graded: list[tuple[str, str]]
    """(entry name, why it is not graded): shown by ``grader batch`` and written to ``not_graded.csv``."""


def discover(folder: Path, out: Path | None = None) -> ClassFolder:
    """The submissions in ``folder`` (sorted by student): one per file, folder or archive at its top.

    A file that can be no submission (``grades.xlsx``) is not graded, and listed with the reason; an
    archive (``alice.zip``) is graded like the folder it holds; a link, a pipe or a device stays in,
    so that grading refuses it in that student's row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"{folder} is not a folder: give the folder holding one file or sub-folder per student, "
            "or a Gradescope export"
        )
    out_resolved = Path(out).resolve() if out is not None else None
    if out_resolved == folder.resolve():
        raise UserError(f"--out {out} is the submissions folder itself: write the results somewhere else")
    metadata_path = folder / GRADESCOPE_METADATA
    metadata = read_gradescope_metadata(metadata_path) if metadata_path.is_file() else None
    times = read_gradescope_times(metadata_path) if metadata_path.is_file() else {}
    found = ClassFolder([], [], [])
    for item in sorted(folder.iterdir()):
        if item.name.startswith(".") or item.name in IGNORED_FOLDERS or item.name == GRADESCOPE_METADATA:
            continue
        if out_resolved is not None and (out_resolved == item.resolve() or out_resolved.is_relative_to(item.resolve())):
            continue
        key = _student_key(item, found.not_graded)
        if key is None:
            continue
        if metadata is not None and item.name in metadata:
            submitters = metadata[item.name] or [Submitter(key)]
        else:
            if metadata is not None:
                found.notes.append(f"{item.name} is not in {GRADESCOPE_METADATA}: graded as student {key!r}")
            submitters = [Submitter(key)]
        found.entries.append(Entry(safe_name(submitters[0].id), item, submitters, submitted_at=times.get(item.name)))
    if metadata is not None:
        missing = sorted(set(metadata) - {e.path.name for e in found.entries})
        if missing:
            found.notes.append(
                f"{GRADESCOPE_METADATA} lists {len(missing)} submission(s) with no folder: {', '.join(missing[:5])}"
            )
    if not found.entries:
        raise UserError(
            f"{folder} holds no submissions: expected one .py or .ipynb file, archive or sub-folder per student"
            f" (or a Gradescope export with its {GRADESCOPE_METADATA})"
        )
    found.entries.sort(key=lambda e: (e.student.lower(), e.path.name))
    _make_unique(found.entries, found.notes)
    return found


def _student_key(item: Path, not_graded: list[tuple[str, str]]) -> str | None:
    """The student id ``item``'s name gives, or None (with the reason in ``not_graded``) if it is no submission."""
    kind = file_kind(item)
    if kind == "file" and is_archive(item):
        return archive_stem(item.name)
    if kind == "file" and item.suffix.lower() not in SUBMISSION_SUFFIXES:
        not_graded.append(
            (
                item.name,
                "neither a .py, a .ipynb, nor an archive (.zip, .tar.gz) of one: grade it by hand, or ask "
                "the student to submit again",
            )
        )
        return None
    return item.stem if item.suffix.lower() in SUBMISSION_SUFFIXES else item.name


def _make_unique(entries: list[Entry], notes: list[str]) -> None:
    """Two submissions with the same student id (alice.py and alice.ipynb) get alice and alice-2.

    The batch's own files are taken too: a student called summary.html gets summary.html-2.
    """
    taken = {"gradebook.csv", "summary.html", "release", "not_graded.csv"}
    for entry in entries:
        name, number = entry.student, 1
        while name.lower() in taken:
            number += 1
            name = f"{entry.student}-{number}"
        if name != entry.student:
            notes.append(
                f"{entry.path.name}: student {entry.student!r} has another submission; its results are in {name}/"
            )
        entry.student = name
        taken.add(name.lower())


class _MetadataLoader(yaml.SafeLoader):
    """Safe YAML that reads Ruby-tagged values (``!ruby/object:...``) as their plain mapping, list or text."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MetadataLoader.add_multi_constructor("!", _untagged)


def read_gradescope_metadata(path: Path) -> dict[str, list[Submitter]]:
    """``submission_metadata.yml``: {submission folder name: its submitters}.

    Gradescope writes Ruby-symbol keys (``:submitters:``, ``:name:``); plain
    keys (``submitters:``) are read the same.
    """
    metadata = {}
    for folder, info in _metadata(path).items():
        info = _plain_keys(info)
        people = info.get("submitters") if isinstance(info, dict) else None
        submitters = []
        for person in people if isinstance(people, list) else []:
            person = _plain_keys(person)
            if not isinstance(person, dict):
                continue
            name, email = _text(person.get("name")), _text(person.get("email"))
            ident = _text(person.get("sid")) or email or name
            if ident:
                submitters.append(Submitter(ident, name, email))
        metadata[str(folder)] = submitters
    return metadata


def read_gradescope_times(path: Path) -> dict[str, datetime]:
    """``submission_metadata.yml``: {submission folder name: when it was submitted (``:created_at:``)}."""
    times = {}
    for folder, info in _metadata(path).items():
        created = _plain_keys(info).get("created_at") if isinstance(info, dict) else None
        if created is not None:
            times[str(folder)] = aware(created, f"{path}: {folder}'s created_at")
    return times


def _metadata(path: Path) -> dict:
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_MetadataLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not readable YAML ({error}); re-download the Gradescope export") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of submission folders to their metadata")
    return data


def _plain_keys(value):
    return {str(k).strip(":"): v for k, v in value.items()} if isinstance(value, dict) else value


def _text(value) -> str:
    return "" if value is None else str(value).strip()
