"""The reference optimizers (hw3_optimizers): each update rule against its formula written out by hand.

Inputs are deterministic (CS231n style): θ_0 = linspace(−0.4, 0.6, 12) as a
3×4 matrix and the gradient of the fixed quadratic
J(θ) = Σ ½ a θ² + c θ, ∇J(θ) = a ⊙ θ + c, or a fixed gradient sequence.
The expected trajectories are computed in each test from the formula, with
plain numpy, never by calling the optimizer code. Each convention the
reference takes where the sources disagree (η inside the velocity, where ε
sits, coupled or decoupled decay) has a test that tells the two apart.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.grading import tolerances
from reference import Tensor, optim
from reference.nn import Module
from reference.schedules import StepDecay

A = np.linspace(0.5, 2.0, 12).reshape(3, 4)
C = np.linspace(-0.3, 0.2, 12).reshape(3, 4)
W0 = np.linspace(-0.4, 0.6, 12).reshape(3, 4)


def quadratic_gradient(w: np.ndarray) -> np.ndarray:
    """∇J(θ) = a ⊙ θ + c."""
    return A * w + C


def assert_trajectory(got, expected) -> None:
    np.testing.assert_allclose(got, expected, rtol=tolerances.OPTIMIZER_RTOL, atol=tolerances.OPTIMIZER_ATOL)


def run(optimizer_class, steps=3, gradient=None, w0=W0, lrs=None, **hyperparameters) -> np.ndarray:
    """θ after each of ``steps`` steps; the closure sets ``.grad`` = gradient(t, θ) (the quadratic's by default)."""
    gradient = gradient or (lambda t, w: quadratic_gradient(w))
    w = Tensor(w0, requires_grad=True)
    opt = optimizer_class([w], **hyperparameters)
    trajectory = []
    for t in range(steps):
        if lrs is not None:
            opt.lr = lrs[t]

        def closure(t=t):
            w.grad = gradient(t, w.data)

        opt.step(closure)
        trajectory.append(w.data.copy())
    return np.array(trajectory)


# ----- SGD ------------------------------------------------------------------------


def test_sgd_three_steps_follow_theta_minus_lr_times_gradient():
    lr, w, expected = 0.1, W0.copy(), []
    for _ in range(3):
        w = w - lr * quadratic_gradient(w)
        expected.append(w)
    assert_trajectory(run(optim.SGD, lr=lr), expected)


def test_sgd_weight_decay_adds_lambda_theta_to_the_gradient():
    lr, lam, w, expected = 0.1, 0.05, W0.copy(), []
    for _ in range(3):
        w = w - lr * (quadratic_gradient(w) + lam * w)
        expected.append(w)
    assert_trajectory(run(optim.SGD, lr=lr, weight_decay=lam), expected)


# ----- Momentum -------------------------------------------------------------------


def test_momentum_three_steps_match_velocity_formula():
    lr, gamma = 0.1, 0.9
    w, v, expected = W0.copy(), np.zeros_like(W0), []
    for _ in range(3):
        v = gamma * v + lr * quadratic_gradient(w)
        w = w - v
        expected.append(w)
    assert_trajectory(run(optim.Momentum, lr=lr, momentum=gamma), expected)


def test_momentum_keeps_the_learning_rate_inside_the_velocity_when_it_decays_mid_run():
    lrs, gamma = [0.1, 0.1, 0.05, 0.025, 0.0125], 0.9
    inside, outside = [], []
    w, v = W0.copy(), np.zeros_like(W0)
    for lr in lrs:  # the lecture: v_t = γv + ηg, θ = θ − v_t
        v = gamma * v + lr * quadratic_gradient(w)
        w = w - v
        inside.append(w)
    w, b = W0.copy(), np.zeros_like(W0)
    for lr in lrs:  # torch: b_t = γb + g, θ = θ − ηb_t
        b = gamma * b + quadratic_gradient(w)
        w = w - lr * b
        outside.append(w)
    got = run(optim.Momentum, steps=len(lrs), lrs=lrs, momentum=gamma)
    assert_trajectory(got, inside)
    assert np.max(np.abs(got[-1] - outside[-1])) > 1e-2


def test_momentum_with_step_decay_reproduces_the_scalar_anchor():
    """f(θ) = 1.5θ², θ_0 = 1, γ = 0.9, η_0 = 0.1 halved every step: 0.7, 0.325, −0.036875 (torch: 0.7, 0.46, 0.3175)."""
    theta = Tensor(1.0, requires_grad=True)
    opt = optim.Momentum([theta], lr=0.1, momentum=0.9)
    schedule = StepDecay(opt, step_size=1, gamma=0.5)
    values = []
    for _ in range(3):
        theta.grad = 3.0 * theta.data
        opt.step()
        schedule.step()
        values.append(theta.item())
    assert_trajectory(values, [0.7, 0.325, -0.036875])


# ----- Nesterov -------------------------------------------------------------------


def test_nesterov_three_steps_take_the_gradient_at_the_look_ahead_point():
    lr, gamma = 0.1, 0.9
    w, v, expected = W0.copy(), np.zeros_like(W0), []
    for _ in range(3):
        v = gamma * v + lr * quadratic_gradient(w - gamma * v)
        w = w - v
        expected.append(w)
    assert_trajectory(run(optim.Nesterov, lr=lr, momentum=gamma), expected)


def test_nesterov_calls_the_closure_at_theta_minus_gamma_v_and_updates_from_theta():
    lr, gamma = 0.1, 0.9
    w = Tensor(W0, requires_grad=True)
    opt = optim.Nesterov([w], lr=lr, momentum=gamma)
    seen = []

    def closure():
        seen.append(w.data.copy())
        w.grad = quadratic_gradient(w.data)
        return 0.0

    theta, v = W0.copy(), np.zeros_like(W0)
    for _ in range(3):
        opt.step(closure)
        np.testing.assert_array_equal(seen[-1], theta - gamma * v)
        v = gamma * v + lr * quadratic_gradient(theta - gamma * v)
        theta = theta - v  # from θ, not from the look-ahead point
        assert_trajectory(w.data, theta)


def test_nesterov_restores_theta_when_the_closure_raises():
    w = Tensor(W0, requires_grad=True)
    opt = optim.Nesterov([w], lr=0.1, momentum=0.9)
    w.grad = quadratic_gradient(w.data)
    opt.step(lambda: None)
    before = w.data.copy()

    def failing_closure():
        raise RuntimeError("loss blew up")

    with pytest.raises(RuntimeError, match="loss blew up"):
        opt.step(failing_closure)
    np.testing.assert_array_equal(w.data, before)


def test_nesterov_without_a_closure_says_why_it_needs_one():
    w = Tensor(W0, requires_grad=True)
    w.grad = quadratic_gradient(w.data)
    with pytest.raises(ValueError, match="Nesterov.step needs a closure.*look-ahead"):
        optim.Nesterov([w], lr=0.1).step()


# ----- Adagrad and RMSProp: ε inside the square root -------------------------------

TINY_GRADIENTS = [1e-6 * np.linspace(0.5, 1.5, 12).reshape(3, 4) * s for s in (1.0, -0.7, 1.3)]


def test_adagrad_three_steps_match_accumulated_squares_formula():
    lr, eps = 0.1, 1e-8
    w, G, expected = W0.copy(), np.zeros_like(W0), []
    for _ in range(3):
        g = quadratic_gradient(w)
        G = G + g**2
        w = w - lr / np.sqrt(G + eps) * g
        expected.append(w)
    assert_trajectory(run(optim.Adagrad, lr=lr, eps=eps), expected)


def test_adagrad_with_tiny_gradients_puts_eps_inside_the_square_root():
    lr, eps = 0.1, 1e-8
    w_in, w_out, G, inside, outside = W0.copy(), W0.copy(), np.zeros_like(W0), [], []
    for g in TINY_GRADIENTS:
        G = G + g**2
        w_in = w_in - lr / np.sqrt(G + eps) * g
        w_out = w_out - lr / (np.sqrt(G) + eps) * g
        inside.append(w_in)
        outside.append(w_out)
    got = run(optim.Adagrad, gradient=lambda t, w: TINY_GRADIENTS[t], lr=lr, eps=eps)
    assert_trajectory(got, inside)
    step_got, step_outside = np.abs(got[0] - W0), np.abs(outside[0] - W0)
    assert np.all(step_got < 0.05 * step_outside)  # ε outside would move θ ~100× further


def test_rmsprop_three_steps_match_running_average_formula():
    lr, rho, eps = 0.01, 0.9, 1e-8
    w, E, expected = W0.copy(), np.zeros_like(W0), []
    for _ in range(3):
        g = quadratic_gradient(w)
        E = rho * E + (1 - rho) * g**2
        w = w - lr / np.sqrt(E + eps) * g
        expected.append(w)
    assert_trajectory(run(optim.RMSProp, lr=lr, rho=rho, eps=eps), expected)


def test_rmsprop_with_tiny_gradients_puts_eps_inside_the_square_root():
    lr, rho, eps = 0.01, 0.9, 1e-8
    w_in, w_out, E, inside, outside = W0.copy(), W0.copy(), np.zeros_like(W0), [], []
    for g in TINY_GRADIENTS:
        E = rho * E + (1 - rho) * g**2
        w_in = w_in - lr / np.sqrt(E + eps) * g
        w_out = w_out - lr / (np.sqrt(E) + eps) * g
        inside.append(w_in)
        outside.append(w_out)
    got = run(optim.RMSProp, gradient=lambda t, w: TINY_GRADIENTS[t], lr=lr, rho=rho, eps=eps)
    assert_trajectory(got, inside)
    assert np.all(np.abs(got[0] - W0) < 0.2 * np.abs(outside[0] - W0))


def test_rmsprop_defaults_are_lr_0_001_and_rho_0_9():
    opt = optim.RMSProp([Tensor(W0, requires_grad=True)])
    assert (opt.lr, opt.rho, opt.eps) == (0.001, 0.9, 1e-8)


# ----- Adadelta -------------------------------------------------------------------


def adadelta_by_hand(lr, rho, eps, steps=3, accumulate_scaled=False):
    w, Eg2, Edx2, trajectory = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), []
    for _ in range(steps):
        g = quadratic_gradient(w)
        Eg2 = rho * Eg2 + (1 - rho) * g**2
        delta = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * g
        Edx2 = rho * Edx2 + (1 - rho) * (lr * delta if accumulate_scaled else delta) ** 2
        w = w + lr * delta
        trajectory.append(w)
    return np.array(trajectory)


