"""Adam, AdamW and Adafactor: first steps, trajectories, tiny gradients, weight decay, a saved and loaded state."""

import numpy as np
import pytest


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_first_step_moves_each_entry_by_lr_times_the_sign_of_its_gradient(trajectories, quadratic):
    """Bias correction makes m̂_1 = g and v̂_1 = g²: whatever |g| (1e-3 to 1e3 here), θ_1 = θ_0 − η·g/(|g| + ε)."""
    problem = quadratic(seed=21, curvature=0.0)  # the gradient is the constant c
    problem.data["c"] = [c * np.logspace(-3, 3, c.size).reshape(c.shape) for c in problem.data["c"]]
    trajectories.check("Adam", problem, 1, {"lr": 0.01})


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_trajectory_with_a_decaying_learning_rate(trajectories, least_squares, plots):
    hyperparameters = {"lr": 0.05, "beta1": 0.8, "beta2": 0.99}
    decay = {"step_size": 2, "gamma": 0.5}
    trajectories.check("Adam", least_squares(seed=22), 5, hyperparameters, decay=decay, plots=plots)


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_with_tiny_gradients_keeps_eps_outside_the_square_root(trajectories, quadratic):
    """With g ≈ 1e-4 and ε = 1e-8, √v̂ + ε ≈ 1e-4 while √(v̂ + ε) ≈ 1.4e-4."""
    problem = quadratic(seed=23, scale=1e-4, curvature=1e-4)
    trajectories.check("Adam", problem, 3, {"lr": 0.01, "eps": 1e-8})


@pytest.mark.grade(points=0.5, functions=["Adam.step"])
def test_adam_state_saved_and_loaded_continues_the_run(trajectories, least_squares):
    """Two steps, then state_dict() into a new Adam over new tensors (load_state_dict), three more steps:
    the step counts and moments must live in the optimizer's state for the run to continue as one."""
    trajectories.check("Adam", least_squares(seed=24), 5, {"lr": 0.05}, resume_after=2)


@pytest.mark.grade(points=1.5, functions=["AdamW.step"])
def test_adamw_decays_the_weights_outside_the_moments(trajectories, least_squares, plots):
    """θ = θ − ηλθ − η m̂/(√v̂ + ε), with m and v of the raw gradient; λ = 0.2 so coupling would show."""
    hyperparameters = {"lr": 0.05, "weight_decay": 0.2}
    decay = {"step_size": 2, "gamma": 0.5}
    trajectories.check("AdamW", least_squares(seed=25), 5, hyperparameters, decay=decay, plots=plots)


@pytest.mark.grade(points=1.5, functions=["Adafactor.step"])
def test_adafactor_matrix_and_vector_trajectory(trajectories, least_squares, plots):
    """W (3×4) keeps row and column statistics, b (4,) its full second moment; η = 0.8 so ρ_t = min(η, 1/√t)
    is η, then 1/√t; d = 0.8 so some updates are clipped."""
    problem = least_squares(seed=26, n=8, d=3, k=4)
    trajectories.check("Adafactor", problem, 4, {"lr": 0.8, "d": 0.8}, plots=plots)
