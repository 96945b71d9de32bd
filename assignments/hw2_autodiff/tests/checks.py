"""hw2's own checks: the judgements of its visible tests on the student's answers, as the students' checker
repeats them (grader/grading/checks.py). Pure functions of their arguments: numpy, the standard library and
the grader's comparisons, never the reference. Tests and conftest.py import them as ``checks``.
"""

import numpy as np

from grader.grading.checks import check
from grader.grading.compare import Mismatch, assert_close
from grader.sandbox.handles import identity


def _positions(order, nodes: dict) -> dict:
    """Where each named node is in ``order`` (a list of handles); fails naming a node missing or repeated."""
    ids = [identity(node) for node in order]
    found = {}
    for name, node in nodes.items():
        count = ids.count(identity(node))
        if count != 1:
            raise Mismatch(f"topological_order: node {name} appears {count} times in the order, not once")
        found[name] = ids.index(identity(node))
    return found


@check(student=("order", "nodes"))
def parents_come_first(order, nodes: dict, edges: list) -> None:
    """Every named node once in ``order``, each after all of its parents (``edges``: (parent, child) names)."""
    where = _positions(order, nodes)
    for parent, child in edges:
        if where[parent] >= where[child]:
            raise Mismatch(
                f"topological_order: {child} comes before its parent {parent} (every node must come after its parents)"
            )


@check(student=("order", "nodes", "constant"))
def only_nodes_that_need_a_gradient(order, nodes: dict, constant) -> None:
    """``order`` lists the named nodes and nothing else: not the constant, nor any node that needs no gradient."""
    ids = [identity(node) for node in order]
    if identity(constant) in ids:
        raise Mismatch("topological_order: the constant c (requires_grad=False) is in the order")
    others = set(ids) - {identity(node) for node in nodes.values()}
    if others:
        raise Mismatch(
            f"topological_order: {len(others)} node(s) that need no gradient are in the order: list only those that do"
        )


@check(student=("order", "first", "last"))
def a_chain_from_first_to_last(order, first, last, length: int) -> None:
    """A chain's order: ``length`` nodes, from its input ``first`` to its output ``last``."""
    if len(order) != length:
        raise Mismatch(f"topological_order: {len(order)} nodes for a chain of {length}")
    if identity(order[0]) != identity(first) or identity(order[-1]) != identity(last):
        raise Mismatch("topological_order: a chain's order must start at its input and end at its output")


@check(student=("got", "stretched"))
def gets_the_stretched_gradient_summed(got, stretched, axes: tuple, shape: tuple, *, name: str) -> None:
    """The broadcast operand's gradient ``got`` is the gradient of the same operand stretched by hand
    (``stretched``), summed over the ``axes`` broadcasting stretched, in the operand's ``shape``. Both come from
    the student's own local gradient, so a mistake in it cancels out: only the reduction counts."""
    if stretched is None:  # the operation gives that operand nothing at all: its own mistake, not unbroadcast's
        if got is not None:
            raise Mismatch(f"{name}: the broadcast operand received a gradient, the stretched one none")
        return
    if got is None:
        raise Mismatch(f"{name}: the broadcast operand received no gradient (its .grad is still None)")
    assert_close(got, np.sum(stretched, axis=tuple(axes)).reshape(shape), name=name)
