"""The CS 4248 worked example: every number the lecture prints, at the precision it prints it.

Each function gets the lecture's inputs (and the reference's values for
everything upstream of it), so one mistake shows up in one function.
"""

import pytest

from grader.grading.compare import assert_unchanged
from reference import backprop


@pytest.mark.grade(points=1, functions=["forward_pass"])
def test_forward_pass_reproduces_the_lecture(student, lecture, worked_example):
    got = student.forward_pass(lecture["weights"], lecture["i"])
    printed = {
        "s1": "0.005",
        "h1": "0.5013",
        "s2": "0.09",
        "h2": "0.5225",
        "s3": "-0.2670",
        "o1": "0.4336",
        "s4": "-0.2794",
        "o2": "0.4306",
    }
    assert isinstance(got, dict), f"forward_pass must return a dict of the intermediates, got {type(got).__name__}"
    worked_example.check("forward_pass", [(k, got.get(k), p) for k, p in printed.items()])


@pytest.mark.grade(points=0.5, functions=["squared_error_loss"])
def test_loss_reproduces_the_lecture(student, lecture, worked_example):
    forward = backprop.forward_pass(lecture["weights"], lecture["i"])
    got = student.squared_error_loss([forward["o1"], forward["o2"]], list(lecture["t"]))
    worked_example.check("squared_error_loss", [("L", got, "0.2531")])


@pytest.mark.grade(points=2, functions=["backward_pass"])
def test_backward_pass_reproduces_the_lecture(student, lecture, worked_example):
    forward = backprop.forward_pass(lecture["weights"], lecture["i"])
    got = student.backward_pass(lecture["weights"], lecture["i"], lecture["t"], forward)
    assert isinstance(got, dict), f"backward_pass must return a dict of gradients, got {type(got).__name__}"
    rows = [
        ("∂L/∂s3", got.get("s3"), "-0.1391"),
        ("∂L/∂s4", got.get("s4"), "0.1056"),
        ("∂L/∂w5", got.get("w5"), "-0.06972"),
        ("∂L/∂w7", got.get("w7"), "0.05292"),
        ("∂L/∂w1", got.get("w1"), "-0.0004315"),
    ]
    worked_example.check("backward_pass", rows)


@pytest.mark.grade(points=0.5, functions=["gradient_descent_update"])
def test_update_reproduces_the_lecture(student, lecture, worked_example):
    forward = backprop.forward_pass(lecture["weights"], lecture["i"])
    gradients = backprop.backward_pass(lecture["weights"], lecture["i"], lecture["t"], forward)
    got, changed = student.gradient_descent_update.with_changes(lecture["weights"], gradients, lecture["alpha"])
    assert isinstance(got, dict), (
        f"gradient_descent_update must return the new weights as a dict, got {type(got).__name__}"
    )
    # The handout: "the weights passed in are left as they were". Checked first: no credit for rows then.
    assert_unchanged(changed, name="gradient_descent_update")
    rows = [("w5'", got.get("w5"), "0.1349"), ("w7'", got.get("w7"), "0.02354"), ("w1'", got.get("w1"), "0.1502")]
    worked_example.check("gradient_descent_update", rows)
