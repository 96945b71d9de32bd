"""The students' checker agrees with grading: the same score for every visible test, on every submission known.

The checker repeats what the visible tests check (grader/authoring/checker.py); whether it repeats all of it
is proven here the only way it can be: by running the built checker, as a student does, on the solution, the
blank handout, every sample and every catalogued mistake, and comparing each visible test's score with the
score grading gave it. A test whose verdict comes from code of its own, or from the reference applied to the
student's answers, shows up as a disagreement, named with the submission and both scores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.authoring.checker import record_visible_cases, write_checker
from grader.authoring.module import build_module
from grader.files import write_atomic
from grader.homework import samples
from grader.homework.manifest import Manifest
from grader.outputs.results import GradingResult

CHECK_SECONDS = 600
"""The longest one run of the checker may take before it counts as a disagreement."""


def build_checker(manifest: Manifest, folder: Path) -> Path:
    """The students' checker of ``manifest``, built into ``folder`` as ``grader build`` builds it."""
    cases = record_visible_cases(manifest, Path(tempfile.mkdtemp(dir=folder, prefix="record-")))
    return write_checker(manifest, Path(folder), cases)


def known_submissions(manifest: Manifest, mistakes: list, folder: Path) -> dict[str, Path]:
    """The solution, the blank handout, every catalogued mistake (``mistakes``, as grader validate loads them)
    and every sample, each written as a file under ``folder``, by its label."""
    module = f"{manifest.id}.py"
    files = {
        "the solution": write_atomic(folder / "solution" / module, build_module(manifest, solution=True)),
        "the blank handout": write_atomic(folder / "blank" / module, build_module(manifest, solution=False)),
    }
    for number, mistake in enumerate(mistakes, 1):
        sample = samples.Sample(file=f"mistake_{number}.py", about=mistake.about, score=0, edits=mistake.edits)
        files[f"mistake {number}"] = write_atomic(
            folder / f"mistake_{number}" / module, samples.derive(manifest, sample)
        )
    for sample in samples.load(manifest):
        name = f"{manifest.id}{Path(sample.file).suffix}"
        files[f"sample {sample.file}"] = write_atomic(
            folder / "samples" / Path(sample.file).stem / name, samples.derive(manifest, sample)
        )
    return files


class Checking:
    """The checker run on each submission in the background (``workers`` at a time), from the moment it is made.

    ``with Checking(checker, {label: path}) as checking: ...`` then ``checking.disagreements(graded)``: grading
    can go on in the meantime. The runs are started by a process of their own (:func:`main`), so this process
    only starts that one, before grading begins: no process is spawned here while grading forks and spawns.
    """

    def __init__(self, checker: Path, submissions: dict[str, Path], workers: int = 2):
        self._folder = tempfile.TemporaryDirectory(prefix="nn-grader-agreement-")
        out = Path(self._folder.name)
        self._labels = list(submissions)
        self._results = out / "checked.json"
        jobs = {"checker": str(checker), "workers": workers, "submissions": [str(p) for p in submissions.values()]}
        (out / "jobs.json").write_text(json.dumps(jobs))
        self._runner = subprocess.Popen(
            [sys.executable, "-m", "grader.authoring.agreement", str(out / "jobs.json"), str(self._results)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: ending it ends the checkers it runs
        )
        self._checked: list | None = None

    def __enter__(self) -> Checking:
        return self

    def __exit__(self, *exc) -> None:
        if self._runner.poll() is None:  # grading failed before the runs were read: they are of no more use
            os.killpg(self._runner.pid, signal.SIGKILL)
        self._runner.wait()
        self._runner.stderr.close()
        self._folder.cleanup()

    def _all_checked(self) -> list:
        """Each submission's checker scores (or what went wrong), in the order given."""
        if self._checked is None:
            _, errors = self._runner.communicate()
            if self._runner.returncode != 0 or not self._results.is_file():
                failure = f"the checker runs failed: {errors.strip()[-500:]}"
                self._checked = [failure] * len(self._labels)
            else:
                self._checked = json.loads(self._results.read_text())
        return self._checked

    def disagreements(self, graded: dict[str, GradingResult]) -> list[str]:
        """Every visible test where the checker's score differs from grading's: "submission: test: grading g,
        the checker c". ``graded``: each submission's grading (all tests or the visible ones), by its label."""
        found, checked_by_label = [], dict(zip(self._labels, self._all_checked()))
        for label, result in graded.items():
            checked = checked_by_label[label]
            if isinstance(checked, str):
                found.append(f"{label}: {checked}")
                continue
            for test in result.tests:
                mine = checked.get(test.name)
                if not test.hidden and (mine is None or abs(mine - test.score) > 1e-6):
                    shown = "no score" if mine is None else f"{mine:g}"
                    found.append(f"{label}: {test.name}: grading {test.score:g}, the checker {shown}")
        return found


def _checked(checker: Path, submission: Path, out: Path) -> dict[str, float] | str:
    """The checker's score of each test on ``submission``, or what went wrong running it."""
    try:
        run = subprocess.run(
            [sys.executable, str(checker), str(submission), "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=CHECK_SECONDS,
            cwd=out.parent,
        )
    except subprocess.TimeoutExpired:
        return f"the checker did not finish within {CHECK_SECONDS} s"
    if run.returncode != 0 or not out.is_file():
        return f"the checker failed: {(run.stderr or run.stdout).strip()[-500:]}"
    return {test["name"]: test["score"] for test in json.loads(out.read_text())["tests"]}


def main(jobs_file: str, results_file: str) -> None:
    """Run the checker of ``jobs_file`` on each of its submissions, ``workers`` at a time; write each one's
    scores (or what went wrong) to ``results_file``, in the submissions' order."""
    jobs = json.loads(Path(jobs_file).read_text())
    out = Path(results_file).parent
    with ThreadPoolExecutor(jobs["workers"]) as pool:
        runs = [
            pool.submit(_checked, Path(jobs["checker"]), Path(path), out / f"{number}.json")
            for number, path in enumerate(jobs["submissions"])
        ]
        write_atomic(Path(results_file), json.dumps([run.result() for run in runs]))


if __name__ == "__main__":
    main(*sys.argv[1:3])