def test_adadelta_with_lr_1_is_zeilers_rule_without_a_learning_rate():
    assert_trajectory(run(optim.Adadelta, rho=0.9, eps=1e-6), adadelta_by_hand(1.0, 0.9, 1e-6))


def test_adadelta_lr_scales_the_step_but_the_average_accumulates_the_unscaled_delta():
    got = run(optim.Adadelta, steps=4, lr=0.5, rho=0.9, eps=1e-6)
    assert_trajectory(got, adadelta_by_hand(0.5, 0.9, 1e-6, steps=4))
    scaled = adadelta_by_hand(0.5, 0.9, 1e-6, steps=4, accumulate_scaled=True)
    assert not np.allclose(got, scaled, rtol=1e-3, atol=0)


# ----- Adam and AdamW -------------------------------------------------------------


def adam_by_hand(lr, b1, b2, eps, steps=3, coupled=0.0, decoupled=0.0, lrs=None):
    w, m, v, trajectory = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), []
    for t in range(1, steps + 1):
        eta = lrs[t - 1] if lrs else lr
        g = quadratic_gradient(w) + coupled * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        w = w - eta * decoupled * w - eta * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(w)
    return np.array(trajectory)


def test_adam_three_steps_match_bias_corrected_moments_formula():
    got = run(optim.Adam, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    assert_trajectory(got, adam_by_hand(0.01, 0.9, 0.999, 1e-8))


def test_adam_trajectory_follows_a_learning_rate_decayed_mid_run():
    lrs = [0.05, 0.05, 0.02, 0.01, 0.005]
    got = run(optim.Adam, steps=5, lrs=lrs, beta1=0.8, beta2=0.99, eps=1e-8)
    assert_trajectory(got, adam_by_hand(None, 0.8, 0.99, 1e-8, steps=5, lrs=lrs))


@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 1e3])
def test_adam_first_step_moves_each_parameter_by_lr_times_the_sign_of_its_gradient(magnitude):
    """Bias correction makes m̂_1 = g and v̂_1 = g², so θ moves by η g/|g|; without it the step would be ≈3.16η."""
    lr = 0.01
    g = magnitude * np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    g[g == 0] = magnitude
    got = run(optim.Adam, steps=1, gradient=lambda t, w: g, lr=lr)[0]
    np.testing.assert_allclose(W0 - got, lr * np.sign(g), rtol=2e-4)


