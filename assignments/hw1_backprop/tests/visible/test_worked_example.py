"""The CS 4248 worked example: every number the lecture prints, at the precision it prints it.

Each function gets the lecture's inputs (and the reference's values for
everything upstream of it), so one mistake shows up in one function.
"""

import pytest

from grader.grading.compare import assert_kind, assert_unchanged
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
    assert_kind(got, "dict", name="forward_pass", what="a dict of the intermediates")
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
    assert_kind(got, "dict", name="backward_pass", what="a dict of gradients")
    # Every gradient, in the order the chain rule reaches it; the lecture prints five of them, and the
    # reference's values stand for the rest, so the table shows where a mistake first enters.
    reference = backprop.backward_pass(lecture["weights"], lecture["i"], lecture["t"], forward)
    printed = {"s3": "-0.1391", "s4": "0.1056", "w5": "-0.06972", "w7": "0.05292", "w1": "-0.0004315"}
    order = ["s3", "s4", "w5", "w6", "b3", "w7", "w8", "b4", "s1", "s2", "w1", "w2", "b1", "w3", "w4", "b2"]
    rows = [(f"∂L/∂{key}", got.get(key), printed.get(key) or worked_example.reference(reference[key])) for key in order]
    worked_example.check("backward_pass", rows)


@pytest.mark.grade(points=0.5, functions=["gradient_descent_update"])
def test_update_reproduces_the_lecture(student, lecture, worked_example):
    forward = backprop.forward_pass(lecture["weights"], lecture["i"])
    gradients = backprop.backward_pass(lecture["weights"], lecture["i"], lecture["t"], forward)
    got, changed = student.gradient_descent_update.with_changes(lecture["weights"], gradients, lecture["alpha"])
    assert_kind(got, "dict", name="gradient_descent_update", what="the new weights as a dict")
    # The handout: "the weights passed in are left as they were". Checked first: no credit for rows then.
    assert_unchanged(changed, name="gradient_descent_update")
    # Every new weight; the lecture prints three, the reference's values stand for the rest.
    reference = backprop.gradient_descent_update(lecture["weights"], gradients, lecture["alpha"])
    printed = {"w5": "0.1349", "w7": "0.02354", "w1": "0.1502"}
    shown = {name: printed.get(name) or worked_example.reference(new) for name, new in reference.items()}
    rows = [(f"{name}'", got.get(name), value) for name, value in shown.items()]
    worked_example.check("gradient_descent_update", rows)
