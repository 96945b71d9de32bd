"""Grading hw2_autodiff end to end: the student's engine graded through handles in the sandbox."""

from dataclasses import replace
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.homework import samples

HW = "hw2_autodiff"
QUICK = replace(manifests.load(HW).limits, call_seconds=2, load_seconds=4)


def handout(folder: Path, solution: bool) -> Path:
    path = folder / f"{HW}.py"
    path.write_text(build_module(manifests.load(HW), solution=solution), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def solution_result(tmp_path_factory):
    return grade(handout(tmp_path_factory.mktemp("solution"), solution=True), HW, limits=QUICK)


def test_the_reference_solution_scores_full_marks(solution_result):
    assert (solution_result.score, solution_result.max_score) == (30, 30)
    assert all(t.status == "passed" for t in solution_result.tests) and solution_result.errors == []


def test_the_blank_handout_scores_zero_and_every_test_says_not_implemented(tmp_path):
    result = grade(handout(tmp_path, solution=False), HW, limits=QUICK)
    assert result.score == 0 and result.max_score == 30
    assert {t.status for t in result.tests} == {"failed"}
    assert all("is not implemented yet" in t.message for t in result.tests)
    assert result.errors == []  # in particular, no grader error


def test_the_lectures_worked_example_is_in_the_details_row_by_row(solution_result):
    rows = {
        (row["name"], row["lecture"]): row["matches"]
        for test in solution_result.tests
        if test.name.startswith("worked_example::")
        for row in test.details
    }
    assert rows == {
        ("f = ab", "6"): True,
        ("∂f/∂a = b", "2"): True,
        ("∂f/∂b = a", "3"): True,
        ("a = x + y", "3"): True,
        ("∂f/∂x = ∂f/∂a · 1", "2"): True,
        ("∂f/∂a · 1, to y", "2"): True,
        ("b = max(y, z)", "2"): True,
        ("∂f/∂b · 1(y > z), to y", "3"): True,
        ("∂f/∂z = ∂f/∂b · 1(z > y)", "0"): True,
        ("∂f/∂y = 2 + 3", "5"): True,
    }


@pytest.mark.parametrize(
    "sample",
    [s for s in samples.load(manifests.load(HW)) if s.file != "correct.py"],  # correct.py is the solution, above
    ids=lambda sample: sample.file,
)
def test_every_sample_scores_what_samples_toml_says(tmp_path, sample):
    path = tmp_path / sample.file
    path.write_text(samples.derive(manifests.load(HW), sample), encoding="utf-8")
    assert grade(path, HW, limits=QUICK).score == pytest.approx(sample.score)
