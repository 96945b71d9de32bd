"""A homework's description: ``assignments/<hw>/manifest.toml``.

Example::

    id = "hw1_backprop"
    title = "Homework 1: backpropagation by hand"
    narrative = "narrative.md"     # Markdown with the lecture's math, beside the manifest
    sources = ["backprop"]          # reference modules that make up the handout, in order
    packages = ["numpy", "matplotlib"]   # what a submission may import besides the standard library (the default)

    [limits]                        # every key optional; these are the defaults
    call_seconds = 10               # wall time of one call into student code
    load_seconds = 20               # wall time to load the submission
    cpu_seconds = 60                # CPU time of one sandbox process
    memory_mb = 512                 # address space of one sandbox process (RLIMIT_AS)
    output_kb = 256                 # printed output kept per process
    processes = 32                  # processes and threads of the sandbox user

    [gradescope]                    # the container chosen in Gradescope's "Autograder Settings";
    memory_mb = 768                 #   the defaults are Gradescope's: 768 MB of memory,
    timeout_minutes = 10            #   10 minutes for one submission (at most 40)

    [[tasks]]
    id = "1.1"
    function = "forward_pass"       # a top-level function of one of the sources
    points = 4                      # must equal the points of the tests charged to it
    title = "Forward computation"
    uses = []                       # other tasks' functions it calls, whose mistakes may cost it too

Visible tests live in ``tests/visible/``, hidden ones in ``tests/hidden/``;
sample submissions in ``samples/``. A homework is found by its id in the course
folders (:mod:`grader.homework.course`); its sources in its course's
``reference/``, then in the project's.

``[limits]`` bound student code on every machine that grades. ``[gradescope]``
describes the container Gradescope grades in, so ``grader build`` can warn when
the limits do not fit it (:func:`grader.gradescope.autograder_zip.container_warnings`): one
sandbox process may use ``memory_mb`` of address space beside the grader's own
memory, and a submission that times out in every function must still finish
within ``timeout_minutes``, or Gradescope stops it and the student gets a 0
with no breakdown. Set them to what the assignment's Autograder Settings say.
A sandbox process with numpy imported that grades hw1 needs about 100 MiB of
address space (its VmPeak, as ``benchmarks/bench_memory.py`` measures), hence
the default 512.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UserError
from grader.homework import course as courses
from grader.homework.deadline import LatePolicy, read_policy
from grader.paths import REFERENCE_DIR


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 10.0
    load_seconds: float = 20.0
    cpu_seconds: int = 60
    memory_mb: int = 512
    output_kb: int = 256
    processes: int = 32


# Gradescope's documented limits (autograder_samples docs/troubleshooting.md).
GRADESCOPE_MAX_TIMEOUT_MINUTES = 40


@dataclass(frozen=True)
class GradescopeContainer:
    """The container of a Gradescope assignment, as its Autograder Settings set it; the defaults are Gradescope's."""

    memory_mb: int = 768
    timeout_minutes: float = 10.0


@dataclass(frozen=True)
class Task:
    id: str
    function: str
    points: float
    title: str = ""
    uses: tuple[str, ...] = ()
    """Other tasks' functions this one calls (``backward`` uses ``topological_order``): a mistake in
    them may cost this one's points too, and ``grader validate`` accepts that."""


# Students plot loss curves in their notebooks: matplotlib imports, and draws to nothing, when grading.
DEFAULT_PACKAGES = ("numpy", "matplotlib")


@dataclass(frozen=True)
class Manifest:
    id: str
    title: str
    folder: Path
    sources: tuple[str, ...]
    tasks: tuple[Task, ...]
    narrative: str = ""
    limits: Limits = field(default_factory=Limits)
    gradescope: GradescopeContainer = field(default_factory=GradescopeContainer)
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    """What a submission may import besides the standard library (the sandbox refuses anything else, clearly)."""
    deadline: LatePolicy | None = None
    """The late policy (``[deadline]``, see grader/homework/deadline.py); None: no lateness is counted."""
    course: Path | None = None
    """The course folder the homework is in (the folder above its ``assignments/``); None for a folder in none."""

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(task.function for task in self.tasks)

    @property
    def max_score(self) -> float:
        return sum(task.points for task in self.tasks)

    @property
    def source_paths(self) -> list[Path]:
        """The files of the sources: in the course's ``reference/`` first, then in the project's."""
        return [courses.source_path(name, self.course) or REFERENCE_DIR / f"{name}.py" for name in self.sources]

    def tests_dir(self, visibility: str) -> Path:
        return self.folder / "tests" / visibility

    @property
    def samples_dir(self) -> Path:
        return self.folder / "samples"


def available() -> list[str]:
    """The ids of every homework in the course folders."""
    return sorted({name for course in courses.courses() for name in course.ids()})


