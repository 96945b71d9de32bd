"""The students' checker as a student runs it: Python and numpy, nothing of the project's, its own code at risk."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.grading.grade import grade

HW = "hw1_backprop"
# What a student's machine has not got: the project (its grader and reference) and the project's other dependencies.
ABSENT = ["grader", "reference", "pytest", "_pytest", "pluggy", "jinja2", "markupsafe", "pandas", "nbformat"]
ABSENT += ["nbconvert", "tqdm", "yaml", "matplotlib"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "build", HW, "--dist", str(folder)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return folder / HW


def check_on_a_students_machine(checker: Path, submission: Path, tmp_path: Path, env=None, absent=ABSENT) -> dict:
    """Run ``checker`` on ``submission`` where none of ``absent`` can be imported; its results as JSON."""
    results = tmp_path / "results.json"
    script = textwrap.dedent(f"""
        import runpy, sys

        class Absent:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {absent!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (not on a student's machine)")

        sys.meta_path.insert(0, Absent())
        sys.argv = [{str(checker)!r}, {str(submission)!r}, "--json", {str(results)!r}]
        runpy.run_path({str(checker)!r}, run_name="__main__")
    """)
    run = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr + run.stdout
    return json.loads(results.read_text())


def test_the_checker_needs_nothing_but_python_and_numpy(dist, tmp_path):
    result = check_on_a_students_machine(dist / "student" / f"check_{HW}.py", dist / "solution" / f"{HW}.py", tmp_path)
    assert result["score"] == result["max_score"] == 8.5
    assert all(test["status"] == "passed" for test in result["tests"])


def test_plots_draw_to_nothing_whatever_backend_the_students_desktop_sets(dist, tmp_path):
    """A desktop's interactive backend would open a window and wait at show(); the checker, as grading does,
    plots to nothing. The backend set here does not even exist: had the checker used it, pyplot could not load."""
    pytest.importorskip("matplotlib")  # a project dependency: a plotting notebook's cells must run
    submission = tmp_path / f"{HW}.py"
    plotting = "\n\nimport matplotlib.pyplot as plt\n\nplt.plot([0.25, 0.2531])\nplt.show()\n"
    submission.write_text((dist / "solution" / f"{HW}.py").read_text() + plotting)
    desktop = {**os.environ, "MPLBACKEND": "module://a_desktop_window_that_waits"}
    with_matplotlib = [name for name in ABSENT if name != "matplotlib"]
    checker = dist / "student" / f"check_{HW}.py"
    result = check_on_a_students_machine(checker, submission, tmp_path, env=desktop, absent=with_matplotlib)
    assert result["errors"] == [] and result["score"] == result["max_score"]


def test_code_that_ends_its_process_ends_only_its_own_test_as_when_graded(dist, tmp_path):
    """os._exit in one function: that function's test is an error, every other test passes, as in grading."""
    submission = tmp_path / f"{HW}.py"
    solution = (dist / "solution" / f"{HW}.py").read_text()
    ending = solution.replace("    return u * sigmoid(z) * (1.0 - sigmoid(z))", "    import os\n\n    os._exit(3)")
    assert ending != solution
    submission.write_text(ending)
    checked = check_on_a_students_machine(dist / "student" / f"check_{HW}.py", submission, tmp_path)
    graded = grade(submission, HW, visibilities=("visible",))
    assert {t["name"]: t["score"] for t in checked["tests"]} == {t.name: t.score for t in graded.tests}
    broken = next(t for t in checked["tests"] if t["name"].endswith("layer_delta_on_a_small_layer"))
    assert broken["status"] == "error" and "exited with status 3" in broken["message"]


def test_a_submission_that_does_not_load_says_so_as_grader_check_does(dist, tmp_path):
    submission = tmp_path / f"{HW}.py"
    submission.write_text((dist / "solution" / f"{HW}.py").read_text() + "\ndef broken(:\n")
    checked = check_on_a_students_machine(dist / "student" / f"check_{HW}.py", submission, tmp_path)
    graded = grade(submission, HW, visibilities=("visible",))
    assert checked["errors"] == graded.errors
    assert [t["message"] for t in checked["tests"]] == [t.message for t in graded.tests]


def test_the_notebooks_last_cell_checks_the_saved_notebook(dist, tmp_path, monkeypatch, capsys):
    """As Jupyter runs it: the cell's code in the notebook's folder, the checker beside the saved notebook."""
    for source in (dist / "solution" / f"{HW}.ipynb", dist / "student" / f"check_{HW}.py"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    cell = json.loads((tmp_path / f"{HW}.ipynb").read_text())["cells"][-1]
    monkeypatch.chdir(tmp_path)
    exec(compile("".join(cell["source"]), "the last cell", "exec"), {"__name__": "__main__"})
    assert "visible tests: 8.5 / 8.5 points" in capsys.readouterr().out
