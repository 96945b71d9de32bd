"""Adagrad, RMSProp and Adadelta: trajectories against the reference, and tiny gradients where ε's place shows.

With gradients about 1e-6, √(G + ε) (the lecture's) and √G + ε differ by a
factor of about 100 when ε = 1e-8: a trajectory tells them apart at once.
"""

import pytest

TINY = {"scale": 1e-6, "curvature": 1e-6}


@pytest.mark.grade(points=0.5, functions=["Adagrad.step"])
def test_adagrad_trajectory(trajectories, least_squares, plots):
    """G = G + g², θ = θ − η/√(G + ε) · g."""
    trajectories.check("Adagrad", least_squares(seed=11), 4, {"lr": 0.1}, plots=plots)


@pytest.mark.grade(points=0.5, functions=["Adagrad.step"])
def test_adagrad_with_tiny_gradients_keeps_eps_inside_the_square_root(trajectories, quadratic):
    trajectories.check("Adagrad", quadratic(seed=12, **TINY), 3, {"lr": 0.01, "eps": 1e-8})


@pytest.mark.grade(points=0.5, functions=["RMSProp.step"])
def test_rmsprop_trajectory(trajectories, least_squares, plots):
    """E[g²] = ρE[g²] + (1 − ρ)g², θ = θ − η/√(E[g²] + ε) · g."""
    trajectories.check("RMSProp", least_squares(seed=13), 4, {"lr": 0.01, "rho": 0.9}, plots=plots)


@pytest.mark.grade(points=0.5, functions=["RMSProp.step"])
def test_rmsprop_with_tiny_gradients_keeps_eps_inside_the_square_root(trajectories, quadratic):
    trajectories.check("RMSProp", quadratic(seed=14, **TINY), 3, {"lr": 0.001, "rho": 0.9, "eps": 1e-8})


@pytest.mark.grade(points=1, functions=["Adadelta.step"])
def test_adadelta_trajectory_with_lr_scaling_only_the_applied_step(trajectories, least_squares, plots):
    """η = 0.5 scales θ's step; E[Δθ²] accumulates the unscaled Δθ (η = 1 is Zeiler's rule)."""
    trajectories.check("Adadelta", least_squares(seed=15), 4, {"lr": 0.5, "rho": 0.9, "eps": 1e-6}, plots=plots)
