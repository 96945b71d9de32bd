"""The autograder zip for Gradescope, and whether the homework fits Gradescope's container.

Gradescope's specification (``gradescope/autograder_samples``, ``docs/specs.md``): the zip holds
``setup.sh`` and ``run_autograder`` at its root; "/autograder/source contains the extracted
contents of your autograder zip file"; ``run_autograder`` is copied to ``/autograder/run_autograder``;
``setup.sh`` runs once, as root, while the image is built.

:func:`build_autograder_zip` writes ``dist/<hw>/autograder.zip``, whose root is what lands in
``/autograder/source``::

    setup.sh              a Python >= 3.11; a venv with the dependencies only; then ``grader gradescope self-test``
    run_autograder        ``grader gradescope run`` in that venv (a 0 saying so if the grader cannot start)
    grader_config.json    {"assignment": "<hw>"}, and "course": "course" for a homework of a course folder
    pyproject.toml, README.md, reference/, grader/, templates/, assignments/<hw>/

A homework of a course folder outside the project (:mod:`grader.homework.course`) travels as a
course of its own instead of ``assignments/<hw>/``: ``course/assignments/<hw>/`` and the sources it
takes from the course's ``reference/`` in ``course/reference/``. ``grader gradescope run`` searches
that course first, as ``--course`` would.

The two scripts are rendered from ``templates/gradescope/``; environment variables (documented in
them) let the project's tests run them outside Gradescope, with defaults that are Gradescope's
paths. The project itself is *not* pip-installed: it is imported from ``/autograder/source``
(``PYTHONPATH``), which ``grader gradescope run`` makes readable by root only. An installed copy in
the venv's site-packages would be readable by the sandbox's user wherever the sandbox cannot hide
it (no mount namespace). :func:`container_warnings` compares the manifest's ``[limits]`` with the
container of its ``[gradescope]`` table; ``grader build`` prints them.
"""

from __future__ import annotations

import io
import json
import re
import stat
import tomllib
import zipfile
from pathlib import Path

from grader.errors import UserError
from grader.files import render, write_atomic
from grader.homework import manifest as manifests
from grader.paths import PROJECT_ROOT

