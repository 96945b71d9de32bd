"""Hidden: dropout's gradient, its other probabilities and new masks; L2 on other parameters; step decay
of other steps.

Each statistical check fails a correct solution with probability at most 10⁻⁸ (see checks.py).
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, assert_close
from reference import train

X = np.random.default_rng(21).uniform(0.5, 1.5, (100, 400))


@pytest.mark.grade(points=0.5, functions=["dropout"])
def test_dropout_passes_the_gradient_through_the_kept_entries_scaled(student, hw4):
    """∂L/∂x = u · mask / (1 − p) for L = Σ u ∘ dropout(x), u random."""
    upstream = np.random.default_rng(22).normal(size=X.shape)
    x = student.Tensor(X, requires_grad=True)
    out = hw4.tensor(student.dropout(x, 0.25, True, hw4.generator(student, 23)), "dropout")
    kept = out.data != 0
    (out * upstream).sum().backward()
    grad = x.grad
    if grad is None:
        raise Mismatch(
            "dropout: no gradient reached x: build the result from x with Tensor operations (x * mask), "
            "so that backpropagation goes through dropout"
        )
    assert_close(grad, upstream * kept / 0.75, name="dropout: ∂L/∂x")


@pytest.mark.grade(points=0.5, functions=["dropout"])
@pytest.mark.parametrize("p", [0.1, 0.8])
def test_dropout_with_other_probabilities(student, hw4, p):
    """40,000 entries: false-failure probability ≤ 10⁻⁸ per case."""
    out = student.dropout(student.Tensor(X), p, True, hw4.generator(student, 24))
    hw4.check_dropout(X, hw4.tensor_data(out, "dropout"), p, f"dropout(x, p={p}, training=True)")


@pytest.mark.grade(points=0.5, functions=["dropout"])
def test_dropout_draws_a_new_mask_each_call_and_p_one_drops_everything(student, hw4):
    """Two masks of 40,000 entries from one generator agree with probability (p² + (1 − p)²)^40000 ≈ 0."""
    rng, x = hw4.generator(student, 25), student.Tensor(X)
    first, second = (hw4.tensor_data(student.dropout(x, 0.5, True, rng), "dropout") for _ in range(2))
    if np.array_equal(first, second):
        raise Mismatch("dropout: two calls with one generator dropped the same entries; draw a new mask every call")
    everything = hw4.tensor_data(student.dropout(student.Tensor(X[:4, :5]), 1.0, True, rng), "dropout")
    assert_close(everything, np.zeros((4, 5)), name="dropout(x, p=1.0, training=True) (every entry dropped)")
    nothing = hw4.tensor_data(student.dropout(student.Tensor(X[:4, :5]), 0.0, True, rng), "dropout")
    assert_close(nothing, X[:4, :5], name="dropout(x, p=0.0, training=True) (nothing dropped)")


PARAMETERS = {
    "W": np.random.default_rng(26).normal(size=(5, 3)),
    "b": np.random.default_rng(27).normal(size=5),
    "K": np.random.default_rng(28).normal(size=(2, 3, 3)),  # a weight of three axes (a convolution's): penalised
    "c": np.random.default_rng(29).normal(size=7),
}


@pytest.mark.grade(points=0.5, functions=["l2_penalty"])
def test_l2_penalty_of_weights_of_two_and_more_axes(student, hw4):
    penalty = hw4.tensor(student.l2_penalty(hw4.module_of(student, PARAMETERS), 0.05), "l2_penalty")
    expected = train.l2_penalty(hw4.module_of(hw4.REFERENCE, PARAMETERS), 0.05).item()
    assert_close(penalty.item(), expected, name="l2_penalty(model, 0.05)")


@pytest.mark.grade(points=0.5, functions=["l2_penalty"])
def test_l2_penalty_gradient_of_weights_of_two_and_more_axes(student, hw4):
    tensors = {name: student.Tensor(value, requires_grad=True) for name, value in PARAMETERS.items()}
    model = student.Module()
    for name, parameter in tensors.items():
        setattr(model, name, parameter)
    hw4.tensor(student.l2_penalty(model, 0.05), "l2_penalty").backward()
    for name, parameter in tensors.items():
        grad, value = parameter.grad, PARAMETERS[name]
        if value.ndim >= 2:
            assert_close(grad, 0.05 * value, name=f"l2_penalty: ∂/∂{name}")
        elif grad is not None:
            assert_close(grad, np.zeros_like(value), name=f"l2_penalty: ∂/∂{name} (a bias)")


@pytest.mark.grade(points=0.5, functions=["StepDecay.lr_at"])
@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.9), (4, 0.1)])
def test_step_decay_of_other_steps_drives_the_optimizer(student, hw4, step_size, gamma):
    """lr_at(t) for t = 0..11, and η in the optimizer after each of 11 epochs (the given step() calls lr_at)."""

    def rates(engine):
        optimizer = engine.SGD([engine.Tensor(np.zeros(2), requires_grad=True)], lr=0.2)
        schedule = engine.StepDecay(optimizer, step_size=step_size, gamma=gamma)
        at = [schedule.lr_at(t) for t in range(12)]
        for _ in range(11):
            schedule.step()
        return at + [optimizer.lr]

    for t, (mine, theirs) in enumerate(zip(rates(student), rates(hw4.REFERENCE))):
        what = f"lr_at({t})" if t < 12 else "optimizer.lr after 11 steps"
        assert_close(mine, theirs, name=f"StepDecay(step_size={step_size}, gamma={gamma}).{what}")
