"""Dev-only cross-check of the reference optimizers against torch.optim, in float64.

torch is not a dependency: without it this module is skipped. Where the
conventions coincide the trajectories must agree at the optimizer
tolerance; where they differ (ε inside the square root, Nesterov's
reformulation) the test shows the exact relation between the two.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.grading import tolerances
from reference import Tensor, optim

torch = pytest.importorskip("torch")

A = np.linspace(0.5, 2.0, 12).reshape(3, 4)
C = np.linspace(-0.3, 0.2, 12).reshape(3, 4)
W0 = np.linspace(-0.4, 0.6, 12).reshape(3, 4)
STEPS = 5


def gradient(w: np.ndarray) -> np.ndarray:
    return A * w + C


def ours(optimizer_class, steps=STEPS, **hyperparameters) -> tuple[np.ndarray, optim.Optimizer]:
    w = Tensor(W0, requires_grad=True)
    opt = optimizer_class([w], **hyperparameters)
    trajectory = []
    for _ in range(steps):

        def closure():
            w.grad = gradient(w.data)

        opt.step(closure)
        trajectory.append(w.data.copy())
    return np.array(trajectory), opt


def theirs(optimizer_class, steps=STEPS, **hyperparameters) -> np.ndarray:
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([w], **hyperparameters)
    trajectory = []
    for _ in range(steps):
        w.grad = torch.from_numpy(gradient(w.detach().numpy()))
        opt.step()
        trajectory.append(w.detach().numpy().copy())
    return np.array(trajectory)


def assert_trajectory(got, expected) -> None:
    np.testing.assert_allclose(got, expected, rtol=tolerances.OPTIMIZER_RTOL, atol=tolerances.OPTIMIZER_ATOL)


def test_adam_matches_torch_adam():
    got, _ = ours(optim.Adam, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    assert_trajectory(got, theirs(torch.optim.Adam, lr=0.01, betas=(0.9, 0.999), eps=1e-8))


def test_adam_coupled_weight_decay_matches_torch_adam_weight_decay():
    got, _ = ours(optim.Adam, lr=0.01, weight_decay=0.1)
    assert_trajectory(got, theirs(torch.optim.Adam, lr=0.01, weight_decay=0.1))


def test_adamw_matches_torch_adamw():
    got, _ = ours(optim.AdamW, lr=0.01, weight_decay=0.1)
    assert_trajectory(got, theirs(torch.optim.AdamW, lr=0.01, weight_decay=0.1))


def test_momentum_matches_torch_sgd_momentum_while_lr_is_constant():
    got, _ = ours(optim.Momentum, lr=0.05, momentum=0.9)
    assert_trajectory(got, theirs(torch.optim.SGD, lr=0.05, momentum=0.9))


def test_adagrad_matches_torch_when_eps_is_negligible_inside_or_outside_the_root():
    got, _ = ours(optim.Adagrad, lr=0.1, eps=1e-300)
    assert_trajectory(got, theirs(torch.optim.Adagrad, lr=0.1, eps=1e-300))


def test_rmsprop_matches_torch_with_alpha_as_rho_when_eps_is_negligible():
    got, _ = ours(optim.RMSProp, lr=0.01, rho=0.9, eps=1e-300)
    assert_trajectory(got, theirs(torch.optim.RMSprop, lr=0.01, alpha=0.9, eps=1e-300))


@pytest.mark.parametrize("lr", [1.0, 0.5])
def test_adadelta_matches_torch_adadelta(lr):
    got, _ = ours(optim.Adadelta, lr=lr, rho=0.9, eps=1e-6)
    assert_trajectory(got, theirs(torch.optim.Adadelta, lr=lr, rho=0.9, eps=1e-6))


def test_torch_nesterov_parameter_is_our_look_ahead_point_theta_minus_gamma_v():
    """Sutskever's reformulation stores φ_t = θ_t − γv_t; the two methods are the same iteration."""
    gamma, w = 0.9, Tensor(W0, requires_grad=True)
    opt = optim.Nesterov([w], lr=0.05, momentum=gamma)
    look_ahead = []
    for _ in range(STEPS):

        def closure():
            w.grad = gradient(w.data)

        opt.step(closure)
        look_ahead.append(w.data - gamma * opt.state[0]["v"])
    assert_trajectory(look_ahead, theirs(torch.optim.SGD, lr=0.05, momentum=gamma, nesterov=True))


@pytest.mark.parametrize("shape", [(3, 4), (5,)], ids=["matrix (factored)", "vector"])
def test_adafactor_matches_torch_when_eps1_is_negligible(shape):
    """torch clamps V̂ at machine ε instead of adding ε1 to G², and uses row/column means (equivalent)."""
    x0 = np.linspace(-0.4, 0.6, int(np.prod(shape))).reshape(shape)
    gradients = [np.linspace(-1.0, 2.0, x0.size).reshape(shape) ** (k + 1) + 0.1 * k for k in range(STEPS)]
    x = Tensor(x0, requires_grad=True)
    opt = optim.Adafactor([x], lr=0.6, eps1=1e-300)
    tx = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adafactor([tx], lr=0.6, eps=(1e-300, 1e-3))
    for g in gradients:
        x.grad, tx.grad = g, torch.from_numpy(g)
        opt.step()
        topt.step()
        assert_trajectory(x.data, tx.detach().numpy())
