"""Dropout (the probability of dropping, inverted scaling, off at evaluation), L2 on the weights only, and
learning-rate decay.

Dropout's masks are checked for what every correct dropout does, never against the reference's own draw;
each statistical check fails a correct solution with probability at most 10⁻⁸ (see checks.py).
"""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference import train

X = np.random.default_rng(3).uniform(1.0, 2.0, (50, 200))  # no zeros: a zero in the output means dropped


@pytest.mark.grade(points=1, functions=["dropout"])
def test_dropout_drops_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p(student, hw4):
    """p = 0.3 on 10,000 entries: false-failure probability ≤ 10⁻⁸ (the fraction dropped; the rest is exact)."""
    out = student.dropout(student.Tensor(X), 0.3, True, hw4.generator(student, 4))
    hw4.check_dropout(X, hw4.tensor_data(out, "dropout"), 0.3, "dropout(x, p=0.3, training=True)")


@pytest.mark.grade(points=0.5, functions=["dropout"])
def test_dropout_is_the_identity_at_evaluation(student, hw4):
    """Through the given Dropout layer in evaluation mode, as evaluate() runs a model: outputs() calls
    dropout(x, p=0.5, training=False), which must give x back. (The outputs come back as a new array, so the
    students' checker reads your dropout's result, not x, even when the solution returns x itself.)"""
    with hw4.naming_the_blank():
        out = student.outputs(student.Dropout(0.5, rng=hw4.generator(student, 5)), X[:20, :30])
    assert_close(out, X[:20, :30], name="dropout(x, p=0.5, training=False)")


PARAMETERS = {
    "W1": np.arange(12.0).reshape(4, 3) / 10 - 0.5,
    "b1": np.array([0.5, -1.0, 2.0, 0.25]),
    "W2": np.array([[0.3, -0.2, 0.1, 0.4], [-0.5, 0.6, 0.0, 0.2]]),
    "b2": np.array([1.5, -0.5]),
}


def l2_mistakes(parameters: dict, l2: float) -> dict:
    weights = sum(float(np.sum(v**2)) for v in parameters.values() if v.ndim >= 2)
    biases = sum(float(np.sum(v**2)) for v in parameters.values() if v.ndim < 2)
    return {
        "the biases are penalised too: only the weight matrices W are": 0.5 * l2 * (weights + biases),
        "λ Σ‖W‖² without the ½": l2 * weights,
    }


@pytest.mark.grade(points=0.5, functions=["l2_penalty"])
def test_l2_penalty_is_half_lambda_times_the_squared_weights(student, hw4):
    model = hw4.module_of(student, PARAMETERS)
    penalty = hw4.tensor(student.l2_penalty(model, 0.3), "l2_penalty")
    expected = train.l2_penalty(hw4.module_of(hw4.REFERENCE, PARAMETERS), 0.3).item()
    name = "l2_penalty(model, 0.3)"
    hw4.assert_close_naming(penalty.item(), expected, name=name, mistakes=l2_mistakes(PARAMETERS, 0.3))


@pytest.mark.grade(points=0.5, functions=["l2_penalty"])
def test_l2_penalty_adds_lambda_w_to_each_weight_gradient_and_nothing_to_the_biases(student, hw4):
    tensors = {name: student.Tensor(value, requires_grad=True) for name, value in PARAMETERS.items()}
    model = student.Module()
    for name, parameter in tensors.items():
        setattr(model, name, parameter)
    hw4.tensor(student.l2_penalty(model, 0.3), "l2_penalty").backward()
    for name, parameter in tensors.items():
        if PARAMETERS[name].ndim >= 2:
            assert_close(parameter.grad, 0.3 * PARAMETERS[name], name=f"l2_penalty: ∂/∂{name} (λW)")
        else:
            hw4.no_gradient(parameter.grad, PARAMETERS[name].shape, name=f"l2_penalty: ∂/∂{name} (a bias: none)")


@pytest.mark.grade(points=0.5, functions=["StepDecay.lr_at"])
def test_step_decay_multiplies_lr_by_gamma_every_step_size_epochs(student, hw4):
    def rates(engine):
        optimizer = engine.SGD([engine.Tensor(np.zeros(2), requires_grad=True)], lr=0.3)
        schedule = engine.StepDecay(optimizer, step_size=3, gamma=0.5)
        return [schedule.lr_at(t) for t in range(10)]

    for t, (mine, theirs) in enumerate(zip(rates(student), rates(hw4.REFERENCE))):
        hw4.assert_close_naming(
            mine,
            theirs,
            name=f"StepDecay.lr_at({t})",
            mistakes={"t / step_size without the floor: η drops only every step_size epochs": 0.3 * 0.5 ** (t / 3)},
        )
