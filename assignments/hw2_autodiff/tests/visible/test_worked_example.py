"""The CSE 587 worked example f(x, y, z) = (x + y)·max(y, z) at x = 1, y = 2, z = 0, node by node.

Forward: a = x + y = 3, b = max(y, z) = 2, f = ab = 6. Backward, as the lecture
prints it: ∂f/∂a = b = 2 and ∂f/∂b = a = 3 (* switches), ∂f/∂x = 2 (+
distributes), ∂f/∂z = 1(z > y)·3 = 0 (max routes), and ∂f/∂y = 2 + 3 = 5: y is
used twice, so its gradients add up.

Each node's local gradient runs on its own, given the upstream gradient the
reference computes, so every row is charged to the operation that produces
it: one mistake shows up in one place.
"""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference import Tensor
from reference import functional as F

X, Y, Z = 1.0, 2.0, 0.0


def lecture_graph():
    """The reference's graph with its intermediates' gradients kept: a, b and f, and ∂f/∂a, ∂f/∂b."""
    x, y, z = (Tensor(v, requires_grad=True) for v in (X, Y, Z))
    a, b = x + y, F.maximum(y, z)
    f = a * b
    a.retain_grad()
    b.retain_grad()
    f.backward()
    return {"a": a.item(), "b": b.item(), "f": f.item(), "df/da": a.grad, "df/db": b.grad}


def leaves(student, *values):
    return [student.Tensor(np.float64(v), requires_grad=True) for v in values]


@pytest.mark.grade(points=0.5, functions=["Tensor.__mul__"])
def test_mul_switches_the_upstream_gradient(student, engine, worked_example):
    lecture = lecture_graph()
    a, b = leaves(student, lecture["a"], lecture["b"])
    f = a * b
    engine.local_gradient(f, np.array(1.0), "f = a * b")  # ∂f/∂f = 1
    rows = [("f = ab", f.item(), "6"), ("∂f/∂a = b", a.grad, "2"), ("∂f/∂b = a", b.grad, "3")]
    worked_example.check("Tensor.__mul__", rows)
    assert_close([a.grad, b.grad], [lecture["df/da"], lecture["df/db"]], name="(∂f/∂a, ∂f/∂b)")


@pytest.mark.grade(points=0.25, functions=["Tensor.__add__"])
def test_add_distributes_the_upstream_gradient(student, engine, worked_example):
    lecture = lecture_graph()
    x, y = leaves(student, X, Y)
    a = x + y
    engine.local_gradient(a, lecture["df/da"], "a = x + y")
    rows = [("a = x + y", a.item(), "3"), ("∂f/∂x = ∂f/∂a · 1", x.grad, "2"), ("∂f/∂a · 1, to y", y.grad, "2")]
    worked_example.check("Tensor.__add__", rows)
    assert_close([x.grad, y.grad], [lecture["df/da"], lecture["df/da"]], name="(∂f/∂x, a's share of ∂f/∂y)")


@pytest.mark.grade(points=0.5, functions=["maximum"])
def test_max_routes_the_upstream_gradient_to_the_larger_input(student, engine, worked_example):
    lecture = lecture_graph()
    y, z = leaves(student, Y, Z)
    b = student.maximum(y, z)
    engine.local_gradient(b, lecture["df/db"], "b = maximum(y, z)")
    rows = [
        ("b = max(y, z)", b.item(), "2"),
        ("∂f/∂b · 1(y > z), to y", y.grad, "3"),
        ("∂f/∂z = ∂f/∂b · 1(z > y)", z.grad, "0"),
    ]
    worked_example.check("maximum", rows)
    assert_close([y.grad, z.grad], [lecture["df/db"], 0.0], name="(b's share of ∂f/∂y, ∂f/∂z)")


@pytest.mark.grade(points=0.25, functions=["Tensor.accumulate_grad"])
def test_the_gradients_of_y_over_its_two_uses_add_up(student, worked_example):
    lecture = lecture_graph()
    (y,) = leaves(student, Y)
    y.accumulate_grad(lecture["df/da"])  # through a = x + y
    y.accumulate_grad(lecture["df/db"])  # through b = max(y, z)
    worked_example.check("Tensor.accumulate_grad", [("∂f/∂y = 2 + 3", y.grad, "5")])
    assert_close(y.grad, lecture["df/da"] + lecture["df/db"], name="∂f/∂y")
