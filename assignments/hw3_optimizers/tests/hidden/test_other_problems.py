"""Every update rule on problems the visible tests do not use: other seeds, shapes, hyperparameters."""

import pytest

WIDE = {"n": 10, "d": 4, "k": 3, "unused": 5}  # W (4, 3), b (3,), an unused vector of 5


@pytest.mark.grade(points=0.75, functions=["SGD.step"])
@pytest.mark.parametrize("batch", [None, 3, 1])
def test_sgd_on_a_wider_least_squares_fit(trajectories, least_squares, batch):
    trajectories.check("SGD", least_squares(seed=101, batch=batch, **WIDE), 4, {"lr": 0.05})


@pytest.mark.grade(points=0.25, functions=["SGD.step"])
def test_sgd_weight_decay_on_three_parameters(trajectories, quadratic):
    problem = quadratic(seed=102, shapes=((2, 3), (3,), (2, 2, 2)))
    trajectories.check("SGD", problem, 3, {"lr": 0.3, "weight_decay": 0.05}, decay={"step_size": 2, "gamma": 0.3})


@pytest.mark.grade(points=0.5, functions=["Momentum.step"])
def test_momentum_on_a_quadratic_with_decay(trajectories, quadratic):
    problem = quadratic(seed=103, shapes=((4, 2), (2,)))
    trajectories.check("Momentum", problem, 5, {"lr": 0.2, "momentum": 0.8}, decay={"step_size": 1, "gamma": 0.7})


@pytest.mark.grade(points=1, functions=["Nesterov.step"])
def test_nesterov_look_ahead_on_a_wider_fit(trajectories, least_squares):
    problem = least_squares(seed=104, **WIDE)
    decay = {"step_size": 1, "gamma": 0.6}
    trajectories.check("Nesterov", problem, 5, {"lr": 0.05, "momentum": 0.95}, decay=decay, look_ahead=True)


@pytest.mark.grade(points=0.5, functions=["Adagrad.step"])
def test_adagrad_on_a_quadratic_with_tiny_gradients_and_a_larger_eps(trajectories, quadratic):
    problem = quadratic(seed=105, shapes=((2, 5), (5,)), scale=1e-3, curvature=1e-3)
    trajectories.check("Adagrad", problem, 4, {"lr": 0.05, "eps": 1e-6})


@pytest.mark.grade(points=0.5, functions=["RMSProp.step"])
def test_rmsprop_on_a_wider_fit(trajectories, least_squares):
    trajectories.check("RMSProp", least_squares(seed=106, **WIDE), 4, {"lr": 0.02, "rho": 0.8, "eps": 1e-6})


@pytest.mark.grade(points=0.5, functions=["Adadelta.step"])
def test_adadelta_as_zeilers_rule_on_a_quadratic(trajectories, quadratic):
    problem = quadratic(seed=107, shapes=((3, 3), (3,)))
    trajectories.check("Adadelta", problem, 4, {"lr": 1.0, "rho": 0.95, "eps": 1e-6})


@pytest.mark.grade(points=1, functions=["Adam.step"])
def test_adam_coupled_weight_decay(trajectories, least_squares):
    """Adam's weight_decay is L2 coupled into g before the moments (AdamW's is decoupled)."""
    trajectories.check("Adam", least_squares(seed=108, **WIDE), 4, {"lr": 0.05, "weight_decay": 0.3})


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_with_tiny_gradients_on_a_wider_fit(trajectories, quadratic):
    problem = quadratic(seed=109, shapes=((2, 2, 3), (3,)), scale=3e-5, curvature=3e-5)
    decay = {"step_size": 2, "gamma": 0.5}
    trajectories.check("Adam", problem, 4, {"lr": 0.02, "beta1": 0.85, "eps": 1e-9}, decay=decay)


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_first_step_with_large_gradients(trajectories, quadratic):
    problem = quadratic(seed=110, shapes=((5,), (2, 3)), scale=1e3, curvature=0.0)
    trajectories.check("Adam", problem, 1, {"lr": 0.003})


@pytest.mark.grade(points=1, functions=["AdamW.step"])
def test_adamw_on_a_quadratic_with_a_large_decay(trajectories, quadratic):
    problem = quadratic(seed=111, shapes=((3, 2), (2,)))
    trajectories.check("AdamW", problem, 4, {"lr": 0.1, "weight_decay": 0.5, "beta2": 0.99})


@pytest.mark.grade(points=0.5, functions=["Adafactor.step"])
def test_adafactor_relative_step_floor_for_small_parameters(trajectories, quadratic):
    """RMS(θ_0) < ε2 = 1e-3: α_t = ε2·ρ_t."""
    problem = quadratic(seed=112, shapes=((2, 3), (3,)), size=1e-4, scale=1e-2, curvature=1.0)
    trajectories.check("Adafactor", problem, 3, {"lr": 0.5})


@pytest.mark.grade(points=0.5, functions=["Adafactor.step"])
def test_adafactor_clips_large_updates(trajectories, quadratic):
    problem = quadratic(seed=113, shapes=((4, 3), (6,)), curvature=3.0)
    trajectories.check("Adafactor", problem, 4, {"lr": 0.3, "d": 0.5})