def of(assignment: str | Path | Manifest) -> Manifest:
    """``assignment``'s manifest: itself if it is one (a batch reads its homework's once, not per submission)."""
    return assignment if isinstance(assignment, Manifest) else load(assignment)


def load(assignment: str | Path) -> Manifest:
    """Read and check the manifest of ``assignment`` (a homework id, looked up in the course folders, or a folder)."""
    folder = Path(assignment) if Path(assignment).is_dir() else courses.find(str(assignment))
    if folder is None:
        known = ", ".join(available()) or "none yet"
        raise UserError(f"no homework named {assignment!r} ({courses.searched()}; known homeworks: {known})")
    path = folder / "manifest.toml"
    if not path.is_file():
        raise UserError(f"{folder} is not a homework: it has no manifest.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None
    require = _requirer(path)
    limits_table = data.get("limits", {})
    unknown = set(limits_table) - set(Limits.__dataclass_fields__)
    if unknown:
        raise UserError(
            f"{path}: unknown [limits] keys {sorted(unknown)}; known: {sorted(Limits.__dataclass_fields__)}"
        )
    manifest = Manifest(
        id=require(data, "id", str, "the top level"),
        title=require(data, "title", str, "the top level"),
        folder=folder.resolve(),
        sources=tuple(require(data, "sources", list, "the top level")),
        tasks=_tasks(data, path),
        narrative=data.get("narrative", ""),
        limits=Limits(**limits_table),
        gradescope=_gradescope_container(data.get("gradescope", {}), path),
        packages=_packages(data, path),
        deadline=read_policy(data["deadline"], path) if "deadline" in data else None,
        course=courses.course_of(folder),
    )
    for name in manifest.sources:
        if courses.source_path(name, manifest.course) is None:
            raise UserError(
                f"{path}: source {name!r} is not a module of {courses.source_folders(manifest.course)} "
                f"(no {name}.py there)"
            )
    return manifest


def _requirer(path: Path):
    """``require(table, key, kind, where)``: the value, or a UserError naming the manifest, the place and the key."""

    def require(table: dict, key: str, kind: type, where: str):
        if key not in table:
            raise UserError(f"{path}: {where} is missing the key {key!r}")
        if not isinstance(table[key], kind):
            raise UserError(f"{path}: {where} key {key!r} must be a {kind.__name__}, got {table[key]!r}")
        return table[key]

    return require


def _tasks(data: dict, path: Path) -> tuple[Task, ...]:
    """The ``[[tasks]]``: at least one, each function once, each ``uses`` naming other tasks."""
    require = _requirer(path)
    tasks = []
    for index, entry in enumerate(data.get("tasks", [])):
        where = f"[[tasks]] number {index + 1}"
        tasks.append(
            Task(
                str(require(entry, "id", (str, int, float), where)),
                require(entry, "function", str, where),
                float(require(entry, "points", (int, float), where)),
                entry.get("title", ""),
                tuple(require(entry, "uses", list, where)) if "uses" in entry else (),
            )
        )
    if not tasks:
        raise UserError(f"{path}: a homework needs at least one [[tasks]] entry naming a function students implement")
    names = [task.function for task in tasks]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: a function is listed twice in [[tasks]]: {names}")
    for task in tasks:
        unknown_uses = [name for name in task.uses if name not in names or name == task.function]
        if unknown_uses:
            raise UserError(f"{path}: task {task.id} ({task.function}) uses {unknown_uses}, which are not other tasks")
    return tuple(tasks)


def _packages(data: dict, path: Path) -> tuple[str, ...]:
    """``packages = ["numpy", ...]``: the importable names besides the standard library; numpy always."""
    packages = data.get("packages", list(DEFAULT_PACKAGES))
    if not isinstance(packages, list) or not all(isinstance(p, str) and p.isidentifier() for p in packages):
        raise UserError(f'{path}: packages must be a list of importable names, e.g. ["numpy", "matplotlib"]')
    return tuple(dict.fromkeys(["numpy", *packages]))


def _gradescope_container(table: dict, path: Path) -> GradescopeContainer:
    """The ``[gradescope]`` table, checked: known keys, positive numbers, a timeout Gradescope allows."""
    known = sorted(GradescopeContainer.__dataclass_fields__)
    if not isinstance(table, dict) or set(table) - set(known):
        raise UserError(f"{path}: [gradescope] takes only the keys {known}")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise UserError(f"{path}: [gradescope] {key} must be a positive number, got {value!r}")
    container = GradescopeContainer(**table)
    if container.timeout_minutes > GRADESCOPE_MAX_TIMEOUT_MINUTES:
        raise UserError(
            f"{path}: [gradescope] timeout_minutes = {container.timeout_minutes:g} is more than Gradescope "
            f"allows ({GRADESCOPE_MAX_TIMEOUT_MINUTES} minutes)"
        )
    return container
