"""`grader validate`: the proof that a homework's tests catch wrong code, and its failures."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.authoring.validate import validate
from grader.errors import UserError

HW1 = Path(__file__).resolve().parents[3] / "assignments" / "hw1_backprop"


def homework_copy(tmp_path: Path, mistakes: str) -> Path:
    folder = tmp_path / "hw1_backprop"
    shutil.copytree(HW1, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "mistakes.toml").write_text(mistakes, encoding="utf-8")
    return folder


def mistake_verdict(verdicts):
    """The verdict on the (one) catalogued mistake of a homework copy."""
    return next(v for v in verdicts if v.claim.startswith("mistake 1 "))


def test_every_claim_holds_for_hw1():
    verdicts = validate("hw1_backprop")
    assert all(v.holds for v in verdicts), [v for v in verdicts if not v.holds]
    assert len(verdicts) >= 2 + 10  # the solution, the blank handout, and the catalogue


def test_a_mistake_the_tests_cannot_see_is_reported(tmp_path):
    harmless = (
        '[[mistakes]]\nfunction = "forward_pass"\nabout = "a rewrite that changes nothing"\n'
        'edits = [{ old = "h1 = sigmoid(s1)", new = "h1 = sigmoid(s1 + 0.0)" }]\n'
    )
    last = mistake_verdict(validate(str(homework_copy(tmp_path, harmless))))
    assert not last.holds and "forward_pass loses 0 of 3" in last.detail


def test_a_mistake_that_costs_another_function_is_reported(tmp_path):
    spills = (
        '[[mistakes]]\nfunction = "forward_pass"\nabout = "breaks the loss too"\n'
        'edits = [{ old = "return 0.5 * ((o[0]", new = "return 0.7 * ((o[0]" }]\n'
    )
    last = mistake_verdict(validate(str(homework_copy(tmp_path, spills))))
    assert not last.holds and "it also costs squared_error_loss (−1)" in last.detail


# Breaks forward_pass and, through a second edit standing for a call, squared_error_loss.
TWO_FUNCTIONS = (
    '[[mistakes]]\nfunction = "forward_pass"\nabout = "the bias b1 left out, and a loss that shows it"\n'
    'edits = [{ old = \'s1 = w["w1"] * i1 + w["w2"] * i2 + w["b1"]\', new = \'s1 = w["w1"] * i1 + w["w2"] * i2\' },'
    ' { old = "return 0.5 * ((o[0]", new = "return 0.7 * ((o[0]" }]\n'
)


def test_a_mistake_declaring_the_function_it_also_costs_is_caught(tmp_path):
    last = mistake_verdict(validate(str(homework_copy(tmp_path, TWO_FUNCTIONS + 'also = ["squared_error_loss"]\n'))))
    assert last.holds, last.detail
    assert "as the mistake declares (also), squared_error_loss (−1)" in last.detail


def test_also_excuses_only_the_functions_it_names(tmp_path):
    last = mistake_verdict(validate(str(homework_copy(tmp_path, TWO_FUNCTIONS + 'also = ["backward_pass"]\n'))))
    assert not last.holds and "it also costs squared_error_loss (−1)" in last.detail


@pytest.mark.parametrize("also", ['["no_such_function"]', '["forward_pass"]', '"squared_error_loss"'])
def test_also_naming_no_other_task_is_a_clear_error(tmp_path, also):
    with pytest.raises(UserError, match=r"\[\[mistakes\]\] number 1"):
        validate(str(homework_copy(tmp_path, TWO_FUNCTIONS + f"also = {also}\n")))


def test_a_mistake_naming_no_task_is_a_clear_error(tmp_path):
    unknown = '[[mistakes]]\nfunction = "no_such_function"\nabout = ""\nedits = []\n'
    with pytest.raises(UserError, match="names 'no_such_function', not a task"):
        validate(str(homework_copy(tmp_path, unknown)))


def test_the_command_exits_1_when_a_claim_does_not_hold(tmp_path):
    harmless = (
        '[[mistakes]]\nfunction = "squared_error_loss"\nabout = "nothing"\n'
        'edits = [{ old = "return 0.5 * ((o[0]", new = "return 0.50 * ((o[0]" }]\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "validate", str(homework_copy(tmp_path, harmless))],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 of 4 claims do NOT hold" in run.stdout


def test_a_homework_graded_after_another_with_the_same_test_names_uses_its_own_tests(tmp_path):
    from grader.authoring.module import build_module
    from grader.grading.grade import grade
    from grader.homework.manifest import load

    copy = homework_copy(tmp_path, "")
    visible = copy / "tests" / "visible" / "test_layer_and_perceptron.py"
    visible.write_text(
        visible.read_text().replace(
            '@pytest.mark.grade(points=0.5, functions=["sigmoid_derivative"])',
            '@pytest.mark.grade(points=0.5, functions=["sigmoid_derivative"])\n'
            '@pytest.mark.parametrize("extra", [1, 2])',
        )
    )
    visible.write_text(
        visible.read_text().replace(
            "def test_sigmoid_derivative_at_a_few_points(student):",
            "def test_sigmoid_derivative_at_a_few_points(student, extra):",
        )
    )
    solution = tmp_path / "solution.py"
    solution.write_text(build_module(load("hw1_backprop"), solution=True))
    original = grade(solution, "hw1_backprop")
    edited = grade(solution, str(copy))
    assert len(edited.tests) == len(original.tests) + 1


def test_a_visible_test_judging_by_code_of_its_own_is_caught_disagreeing_with_the_checker(tmp_path):
    """A visible test whose verdict is its own code (a tolerance of its own, not a check) grades a 1% error
    as right; the checker, which cannot repeat that code, compares the answer with the solution's: the claim
    that they agree fails, naming the submission, the test and both scores."""
    folder = homework_copy(
        tmp_path,
        '[[mistakes]]\nfunction = "sigmoid_derivative"\nabout = "1% off"\n'
        'edits = [{ old = "return s * (1.0 - s)", new = "return 1.01 * s * (1.0 - s)" }]\n',
    )
    visible = folder / "tests" / "visible" / "test_layer_and_perceptron.py"
    source = visible.read_text()
    judged_by_hand = source.replace(
        '    assert_close(student.sigmoid_derivative(z), backprop.sigmoid_derivative(z), name="sigmoid_derivative")',
        "    got = student.sigmoid_derivative(z)\n"
        "    if np.max(np.abs(got - backprop.sigmoid_derivative(z))) > 0.1:\n"
        '        raise AssertionError("sigmoid_derivative is wrong")',
    )
    assert judged_by_hand != source
    visible.write_text(judged_by_hand)
    verdicts = validate(str(folder))
    claim = next(v for v in verdicts if v.claim.startswith("the students' checker"))
    assert not claim.holds
    assert (
        "mistake 1: layer_and_perceptron::sigmoid_derivative_at_a_few_points: grading 0.5, the checker 0"
        in claim.detail
    )