def test_adam_weight_decay_is_coupled_l2_in_the_gradient():
    got = run(optim.Adam, lr=0.01, weight_decay=0.1)
    assert_trajectory(got, adam_by_hand(0.01, 0.9, 0.999, 1e-8, coupled=0.1))


def test_adamw_decays_theta_by_lr_times_lambda_outside_the_moments():
    got = run(optim.AdamW, lr=0.01, weight_decay=0.1)
    assert_trajectory(got, adam_by_hand(0.01, 0.9, 0.999, 1e-8, decoupled=0.1))


def test_adam_coupled_and_adamw_decoupled_weight_decay_give_different_trajectories():
    coupled = run(optim.Adam, lr=0.01, weight_decay=0.1)
    decoupled = run(optim.AdamW, lr=0.01, weight_decay=0.1)
    assert np.max(np.abs(coupled - decoupled)) > 1e-4


def test_adamw_matches_the_papers_algorithm_2_with_lambda_paper_equal_to_lr_times_lambda():
    """Loshchilov & Hutter: θ_t = θ_{t−1} − η_t(α m̂/(√v̂+ε) + λ_paper θ_{t−1}), with α = η, η_t = 1."""
    alpha, lam = 0.01, 0.1
    lam_paper = alpha * lam
    w, m, v, expected = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), []
    for t in range(1, 4):
        g = quadratic_gradient(w)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        w = w - 1.0 * (alpha * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8) + lam_paper * w)
        expected.append(w)
    assert_trajectory(run(optim.AdamW, lr=alpha, weight_decay=lam), expected)