CONFIG_NAME = "grader_config.json"
COURSE_FOLDER = "course"  # in the zip: the course of a homework from outside the project
VENV = "/opt/nn-grader-venv"
PROJECT_FILES = ("pyproject.toml", "README.md")
PROJECT_FOLDERS = ("reference", "grader", "templates")
EXCLUDED_PARTS = frozenset({"__pycache__", ".ipynb_checkpoints", "dist"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the same project gives the same zip
SCRIPTS = {"setup.sh": "gradescope/setup.sh.j2", "run_autograder": "gradescope/run_autograder.j2"}
# What run_autograder writes when the grader cannot even start (no venv: setup.sh failed?).
NO_GRADER_RESULT = {
    "score": 0,
    "execution_time": 0,
    "output": "autograder error: the grader could not start. This is not a verdict on your code; ask your instructor.",
    "output_format": "text",
    "visibility": "visible",
    "stdout_visibility": "hidden",
    "extra_data": {"autograder_error": True},
    "tests": [],
}


def python_minimum() -> tuple[int, int]:
    """The oldest Python the project runs on: pyproject.toml's ``requires-python = ">=X.Y"``."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as f:
        requirement = tomllib.load(f)["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", requirement)
    if not match:
        raise UserError(f'pyproject.toml: requires-python = {requirement!r}; setup.sh understands only ">=X.Y"')
    return int(match[1]), int(match[2])


def render_scripts(manifest: manifests.Manifest) -> dict[str, str]:
    """setup.sh and run_autograder for ``manifest``, from ``templates/gradescope/``."""
    minimum = python_minimum()
    fallback = json.dumps(NO_GRADER_RESULT)
    assert "'" not in fallback  # run_autograder prints it between single quotes
    context = {
        "assignment": manifest.id,
        "venv": VENV,
        "python_minimum": "{}.{}".format(*minimum),
        "python_minimum_tuple": "{}, {}".format(*minimum),
        "fallback_json": fallback,
    }
    return {name: render(template, **context) for name, template in SCRIPTS.items()}


def in_project(manifest: manifests.Manifest) -> bool:
    """Whether the homework is the project's own (``assignments/<hw>/`` of this repository)."""
    return manifest.folder.resolve() == (PROJECT_ROOT / "assignments" / manifest.id).resolve()


def _project_files(manifest: manifests.Manifest) -> list[tuple[str, Path]]:
    """(name in the zip, file on disk) of the project copy at the zip's root: never tests/, dist/, .git.

    The homework's own files go to ``assignments/<hw>/``, or for a homework from a course folder,
    with the sources it takes from the course, to ``course/`` (see the module's docstring).
    """
    files = [(name, PROJECT_ROOT / name) for name in PROJECT_FILES if (PROJECT_ROOT / name).is_file()]
    for folder in [PROJECT_ROOT / name for name in PROJECT_FOLDERS]:
        files += [(path.relative_to(PROJECT_ROOT).as_posix(), path) for path in _kept_files(folder)]
    homework = f"assignments/{manifest.id}" if in_project(manifest) else f"{COURSE_FOLDER}/assignments/{manifest.id}"
    files += [
        (f"{homework}/{path.relative_to(manifest.folder).as_posix()}", path) for path in _kept_files(manifest.folder)
    ]
    if not in_project(manifest):
        for path in manifest.source_paths:
            if manifest.course is not None and path.is_relative_to(manifest.course / "reference"):
                files.append((f"{COURSE_FOLDER}/{path.relative_to(manifest.course).as_posix()}", path))
    return files


def _kept_files(folder: Path) -> list[Path]:
    """The files of ``folder`` a zip takes: no hidden or build folders, no compiled Python."""
    return [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(part.startswith(".") or part in EXCLUDED_PARTS for part in path.relative_to(folder).parts)
        and path.suffix not in EXCLUDED_SUFFIXES
    ]


def build_autograder_zip(manifest: manifests.Manifest, dist_dir: Path) -> Path:
    """Write ``dist_dir/<hw>/autograder.zip`` (atomically) for Gradescope; returns its path.

    The zip's root is what Gradescope unpacks into ``/autograder/source``: ``setup.sh`` and
    ``run_autograder`` (mode 0755), ``grader_config.json``, and the project files the grader needs,
    with only this homework's folder (its hidden tests included: the zip is the instructor's
    upload, never the students').
    """
    target = Path(dist_dir) / manifest.id / "autograder.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    config = (
        {"assignment": manifest.id} if in_project(manifest) else {"assignment": manifest.id, "course": COURSE_FOLDER}
    )
    entries = [(name, text.encode(), 0o755) for name, text in render_scripts(manifest).items()]
    entries.append((CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode(), 0o644))
    entries += [(name, path.read_bytes(), 0o644) for name, path in _project_files(manifest)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix: unzip honours the mode bits below
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    write_atomic(target, buffer.getvalue())
    return target


# ----- does the homework fit Gradescope's container? ----------------------------------------------------
# The container's memory the grader needs beside one sandbox process: its own process (about 50 MB
# measured), the sandbox's loaded copy of the submission (about 30 MB), and room to spare.
GRADER_MEMORY_MB = 256
# Starting Python, pytest and the homework's tests in the container, on half a CPU, generously.
START_SECONDS = 30


def worst_case_seconds(manifest: manifests.Manifest) -> float:
    """The longest grading of one submission whose every function times out.

    A function that timed out is not run again, so each function costs one ``call_seconds`` at most;
    each time-out restarts the sandbox, which loads the submission again (``load_seconds``). Not
    counted: a submission whose every call takes just under ``call_seconds`` (hw1 makes 42 calls).
    """
    limits, functions = manifest.limits, len(manifest.functions)
    return START_SECONDS + limits.load_seconds * (functions + 1) + limits.call_seconds * functions


def container_warnings(manifest: manifests.Manifest) -> list[str]:
    """Where the manifest's ``[limits]`` exceed the container of its ``[gradescope]`` table, one line each."""
    limits, container = manifest.limits, manifest.gradescope
    warnings = []
    room = container.memory_mb - GRADER_MEMORY_MB
    if limits.memory_mb > room:
        warnings.append(
            f"[limits] memory_mb = {limits.memory_mb} lets student code take more memory than Gradescope's "
            f"container has ({container.memory_mb} MB, of which the grader needs about {GRADER_MEMORY_MB}): "
            f"lower it to {max(room, 0)}, or give the container {limits.memory_mb + GRADER_MEMORY_MB} MB "
            "in Gradescope's Autograder Settings and in [gradescope] memory_mb"
        )
    seconds = worst_case_seconds(manifest)
    if seconds > container.timeout_minutes * 60:
        warnings.append(
            f"grading one submission can take {seconds:g} s (load_seconds once, then call_seconds and a reload "
            f"for each of the {len(manifest.functions)} functions, when all time out) but Gradescope stops "
            f"it after {container.timeout_minutes:g} minutes with a 0 and no breakdown: lower [limits] "
            "call_seconds or load_seconds, or raise the timeout in Gradescope's Autograder Settings and in "
            "[gradescope] timeout_minutes"
        )
    return warnings
