"""`grader build`: the handouts and the students' own visible checker, as a student receives them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HW = "hw1_backprop"


@pytest.fixture(scope="module")
def build_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    dist = tmp_path_factory.mktemp("dist")
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "build", HW, "--dist", str(dist)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return dist / HW, run


@pytest.fixture(scope="module")
def dist(build_run) -> Path:
    return build_run[0]


def test_hw1_builds_without_a_warning(build_run):
    """hw1's limits fit Gradescope's default container: `grader build` has nothing to warn about."""
    assert build_run[1].stderr == ""


def run_checker(folder: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, f"check_{HW}.py", *args], cwd=folder, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_student_folder_holds_only_the_handout_and_the_checker(dist):
    assert sorted(p.name for p in (dist / "student").iterdir()) == [f"check_{HW}.py", f"{HW}.ipynb", f"{HW}.py"]


def test_nothing_of_the_hidden_tests_reaches_the_student_folder(dist):
    text = "".join(p.read_text(encoding="utf-8") for p in (dist / "student").iterdir())
    for hidden_test_word in ("random_networks", "on_random", "elementwise_on_a_matrix", "1000 + seed"):
        assert hidden_test_word not in text


def test_nothing_of_the_reference_reaches_the_checker(dist):
    """The checker carries parts of the grader, never the solution: no reference body, no reference import."""
    text = (dist / "student" / f"check_{HW}.py").read_text(encoding="utf-8")
    assert "from reference" not in text and "import reference" not in text
    assert "np.outer(delta, x)" not in text  # layer_gradients' solution body


def test_the_checker_finds_the_module_beside_it_and_gives_the_solution_every_visible_point(dist, tmp_path):
    for name in (f"{HW}.py", f"check_{HW}.py"):
        source = dist / ("solution" if name == f"{HW}.py" else "student") / name
        (tmp_path / name).write_text(source.read_text())
    output = run_checker(tmp_path)
    assert "visible tests: 8.5 / 8.5 points" in output
    assert "all 9 tests passed" in output


def test_the_checker_reports_the_blank_handout_as_not_implemented(dist):
    output = run_checker(dist / "student")
    assert "visible tests: 0 / 8.5 points" in output
    assert "not implemented yet" in output


def test_the_checker_checks_a_file_given_on_the_command_line(dist):
    output = run_checker(dist / "student", str(dist / "solution" / f"{HW}.py"))
    assert "visible tests: 8.5 / 8.5 points" in output


def test_the_checker_reads_a_notebook(dist):
    output = run_checker(dist / "student", str(dist / "solution" / f"{HW}.ipynb"))
    assert "visible tests: 8.5 / 8.5 points" in output


def test_the_checker_says_visible_tests_never_all_tests(dist):
    output = run_checker(dist / "student")
    assert "hidden tests" in output and "all tests" not in output


def test_the_checker_agrees_with_grader_check_on_a_wrong_submission(dist, tmp_path):
    wrong = tmp_path / f"{HW}.py"
    wrong.write_text(
        (dist / "solution" / f"{HW}.py").read_text().replace('"W": np.outer(delta, x)}', '"W": np.outer(x, delta)}')
    )
    grader_check = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(wrong), "--assignment", HW], capture_output=True, text=True
    )
    output = run_checker(dist / "student", str(wrong))
    assert "layer_gradients['W']: expected shape (2, 3), got shape (3, 2)" in output
    # The same summary, line for line, but for the submission's path and the checker's closing note.
    assert grader_check.stdout.strip() in output


def test_the_notebook_runs_the_checker_on_itself_in_its_last_cell(dist):
    notebook = json.loads((dist / "student" / f"{HW}.ipynb").read_text())
    source = "".join(notebook["cells"][-1]["source"])
    assert f"check_{HW}.py" in source and f"{HW}.ipynb" in source


def test_a_rebuild_replaces_the_whole_folder_leaving_no_file_of_the_old_build(tmp_path):
    stale = tmp_path / HW / "student" / "old_handout.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("# from an older build\n")
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "build", HW, "--dist", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert not stale.exists()
    assert (tmp_path / HW / "student" / f"{HW}.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [HW]  # no staging folder left behind
