"""Backpropagation on a computation graph: accumulate_grad, topological_order and backward.

"If a node has multiple outgoing edges during forward propagation, we sum the
gradients during the backpropagation"; "visit nodes in reverse [topological]
order"; "initialize output gradient = 1" (CSE 587). The graphs of backward's
tests are built from operations whose local gradients the handout gives
(negation, reshape, transpose, concat, gradcheck.deep_chain), so a mistake in
an operation you write cannot cost these tests' points. topological_order
only reads the graph, so its tests use any operation's (given) forward.
"""

import contextlib

import checks
import numpy as np
import pytest

from grader.grading.compare import assert_close, assert_equal
from grader.sandbox import OperationFailed, Status

ONE_USE = "one use counted: a node used twice gets the sum of both uses' gradients, passed on after both arrived"


RECURSION = "a recursive graph walk? Python stops about 1,000 calls deep: use an explicit stack"


@contextlib.contextmanager
def explained(hint: str, *, timeout: bool = False, recursion: bool = False):
    """Add ``hint`` to a timeout, or to a RecursionError, of the student's code run in this block."""
    try:
        yield
    except OperationFailed as error:
        timed_out = error.status == Status.TIMEOUT and "not run again" not in error.message
        if (timeout and timed_out) or (recursion and "RecursionError" in error.message):
            raise OperationFailed(error.status, f"{error.message} ({hint})") from None
        raise


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def overwritten(last):
    """The known mistake of an accumulate_grad that keeps only ``last``."""
    return ("only the last contribution is kept: add each use's gradient to .grad instead of overwriting it", last)


# ----- accumulate_grad ----------------------------------------------------------------------------------
@pytest.mark.grade(points=0.25, functions=["Tensor.accumulate_grad"])
def test_accumulate_grad_adds_every_contribution(student, engine):
    g = [normal(seed, 2, 3) for seed in (1, 2, 3)]
    x = student.Tensor(np.zeros((2, 3)), requires_grad=True)
    x.accumulate_grad(g[0])
    assert_close(x.grad, g[0], name="x.grad after one contribution")
    x.accumulate_grad(g[1], fresh=True)
    x.accumulate_grad(g[2])
    engine.assert_close(
        x.grad, g[0] + g[1] + g[2], name="x.grad after three contributions", mistakes=[overwritten(g[2])]
    )


# ----- topological_order ----------------------------------------------------------------------------------
def small_graph(student):
    """x, w → a = x·w → b = a + c (c a constant), d = −a → e = concat(a, b, d) → out = e.sum().

    e lists a before b and d, so an order built with a stack meets a again through d or b before
    it has finished with it: a visited set must keep it from being listed twice.
    """
    x, w = student.Tensor(normal(4, 3), requires_grad=True), student.Tensor(normal(5, 3), requires_grad=True)
    c = student.Tensor(normal(6, 3))
    a = x * w
    b, d = a + c, -a
    e = student.concat([a, b, d])
    out = e.sum()
    nodes = {"x": x, "w": w, "a": a, "b": b, "d": d, "e": e, "out": out}
    edges = [("x", "a"), ("w", "a"), ("a", "b"), ("a", "d"), ("a", "e"), ("b", "e"), ("d", "e"), ("e", "out")]
    return nodes, edges, c


@pytest.mark.grade(points=0.5, functions=["Tensor.topological_order"])
def test_every_node_comes_once_after_all_of_its_parents(student):
    nodes, edges, _ = small_graph(student)
    checks.parents_come_first(nodes["out"].topological_order(), nodes, edges)


@pytest.mark.grade(points=0.25, functions=["Tensor.topological_order"])
def test_constants_are_not_in_the_order(student):
    nodes, _, c = small_graph(student)
    checks.only_nodes_that_need_a_gradient(nodes["out"].topological_order(), nodes, c)


@pytest.mark.grade(points=0.5, functions=["Tensor.topological_order"])
def test_a_stack_of_25_diamonds_is_ordered_in_linear_time(student):
    """Each diamond y → −y → −y + y doubles the paths: 2²⁵ of them, so each node must be visited once."""
    y = student.Tensor(normal(7, 2), requires_grad=True)
    nodes, edges = {"y0": y}, []
    for level in range(1, 26):
        before, negated = f"y{level - 1}", f"-y{level - 1}"
        nodes[negated] = -y
        y = nodes[f"y{level}"] = nodes[negated] + y
        edges += [(before, negated), (negated, f"y{level}"), (before, f"y{level}")]
    with explained("a stack of 25 diamonds has 2²⁵ paths: visit each node once (a visited set)", timeout=True):
        order = y.topological_order()
    checks.parents_come_first(order, nodes, edges)


