"""A homework's handouts in ``dist/<hw>/``: the module and the notebook, for students and with the solution."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.authoring.module import build_module
from grader.authoring.notebook import notebook_from_module
from grader.files import write_atomic
from grader.homework.manifest import Manifest


def build(manifest: Manifest, dist_dir: Path, *, source_paths: Sequence[Path] | None = None) -> dict[str, Path]:
    """Write the student and solution handouts under ``dist_dir/<hw>/``; returns the paths written.

    Keys: "student_module", "student_notebook", "solution_module", "solution_notebook".
    Each file is replaced atomically; nothing else is written to ``student/``.
    """
    import nbformat

    written = {}
    for variant, solution in (("student", False), ("solution", True)):
        folder = Path(dist_dir) / manifest.id / variant
        folder.mkdir(parents=True, exist_ok=True)
        module = build_module(manifest, solution, source_paths=source_paths)
        notebook = nbformat.writes(notebook_from_module(manifest, module)) + "\n"
        written[f"{variant}_module"] = write_atomic(folder / f"{manifest.id}.py", module)
        written[f"{variant}_notebook"] = write_atomic(folder / f"{manifest.id}.ipynb", notebook)
    return written