def test_adamw_without_decay_is_adam():
    np.testing.assert_array_equal(run(optim.AdamW, lr=0.01, weight_decay=0.0), run(optim.Adam, lr=0.01))


# ----- Adafactor ------------------------------------------------------------------


def rms(x: np.ndarray) -> float:
    return math.sqrt(sum(value * value for value in np.ravel(x)) / np.size(x))


def adafactor_by_hand(x0, gradients, lr=1e-2, eps1=1e-30, eps2=1e-3, d=1.0, c=0.8, clip=True):
    """Shazeer & Stern, Algorithm 4 (matrix) or 5 (vector), with explicit loops over rows and columns."""
    x = np.array(x0, dtype=float)
    factored = x.ndim == 2
    R = np.zeros(x.shape[0]) if factored else None
    Cs = np.zeros(x.shape[1]) if factored else None
    V = np.zeros_like(x)
    trajectory, rms_u = [], []
    for t, g in enumerate(gradients, start=1):
        rho_t = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, rms(x)) * rho_t
        beta = 1 - t ** (-c)
        if factored:
            n, m = x.shape
            for i in range(n):
                R[i] = beta * R[i] + (1 - beta) * sum(g[i, j] ** 2 + eps1 for j in range(m))
            for j in range(m):
                Cs[j] = beta * Cs[j] + (1 - beta) * sum(g[i, j] ** 2 + eps1 for i in range(n))
            total = sum(R)
            V_hat = np.array([[R[i] * Cs[j] / total for j in range(m)] for i in range(n)])
        else:
            V = beta * V + (1 - beta) * (g**2 + eps1)
            V_hat = V
        U = g / np.sqrt(V_hat)
        rms_u.append(rms(U))
        U_hat = U / max(1.0, rms(U) / d) if clip else U
        x = x - alpha * U_hat
        trajectory.append(x)
    return np.array(trajectory), rms_u


