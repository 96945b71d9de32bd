"""The CSE 587 layer s = uᵀ f(Wx + b), f = σ, through the student's engine, node by node.

    z₀ = Wx    z = z₀ + b    h = σ(z)    s = uᵀh

∂s/∂h = uᵀ; δ = ∂s/∂z = uᵀ ∘ f'(z); ∂s/∂b = δ; ∂s/∂W = δᵀxᵀ, an n × m matrix:
by the shape convention, the gradient has the parameter's shape. Each node
gets the upstream gradient the reference computes, so a mistake in one
operation costs that operation only.
"""

import numpy as np
import pytest

from reference import Tensor

N, M = 3, 5  # n outputs; m inputs, one per word of "museums in Paris are amazing"


def layer():
    rng = np.random.default_rng(587)
    W, b, u, x = rng.normal(size=(N, M)), rng.normal(size=N), rng.normal(size=N), rng.normal(size=M)
    z = W @ x + b
    s = Tensor(z).sigmoid().data
    return {"W": W, "b": b, "u": u, "x": x, "z0": W @ x, "z": z, "h": s, "delta": u * s * (1 - s)}


@pytest.mark.grade(points=0.25, functions=["Tensor.__matmul__"])
def test_s_equals_u_dot_h_gives_h_the_gradient_u(engine):
    p = layer()
    # 1-D @ 1-D: a number
    engine.matches_reference(
        lambda ns, u, h: u @ h, [p["u"], p["h"]], np.array(1.0), what="s = u @ h", names=["u", "h"]
    )


@pytest.mark.grade(points=0.25, functions=["Tensor.sigmoid"])
def test_sigmoid_gives_z_the_gradient_delta(engine):
    p = layer()
    engine.matches_reference(lambda ns, z: z.sigmoid(), [p["z"]], p["u"], what="h = z.sigmoid()", names=["z (δ)"])


@pytest.mark.grade(points=0.25, functions=["Tensor.__add__"])
def test_the_bias_gets_delta(engine):
    p = layer()
    engine.matches_reference(
        lambda ns, z0, b: z0 + b, [p["z0"], p["b"]], p["delta"], what="z = z0 + b", names=["z0", "b"]
    )


@pytest.mark.grade(points=0.5, functions=["Tensor.__matmul__"])
def test_the_weight_gets_the_outer_product_delta_x_in_its_own_shape(engine):
    p = layer()
    engine.matches_reference(
        lambda ns, W, x: W @ x, [p["W"], p["x"]], p["delta"], what="z0 = W @ x", names=["W (δᵀxᵀ)", "x"]
    )
