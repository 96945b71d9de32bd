"""At a kink the derivative is a convention (functional.py's table): each one pinned by a test of its own.

=============  ===================================================
relu           ReLU'(0) = 0
sign           0 everywhere, also at 0
leaky_relu     k at 0 (so that k = 0 agrees with ReLU'(0) = 0)
hardtanh       1 on the closed interval [−1, 1], ends included
maximum        a tie sends the upstream gradient to neither input
=============  ===================================================
"""

import numpy as np
import pytest

UPSTREAM = np.array([0.7, -1.3, 2.1, 0.4, -0.9])


def leaky_gradient_with_one_at_zero(u, z):
    return [u * np.where(z >= 0, 1.0, 0.1)]


@pytest.mark.grade(points=0.25, functions=["Tensor.relu"])
def test_relu_derivative_at_zero_is_zero(engine):
    z = np.array([-1.0, 0.0, 2.0, 0.0, 0.5])
    engine.matches_reference(lambda ns, z: z.relu(), [z], UPSTREAM, what="z.relu()", names="z")


@pytest.mark.grade(points=0.25, functions=["sign"])
def test_sign_passes_no_gradient_even_at_zero(engine):
    z = np.array([-2.0, 0.0, 3.0, -0.5, 0.0])
    engine.matches_reference(lambda ns, z: ns.sign(z), [z], UPSTREAM, what="sign(z)", names="z")


@pytest.mark.grade(points=0.25, functions=["leaky_relu"])
def test_leaky_relu_derivative_at_zero_is_the_slope_k(engine):
    z = np.array([-1.0, 0.0, 2.0, 0.0, -0.5])
    at_kink = ("leaky'(0) = k by convention, which agrees with ReLU'(0) = 0 for k = 0", leaky_gradient_with_one_at_zero)
    engine.matches_reference(
        lambda ns, z: ns.leaky_relu(z, 0.1), [z], UPSTREAM, what="leaky_relu(z, 0.1)", names="z", mistakes=[at_kink]
    )


@pytest.mark.grade(points=0.25, functions=["hardtanh"])
def test_hardtanh_derivative_is_one_on_the_closed_interval(engine):
    z = np.array([-2.0, -1.0, 0.3, 1.0, 1.5])  # ±1 belong to the middle piece −1 ≤ z ≤ 1
    engine.matches_reference(lambda ns, z: ns.hardtanh(z), [z], UPSTREAM, what="hardtanh(z)", names="z")


@pytest.mark.grade(points=0.25, functions=["maximum"])
def test_maximum_sends_nothing_to_either_input_at_a_tie(engine):
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.0])
    b = np.array([1.0, 0.0, 5.0, -1.0, 0.5])  # ties at entries 0 and 3
    engine.matches_reference(lambda ns, a, b: ns.maximum(a, b), [a, b], UPSTREAM, what="maximum(a, b)", names="ab")