def adafactor_run(x0, gradients, **hyperparameters):
    x = Tensor(x0, requires_grad=True)
    opt = optim.Adafactor([x], **hyperparameters)
    trajectory = []
    for g in gradients:
        x.grad = g
        opt.step()
        trajectory.append(x.data.copy())
    return np.array(trajectory), opt


MATRIX_GRADIENTS = [np.linspace(-1.0, 2.0, 12).reshape(3, 4) ** (k + 1) + 0.1 * k for k in range(3)]
VECTOR_GRADIENTS = [np.linspace(-0.5, 0.3, 5) * s for s in (1.0, -2.0, 0.5)]


def test_adafactor_keeps_row_and_column_statistics_for_a_matrix():
    _, opt = adafactor_run(W0, MATRIX_GRADIENTS[:1])
    assert set(opt.state[0]) == {"step", "R", "C"}
    assert opt.state[0]["R"].shape == (3,) and opt.state[0]["C"].shape == (4,)


def test_adafactor_keeps_the_full_second_moment_for_a_vector():
    _, opt = adafactor_run(np.linspace(-0.4, 0.6, 5), VECTOR_GRADIENTS[:1])
    assert set(opt.state[0]) == {"step", "V"}
    assert opt.state[0]["V"].shape == (5,)


def test_adafactor_matrix_three_steps_match_algorithm_4():
    got, _ = adafactor_run(W0, MATRIX_GRADIENTS, lr=0.6)  # ρ_t = min(0.6, 1/√t): 0.6, 0.6, 1/√3
    expected, _ = adafactor_by_hand(W0, MATRIX_GRADIENTS, lr=0.6)
    assert_trajectory(got, expected)


def test_adafactor_vector_three_steps_match_algorithm_5_with_eps2_floor_on_a_small_parameter():
    x0 = 1e-4 * np.linspace(-0.4, 0.6, 5)  # RMS(x_0) < ε2, so α_1 = ε2 ρ_1
    got, _ = adafactor_run(x0, VECTOR_GRADIENTS)
    expected, _ = adafactor_by_hand(x0, VECTOR_GRADIENTS)
    assert_trajectory(got, expected)


def test_adafactor_clips_a_large_update_to_rms_d():
    gradients = [np.full(5, 1e-3), np.full(5, 1e-3), np.linspace(50.0, 100.0, 5)]  # a sudden large gradient
    got, _ = adafactor_run(np.linspace(-0.4, 0.6, 5), gradients, d=1.0)
    expected, rms_u = adafactor_by_hand(np.linspace(-0.4, 0.6, 5), gradients, d=1.0)
    unclipped, _ = adafactor_by_hand(np.linspace(-0.4, 0.6, 5), gradients, d=1.0, clip=False)
    assert rms_u[2] > 1.2  # the clipping is active on step 3
    assert_trajectory(got, expected)
    assert not np.allclose(got[2], unclipped[2], rtol=1e-3, atol=0)


# ----- behaviour shared by every optimizer ---------------------------------------

