"""The students' checker gives every visible test the score `grader check` gives, for every homework of the
project: on the solution, the blank handout, every sample and every catalogued mistake (the claim `grader
validate` proves for one homework, here for all, on the visible tests only)."""

import pytest

from grader.authoring import agreement
from grader.authoring.validate import load_mistakes
from grader.grading.grade import grade
from grader.homework import manifest as manifests

HOMEWORKS = ["hw1_backprop", "hw2_autodiff", "hw3_optimizers", "hw4_training"]


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_the_checker_agrees_with_grader_check_on_every_known_submission(homework, tmp_path):
    manifest = manifests.load(homework)
    mistakes = load_mistakes(manifest)
    checker = agreement.build_checker(manifest, tmp_path)
    files = agreement.known_submissions(manifest, mistakes, tmp_path / "submissions")
    assert len(files) >= 2 + len(mistakes)
    with agreement.Checking(checker, files) as checking:  # the checker runs while grader check grades
        graded = {label: grade(path, homework, visibilities=("visible",)) for label, path in files.items()}
        assert checking.disagreements(graded) == []
