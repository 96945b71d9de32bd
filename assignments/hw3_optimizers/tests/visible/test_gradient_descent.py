"""Gradient descent, with momentum and Nesterov's: trajectories of a least-squares fit against the reference.

Every run holds W, b and a third parameter that the objective does not use
(its .grad stays None, so it must not move). The learning rate decays
mid-run through the given StepDecay wherever the lecture's convention (η
inside the velocity) makes a difference.
"""

import pytest

BATCHES = {"batch": None, "mini-batch": 4, "stochastic": 1}


@pytest.mark.grade(points=1.5, functions=["SGD.step"])
@pytest.mark.parametrize("mode", BATCHES)
def test_batch_mini_batch_and_stochastic_gradient_descent(trajectories, least_squares, plots, mode):
    """θ = θ − η∇J(θ; x^(i:i+n), y^(i:i+n)): J on all 8 examples, on batches of 4, or on one example at a time."""
    problem = least_squares(seed=1, batch=BATCHES[mode])
    trajectories.check("SGD", problem, steps=4, hyperparameters={"lr": 0.1}, plots=plots)


@pytest.mark.grade(points=0.5, functions=["SGD.step"])
def test_sgd_weight_decay_with_a_decaying_learning_rate(trajectories, least_squares, plots):
    problem = least_squares(seed=2)
    decay = {"step_size": 1, "gamma": 0.5}
    trajectories.check("SGD", problem, 4, {"lr": 0.2, "weight_decay": 0.1}, decay=decay, plots=plots)


@pytest.mark.grade(points=1, functions=["Momentum.step"])
def test_momentum_keeps_the_learning_rate_inside_the_velocity(trajectories, least_squares, plots):
    """v = γv + η∇J(θ), θ = θ − v, with η halved every two steps: a past step keeps the η it was taken with."""
    decay = {"step_size": 2, "gamma": 0.5}
    trajectories.check("Momentum", least_squares(seed=3), 5, {"lr": 0.1, "momentum": 0.9}, decay=decay, plots=plots)


@pytest.mark.grade(points=1.5, functions=["Nesterov.step"])
def test_nesterov_takes_the_gradient_at_the_look_ahead_point(trajectories, least_squares, plots):
    """The objective records where it was evaluated: θ − γv_{t−1} at step t, then θ = θ − v_t from θ itself."""
    decay = {"step_size": 2, "gamma": 0.5}
    hyperparameters = {"lr": 0.1, "momentum": 0.9}
    trajectories.check("Nesterov", least_squares(seed=4), 5, hyperparameters, decay=decay, look_ahead=True, plots=plots)