ALL = {
    "SGD": (optim.SGD, {"lr": 0.1}),
    "Momentum": (optim.Momentum, {"lr": 0.05, "momentum": 0.9}),
    "Nesterov": (optim.Nesterov, {"lr": 0.05, "momentum": 0.9}),
    "Adagrad": (optim.Adagrad, {"lr": 0.3}),
    "Adadelta": (optim.Adadelta, {"lr": 1.0}),
    "RMSProp": (optim.RMSProp, {"lr": 0.01}),
    "Adam": (optim.Adam, {"lr": 0.05, "weight_decay": 0.01}),
    "AdamW": (optim.AdamW, {"lr": 0.05}),
    "Adafactor": (optim.Adafactor, {"lr": 0.1}),
}
every_optimizer = pytest.mark.parametrize("optimizer_class, hyperparameters", ALL.values(), ids=ALL.keys())
PARAM_SHAPES = [(3, 4), (4,)]


def make_params():
    return [Tensor(np.linspace(-0.4, 0.6, int(np.prod(s))).reshape(s), requires_grad=True) for s in PARAM_SHAPES]


def quadratic_closure(params):
    """Sets each .grad to the quadratic's gradient at the current θ (matrix: a ⊙ θ + c; vector: θ − 0.2)."""

    def closure():
        params[0].grad = quadratic_gradient(params[0].data)
        params[1].grad = params[1].data - 0.2
        return 0.0

    return closure


@every_optimizer
def test_load_state_dict_continues_a_run_bitwise_identically(optimizer_class, hyperparameters):
    params = make_params()
    first = optimizer_class(params, **hyperparameters)
    for _ in range(3):
        first.step(quadratic_closure(params))
    saved_state, saved_values = first.state_dict(), [p.data.copy() for p in params]
    first.lr = first.lr * 0.5
    for _ in range(3):
        first.step(quadratic_closure(params))

    copies = [Tensor(value, requires_grad=True) for value in saved_values]
    second = optimizer_class(copies, lr=123.0)
    second.load_state_dict(saved_state)
    assert second.lr == saved_state["hyperparameters"]["lr"]
    second.lr = second.lr * 0.5
    for _ in range(3):
        second.step(quadratic_closure(copies))
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)


@every_optimizer
def test_state_dict_is_a_copy_not_a_view_of_the_optimizer_state(optimizer_class, hyperparameters):
    params = make_params()
    opt = optimizer_class(params, **hyperparameters)
    opt.step(quadratic_closure(params))
    saved = opt.state_dict()
    for entry in saved["state"].values():
        for value in entry.values():
            if isinstance(value, np.ndarray):
                value += 1.0
    saved["hyperparameters"]["lr"] = 99.0
    fresh = opt.state_dict()
    assert fresh["hyperparameters"]["lr"] == hyperparameters["lr"]
    for index, entry in fresh["state"].items():
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                assert not np.array_equal(value, saved["state"][index][key])


def test_load_state_dict_rejects_another_optimizers_state():
    params = make_params()
    adam = optim.Adam(params)
    adam.step(quadratic_closure(params))
    with pytest.raises(ValueError, match="AdamW.load_state_dict got the state of a 'Adam' optimizer"):
        optim.AdamW(params).load_state_dict(adam.state_dict())


@every_optimizer
def test_step_reads_grad_without_modifying_it(optimizer_class, hyperparameters):
    params = make_params()
    opt = optimizer_class(params, **hyperparameters)
    set_grads = []

    def closure():
        quadratic_closure(params)()
        set_grads.append([(p.grad, p.grad.copy()) for p in params])

    for _ in range(3):
        opt.step(closure)
        for p, (array, snapshot) in zip(params, set_grads[-1]):
            assert p.grad is array
            np.testing.assert_array_equal(p.grad, snapshot)


@every_optimizer
def test_parameter_whose_grad_is_none_is_skipped(optimizer_class, hyperparameters):
    params = make_params()
    opt = optimizer_class(params, **hyperparameters)
    before = params[1].data.copy()

    def closure():
        params[0].grad = quadratic_gradient(params[0].data)
        params[1].grad = None

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_array_equal(params[1].data, before)
    assert 1 not in opt.state and 0 in opt.state
    assert not np.array_equal(params[0].data, make_params()[0].data)


