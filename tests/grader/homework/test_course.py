"""Course folders: homeworks and their solution modules outside the project, found by id."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli
from grader.batch.fingerprint import homework_hash
from grader.errors import UserError
from grader.homework import course as courses
from grader.homework import manifest as manifests
from grader.paths import PROJECT_ROOT, REFERENCE_DIR

HW1 = PROJECT_ROOT / "assignments" / "hw1_backprop"


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A course folder holding a copy of hw1 (its source, backprop, still the project's) and nothing else."""
    root = tmp_path / "my-course"
    shutil.copytree(HW1, root / "assignments" / "hw1_backprop", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(courses.ENVIRONMENT, "")
    return root


def retitle(course: Path, title: str) -> None:
    manifest = course / "assignments" / "hw1_backprop" / "manifest.toml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace('title = "Homework 1: backpropagation by hand"', f'title = "{title}"'))


def test_a_course_named_in_the_environment_is_searched_before_the_project(course, monkeypatch):
    retitle(course, "the course's own hw1")
    assert manifests.load("hw1_backprop").folder == HW1.resolve()
    monkeypatch.setenv(courses.ENVIRONMENT, str(course))
    manifest = manifests.load("hw1_backprop")
    assert manifest.title == "the course's own hw1" and manifest.course == course.resolve()
    assert manifest.source_paths == [REFERENCE_DIR / "backprop.py"]  # not in the course: the project's


def test_a_source_in_the_courses_reference_comes_before_the_projects(course, monkeypatch):
    (course / "reference").mkdir()
    (course / "reference" / "backprop.py").write_text((REFERENCE_DIR / "backprop.py").read_text())
    monkeypatch.setenv(courses.ENVIRONMENT, str(course))
    manifest = manifests.load("hw1_backprop")
    assert manifest.source_paths == [course.resolve() / "reference" / "backprop.py"]
    before = homework_hash(manifest)
    (course / "reference" / "backprop.py").write_text((REFERENCE_DIR / "backprop.py").read_text() + "\n# edited\n")
    assert homework_hash(manifest) != before  # a batch re-run regrades when the course's solution changes


def test_a_source_found_nowhere_names_the_folders_searched(course):
    manifest = course / "assignments" / "hw1_backprop" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('sources = ["backprop"]', 'sources = ["activations"]'))
    with pytest.raises(UserError, match=r"source 'activations' is not a module of .*my-course/reference/ or .*"):
        manifests.load(str(course / "assignments" / "hw1_backprop"))


def test_an_unknown_homework_says_where_it_looked(course, monkeypatch):
    monkeypatch.setenv(courses.ENVIRONMENT, str(course))
    with pytest.raises(UserError) as error:
        manifests.load("hw9")
    assert f"looked in {course.resolve()}/assignments/, {PROJECT_ROOT}/assignments/" in str(error.value)


def test_course_replaces_the_folders_of_the_environment(course, tmp_path, monkeypatch):
    monkeypatch.setenv(courses.ENVIRONMENT, str(tmp_path / "gone"))  # stale: would be an error if searched
    courses.use(course)
    assert [c.root for c in courses.courses()] == [course.resolve(), PROJECT_ROOT]


def test_a_folder_that_is_no_course_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(courses.ENVIRONMENT, "")
    assert cli.main(["list", "--course", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is not a course folder: it has no assignments/ folder" in error
    monkeypatch.setenv(courses.ENVIRONMENT, str(tmp_path))
    with pytest.raises(UserError, match="NN_GRADER_COURSE: .* is not a course folder"):
        manifests.load("hw1_backprop")


@pytest.mark.parametrize("before", [True, False])
def test_grader_list_shows_each_folder_and_which_homework_hides_which(course, capsys, before):
    retitle(course, "the course's own hw1")
    args = ["--course", str(course), "list"] if before else ["list", "--course", str(course)]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        f"{course.resolve()}/assignments/  (NN_GRADER_COURSE)",
        "  hw1_backprop             the course's own hw1",
        f"{PROJECT_ROOT}/assignments/  (the project)",
        "  hw1_backprop             Homework 1: backpropagation by hand  [hidden by the one above]",
    ]
    assert all(line.startswith("  hw") and "hidden" not in line for line in lines[4:])  # the project's others


def test_the_version_is_the_packages_and_says_which_copy_answers():
    import grader

    run = subprocess.run([sys.executable, "-m", "grader.cli", "--version"], capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stdout.strip() == f"grader {grader.__version__} (nn-autograder, {PROJECT_ROOT / 'grader'})"
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'version = { attr = "grader.__version__" }' in pyproject