@pytest.mark.grade(points=0.25, functions=["Tensor.topological_order"])
def test_a_chain_deeper_than_the_recursion_limit(student):
    x = student.Tensor(normal(8, 2), requires_grad=True)
    out = student.deep_chain(x, 2000)  # Python stops a recursion about 1,000 calls deep
    with explained(RECURSION, recursion=True):
        order = out.topological_order()
    checks.a_chain_from_first_to_last(order, x, out, 2001)


# ----- backward ----------------------------------------------------------------------------------------
@pytest.mark.grade(points=0.5, functions=["Tensor.backward"])
def test_backward_seeds_the_output_gradient_with_one(student, engine):
    x = student.Tensor(np.array(1.5), requires_grad=True)
    (-x).backward()  # ∂(−x)/∂x = −1, times the seed ∂out/∂out = 1
    seeded_with_zero = ("seeded with 0? backpropagation starts from ∂out/∂out = 1", 0.0)
    grad = engine.gradient_of(x, "x", "(−x).backward()")
    engine.assert_close(grad, -1.0, name="x.grad after (−x).backward()", mistakes=[seeded_with_zero])


@pytest.mark.grade(points=0.5, functions=["Tensor.backward"])
def test_a_node_used_twice_gets_the_sum_in_reverse_topological_order(student, engine):
    """x → a = −x → b = aᵀ; out = concat(a, b): a must collect both uses before passing its gradient on."""
    x = student.Tensor(normal(9, 3), requires_grad=True)
    a = -x
    out = student.concat([a, a.T])
    u = normal(10, 6)
    out.backward(u)
    one_use = [(ONE_USE, -u[:3]), (ONE_USE, -u[3:])]
    engine.assert_close(engine.gradient_of(x, "x", "backward()"), -(u[:3] + u[3:]), name="x.grad", mistakes=one_use)


@pytest.mark.grade(points=0.25, functions=["Tensor.backward"])
def test_a_node_used_three_times_gets_the_sum_of_the_three(student, engine):
    x = student.Tensor(normal(11, 2, 2), requires_grad=True)
    a = -x
    out = student.concat([a, a.T, a.reshape(2, 2)])
    u = normal(12, 6, 2)
    out.backward(u)
    assert_close(engine.gradient_of(x, "x", "backward()"), -(u[:2] + u[2:4].T + u[4:]), name="x.grad")


@pytest.mark.grade(points=0.5, functions=["Tensor.backward"])
def test_a_chain_of_10000_operations(student, engine):
    x = student.Tensor(normal(13, 3), requires_grad=True)
    u = normal(14, 3)
    out = student.deep_chain(x, 10_000)
    with explained(RECURSION, recursion=True):
        out.backward(u)  # (−1)^10000 = 1
    assert_close(engine.gradient_of(x, "x", "backward()"), u, name="x.grad through 10,000 negations")


@pytest.mark.grade(points=0.25, functions=["Tensor.backward"])
def test_two_backward_passes_add_up_in_the_leaves(student, engine):
    x = student.Tensor(normal(15, 3), requires_grad=True)
    out = student.concat([-x, x])
    u1, u2, u3 = normal(16, 6), normal(17, 6), normal(18, 3)
    out.backward(u1)
    out.backward(u2)  # the same graph again: its intermediate −x starts from zero
    (-x).backward(u3)  # a new graph on the same leaf
    expected = (-u1[:3] + u1[3:]) + (-u2[:3] + u2[3:]) - u3
    grad = engine.gradient_of(x, "x", "backward()")
    assert_close(grad, expected, name="x.grad after three backward passes")


@pytest.mark.grade(points=0.25, functions=["Tensor.backward"])
def test_a_constant_gets_no_gradient(student, engine):
    x, c = student.Tensor(normal(19, 3), requires_grad=True), student.Tensor(normal(20, 2))
    out = student.concat([-x, c, c.reshape(2)])
    out.backward(normal(21, 7))
    assert_equal(c.grad, None, name="c.grad (a constant, requires_grad=False, receives no gradient)")
    assert_close(engine.gradient_of(x, "x", "backward()"), -normal(21, 7)[:3], name="x.grad")


@pytest.mark.grade(points=0.25, functions=["Tensor.backward"])
def test_a_retained_intermediate_keeps_its_gradient(student, engine):
    x = student.Tensor(normal(22, 3), requires_grad=True)
    a = -x
    a.retain_grad()
    out = student.concat([a, x])
    u = normal(23, 6)
    out.backward(u)
    assert_close(engine.gradient_of(a, "a (retained)", "backward()"), u[:3], name="a.grad (a = −x, retained)")
    assert_close(engine.gradient_of(x, "x", "backward()"), -u[:3] + u[3:], name="x.grad")