@every_optimizer
def test_step_builds_no_graph(optimizer_class, hyperparameters):
    params = make_params()
    opt = optimizer_class(params, **hyperparameters)
    opt.step(quadratic_closure(params))
    assert all(isinstance(p.data, np.ndarray) and p.data.dtype == np.float64 and p._parents == () for p in params)


@every_optimizer
def test_zero_grad_sets_every_grad_to_none(optimizer_class, hyperparameters):
    params = make_params()
    opt = optimizer_class(params, **hyperparameters)
    quadratic_closure(params)()
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@every_optimizer
def test_step_returns_the_closures_loss(optimizer_class, hyperparameters):
    params = make_params()

    def closure():
        quadratic_closure(params)()
        return 42.0

    assert optimizer_class(params, **hyperparameters).step(closure) == 42.0


@every_optimizer
def test_optimizer_minimises_a_convex_quadratic_built_from_tensor_ops(optimizer_class, hyperparameters):
    target = Tensor(np.linspace(1.0, -1.0, 12).reshape(3, 4))
    scale = Tensor(A)
    w = Tensor(W0, requires_grad=True)
    b = Tensor(np.zeros(4), requires_grad=True)
    opt = optimizer_class([w, b], **hyperparameters)

    def closure():
        opt.zero_grad()
        loss = (scale * (w + b - target) ** 2).sum() * 0.5 + (b**2).sum()
        loss.backward()
        return loss.item()

    initial = closure()
    for _ in range(100):
        opt.step(closure)
    assert closure() < 0.5 * initial


BAD_HYPERPARAMETERS = [
    (optim.SGD, {"lr": -0.1}, "lr"),
    (optim.SGD, {"weight_decay": -1e-3}, "weight_decay"),
    (optim.Momentum, {"momentum": 1.0}, "momentum"),
    (optim.Nesterov, {"momentum": -0.1}, "momentum"),
    (optim.Adagrad, {"eps": 0.0}, "eps"),
    (optim.Adadelta, {"rho": 1.0}, "rho"),
    (optim.Adadelta, {"eps": -1e-6}, "eps"),
    (optim.RMSProp, {"rho": 1.5}, "rho"),
    (optim.Adam, {"beta1": 1.0}, "beta1"),
    (optim.Adam, {"beta2": -0.5}, "beta2"),
    (optim.Adam, {"lr": float("nan")}, "lr"),
    (optim.AdamW, {"weight_decay": -0.01}, "weight_decay"),
    (optim.Adafactor, {"eps1": 0.0}, "eps1"),
    (optim.Adafactor, {"d": 0.0}, "d"),
    (optim.Adafactor, {"decay_exponent": 0.0}, "decay_exponent"),
]


@pytest.mark.parametrize(
    "optimizer_class, hyperparameters, name",
    BAD_HYPERPARAMETERS,
    ids=[f"{cls.__name__}-{name}={kw[name]}" for cls, kw, name in BAD_HYPERPARAMETERS],
)
def test_bad_hyperparameter_is_rejected_naming_optimizer_and_hyperparameter(optimizer_class, hyperparameters, name):
    with pytest.raises(ValueError, match=rf"^{optimizer_class.__name__}: hyperparameter {name} must"):
        optimizer_class(make_params(), **hyperparameters)


def test_parameters_must_be_a_non_empty_iterable_of_tensors():
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match=r"iterable of Tensors, such as model.parameters\(\)"):
        optim.SGD(Tensor(W0, requires_grad=True))
    with pytest.raises(TypeError, match=r"model.parameters\(\)"):
        optim.SGD(Module())
    with pytest.raises(TypeError, match="parameter 1 is a ndarray, not a Tensor"):
        optim.SGD([Tensor(W0, requires_grad=True), W0])
    w = Tensor(W0, requires_grad=True)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.Adam([w, w])


def test_gradient_of_the_wrong_shape_is_reported_with_the_parameter_index():
    w = Tensor(W0, requires_grad=True)
    w.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(3, 4\) but its .grad has shape \(4,\)"):
        optim.SGD([w]).step()
