"""accumulate_grad, topological_order and backward on seeded random graphs, against the reference engine.

A graph is a plan drawn from a seed: each new node applies an operation to
one or two earlier nodes, so nodes get several uses and paths reconverge.
The plan is built twice, in the sandbox with the student's engine and here
with the reference, and both get the same upstream gradient. Backward's
graphs use only operations whose local gradients the handout gives
(negation, transpose, reshape, concat).
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, assert_close
from grader.sandbox.handles import identity
from reference import functional as F

SEEDS = (201, 202, 203, 204)


def plan(seed: int, operations: tuple[str, ...], size: int) -> list[tuple[str, int, int]]:
    """(operation, first input, second input) per new node; nodes 0-2 are leaves, node 3 a constant."""
    rng = np.random.default_rng(seed)
    return [(str(rng.choice(operations)), int(rng.integers(n)), int(rng.integers(n))) for n in range(4, 4 + size)]


OPERATIONS = {
    "neg": lambda ns, a, b: -a,
    "T": lambda ns, a, b: a.T,
    "reshape": lambda ns, a, b: a.reshape(-1),
    "concat": lambda ns, a, b: ns.concat([a, b]),
    "add": lambda ns, a, b: a + b,
    "mul": lambda ns, a, b: a * b,
    "tanh": lambda ns, a, b: a.tanh(),
    "max": lambda ns, a, b: ns.maximum(a, b),
}
BINARY = ("concat", "add", "mul", "max")


def build(ns, steps, leaves):
    """The nodes of the plan in ``ns`` (the student's engine or the reference), and the graph's edges."""
    nodes = [ns.Tensor(x, requires_grad=True) for x in leaves] + [ns.Tensor(np.full(leaves[0].shape, 0.5))]
    edges = []
    for operation, i, j in steps:
        edges += [(i, len(nodes)), (j, len(nodes))] if operation in BINARY else [(i, len(nodes))]
        nodes.append(OPERATIONS[operation](ns, nodes[i], nodes[j]))
    return nodes, edges


def require(condition: bool, message: str) -> None:
    """A failure whose message reveals no expected value, so a hidden test may show it (a bare assert's it may not)."""
    if not condition:
        raise Mismatch(message)


def output(ns, nodes):
    """Every node (all are vectors) joined into one output, so every node reaches it."""
    return ns.concat(nodes)


@pytest.mark.grade(points=0.5, functions=["Tensor.backward"])
@pytest.mark.parametrize("seed", SEEDS)
def test_backward_on_a_random_graph(student, seed):
    rng = np.random.default_rng(seed)
    leaves = [rng.normal(size=3) for _ in range(3)]
    steps = plan(seed, ("neg", "T", "reshape", "concat"), size=8)
    student_nodes, _ = build(student, steps, leaves)
    reference_nodes, _ = build(F, steps, leaves)
    out = output(F, reference_nodes)
    upstream = rng.normal(size=out.shape)
    out.backward(upstream)
    output(student, student_nodes).backward(upstream)
    for k in range(3):
        assert_close(student_nodes[k].grad, reference_nodes[k].grad, name=f"leaf {k}'s .grad")
    require(student_nodes[3].grad is None, "a constant (requires_grad=False) received a gradient")


@pytest.mark.grade(points=0.5, functions=["Tensor.topological_order"])
@pytest.mark.parametrize("seed", SEEDS)
def test_topological_order_of_a_random_graph(student, seed):
    rng = np.random.default_rng(seed)
    leaves = [rng.normal(size=3) for _ in range(3)]
    steps = plan(seed, ("neg", "add", "mul", "tanh", "max"), size=12)
    nodes, edges = build(student, steps, leaves)
    out = student.concat(nodes)
    edges += [(k, len(nodes)) for k in range(len(nodes))]
    needs = [True, True, True, False]  # the leaves need gradients, the constant does not; a node needs them
    for operation, i, j in steps:  # when an input does
        needs.append(needs[i] or (needs[j] and operation in BINARY))
    needs.append(True)
    everything = [*nodes, out]
    ids = [identity(node) for node in out.topological_order()]
    for k, node in enumerate(everything):
        expected = 1 if needs[k] else 0
        require(
            ids.count(identity(node)) == expected,
            f"a node {'that needs gradients' if needs[k] else 'that is a constant'} "
            f"appears {ids.count(identity(node))} times",
        )
    require(len(ids) == sum(needs), "it lists nodes that are not in the graph")
    where = {k: ids.index(identity(node)) for k, node in enumerate(everything) if needs[k]}
    require(all(where[i] < where[j] for i, j in edges if needs[i]), "a node comes before its parent")


@pytest.mark.grade(points=0.5, functions=["Tensor.accumulate_grad"])
@pytest.mark.parametrize("seed", SEEDS)
def test_accumulate_grad_of_random_contributions(student, engine, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(1, 4))))
    contributions = [rng.normal(size=shape) for _ in range(int(rng.integers(2, 6)))]
    x = student.Tensor(np.zeros(shape), requires_grad=True)
    for g in contributions:
        x.accumulate_grad(g, fresh=bool(rng.integers(2)))
    overwritten = (
        "only the last contribution is kept: add each one to .grad instead of overwriting it",
        contributions[-1],
    )
    name = f"x.grad after {len(contributions)} contributions"
    engine.assert_close(x.grad, np.sum(contributions, axis=0), name=name, mistakes=[overwritten])
