"""``grader build <hw>``: everything a homework hands out, in ``dist/<hw>/``.

- ``student/``: the blanked handout (``<hw>.py`` and ``<hw>.ipynb``) and the
  students' visible checker ``check_<hw>.py`` (numpy only, no solution inside);
- ``solution/``: the same handout with the reference bodies;
- ``samples/``: the sample submissions of ``samples/samples.toml``;
- ``autograder.zip``: the Gradescope autograder (:mod:`grader.gradescope`).

The folder is built beside ``dist/<hw>/`` and swapped in at the end, so a
build that fails leaves the previous one whole, and no file of an older
build (a renamed handout, a removed sample) lingers in the new one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.authoring.checker import answer_by_answer, record_visible_cases, write_checker
from grader.authoring.handout import build as build_handouts
from grader.gradescope.autograder_zip import build_autograder_zip
from grader.homework import samples
from grader.homework.manifest import Manifest


def build_homework(manifest: Manifest, dist: Path, notes: list[str] | None = None) -> dict[str, Path]:
    """Write every artefact of ``manifest`` as ``dist/<hw>/``; returns {what: path}.

    ``notes`` receives what the instructor should know: the visible tests the students' checker can
    only compare answer by answer (each with why).
    """
    dist = Path(dist)
    dist.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dist, prefix=f".{manifest.id}.building."))
    try:
        written = _build_into(manifest, staging, notes if notes is not None else [])
        final, previous = dist / manifest.id, staging / "previous"
        if final.exists():
            os.rename(final, previous)
        os.rename(staging / manifest.id, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {what: final / path.relative_to(staging / manifest.id) for what, path in written.items()}


def _build_into(manifest: Manifest, dist: Path, notes: list[str]) -> dict[str, Path]:
    written = build_handouts(manifest, dist)
    with tempfile.TemporaryDirectory(prefix="nn-grader-build-") as workdir:
        cases = record_visible_cases(manifest, Path(workdir))
    notes += [f"the students' checker compares {line}" for line in answer_by_answer(cases)]
    written["student_checker"] = write_checker(manifest, written["student_module"].parent, cases)
    sample_files = samples.write(manifest, dist / manifest.id / "samples")
    if sample_files:
        written["samples"] = next(iter(sample_files.values())).parent
    written["autograder_zip"] = build_autograder_zip(manifest, dist)
    return written
