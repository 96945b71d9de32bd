"""Where homeworks live: course folders.

A course folder is the instructor's own repository, laid out as this project is::

    <course>/assignments/<hw>/     manifest.toml, narrative.md, mistakes.toml, tests/, samples/
    <course>/reference/<source>.py the solution modules the manifests' ``sources`` name

A homework id is looked up, in order, in

1. the course folder named by ``--course DIR`` (every command takes it; it sets the variable
   below for the processes the command starts) or, without it, the folders the environment
   variable ``NN_GRADER_COURSE`` names (several separated by ``os.pathsep``, ``:`` on Linux);
2. the project's own folder, when it holds ``assignments/``: a clone of this repository, used
   directly or installed with ``pip install -e``. A plain ``pip install`` copies only the Python
   packages into site-packages, so there the course folders are all there is.

The first folder holding ``assignments/<hw>/manifest.toml`` wins, so a course's homework hides the
project's homework of the same id. A homework named by its folder (``grader validate path/to/hw``)
is not looked up; its course is the folder above its ``assignments/`` folder, if it is in one.

A homework's sources are found in its course's ``reference/`` first, then in the project's
``reference/``: a course's homework may hand out pieces of the engine too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UserError
from grader.paths import PROJECT_ROOT, REFERENCE_DIR

ENVIRONMENT = "NN_GRADER_COURSE"


@dataclass(frozen=True)
class Course:
    root: Path
    origin: str
    """Where the grader learned of it: ``NN_GRADER_COURSE`` (or ``--course``) or ``the project``."""

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    def homework(self, assignment: str) -> Path | None:
        folder = self.assignments / assignment
        return folder if (folder / "manifest.toml").is_file() else None

    def ids(self) -> list[str]:
        return sorted(path.parent.name for path in self.assignments.glob("*/manifest.toml"))


def use(folder: Path | str) -> None:
    """``--course DIR``: search ``folder`` instead of ``NN_GRADER_COURSE``'s folders, in this process and in
    every process it starts (batch's workers, the sandbox's hiding)."""
    os.environ[ENVIRONMENT] = str(_checked(Path(folder), "--course"))


def courses() -> list[Course]:
    """The course folders searched, in order: the named ones, then the project's, if it has homeworks."""
    found: list[Course] = []
    named = [(_checked(Path(entry), ENVIRONMENT), ENVIRONMENT) for entry in _named_in_environment()]
    for root, origin in [*named, (PROJECT_ROOT.resolve(), "the project")]:
        if (root / "assignments").is_dir() and all(course.root != root for course in found):
            found.append(Course(root, origin))
    return found


def find(assignment: str) -> Path | None:
    """The folder of the homework ``assignment`` (an id), from the first course that has it."""
    for course in courses():
        folder = course.homework(assignment)
        if folder is not None:
            return folder
    return None


def course_of(homework: Path) -> Path | None:
    """The course folder ``homework`` belongs to: the folder above its ``assignments/``; None if in none."""
    homework = Path(homework).resolve()
    return homework.parent.parent if homework.parent.name == "assignments" else None


def source_path(name: str, course: Path | None) -> Path | None:
    """The file of the source module ``name``: ``<course>/reference/<name>.py``, else the project's; None if neither."""
    folders = ([Path(course) / "reference"] if course is not None else []) + [REFERENCE_DIR]
    for folder in folders:
        path = folder / f"{name}.py"
        if path.is_file():
            return path
    return None


def source_folders(course: Path | None) -> str:
    """Where :func:`source_path` looks, for messages."""
    folders = ([Path(course) / "reference"] if course is not None else []) + [REFERENCE_DIR]
    return " or ".join(f"{folder}/" for folder in dict.fromkeys(folders))


def searched() -> str:
    """Where homework ids are looked up, for messages: the course folders, or what to do without one."""
    found = courses()
    if not found:
        return f"no course folder: give one with --course DIR or {ENVIRONMENT}"
    return "looked in " + ", ".join(f"{course.assignments}/" for course in found)


def _named_in_environment() -> list[str]:
    return [entry for entry in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if entry.strip()]


def _checked(folder: Path, where: str) -> Path:
    root = folder.expanduser().resolve()
    if not (root / "assignments").is_dir():
        raise UserError(
            f"{where}: {folder} is not a course folder: it has no assignments/ folder "
            "(a course holds assignments/<hw>/manifest.toml and reference/<source>.py)"
        )
    return root
