"""How much the Tensor engine costs over the same computation written by hand in numpy.

One training step's arithmetic, forward and backward, of a 3-layer ReLU MLP
(256 → 256 → 256 → 10) on a batch of 128 with the cross-entropy loss:

- engine: reference.nn.MLP, reference.functional.cross_entropy, .backward();
- by hand: the same matmuls, ReLU masks and softmax written out in numpy.

Both compute the same gradients (checked before timing). Each figure is the
best and the median of several timeit repeats, in milliseconds per step.
Target: engine ≤ 2 × hand-written numpy.

Run: python benchmarks/bench_engine.py [--repeats R] [--number N]
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

from reference import Tensor, nn, tolerances
from reference import functional as F

SIZES = [256, 256, 256, 10]
BATCH = 128


def engine_step(model: nn.MLP, x: np.ndarray, targets: np.ndarray) -> list[np.ndarray]:
    """Forward and backward through the engine; returns the parameter gradients."""
    model.zero_grad()
    F.cross_entropy(model(Tensor(x)), targets).backward()
    return [p.grad for p in model.parameters()]


def numpy_step(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, targets: np.ndarray) -> list[np.ndarray]:
    """The same step by hand: Z = A Wᵀ + b, A = ReLU(Z), L = mean −log softmax[target]."""
    activations, pre_activations = [x], []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        z = activations[-1] @ W.T + b
        pre_activations.append(z)
        activations.append(np.maximum(z, 0.0) if layer < len(weights) - 1 else z)
    logits = activations[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    softmax = np.exp(shifted)
    softmax /= softmax.sum(axis=1, keepdims=True)

    delta = softmax  # ∂L/∂logits = (softmax − onehot) / N
    delta[np.arange(len(targets)), targets] -= 1.0
    delta /= len(targets)
    gradients: list[np.ndarray] = []
    for layer in reversed(range(len(weights))):
        gradients[:0] = [delta.T @ activations[layer], delta.sum(axis=0)]  # ∂L/∂W, ∂L/∂b
        if layer > 0:
            delta = (delta @ weights[layer]) * (pre_activations[layer - 1] > 0)
    return gradients


def measure(step, repeats: int, number: int) -> tuple[float, float]:
    """(best, median) milliseconds per call of ``step``."""
    times = np.array(timeit.repeat(step, repeat=repeats, number=number)) / number * 1e3
    return float(times.min()), float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    model = nn.MLP(SIZES, activation="relu", rng=rng)
    x = rng.standard_normal((BATCH, SIZES[0]))
    targets = rng.integers(0, SIZES[-1], BATCH)
    params = model.parameters()
    weights, biases = [p.data for p in params[0::2]], [p.data for p in params[1::2]]

    for got, expected in zip(engine_step(model, x, targets), numpy_step(weights, biases, x, targets)):
        np.testing.assert_allclose(got, expected, rtol=tolerances.FORWARD_RTOL, atol=tolerances.FORWARD_ATOL)

    engine_best, engine_median = measure(lambda: engine_step(model, x, targets), args.repeats, args.number)
    numpy_best, numpy_median = measure(lambda: numpy_step(weights, biases, x, targets), args.repeats, args.number)
    print(f"MLP {' → '.join(map(str, SIZES))}, batch {BATCH}, ReLU + cross-entropy, forward + backward")
    print(f"  engine (reference.Tensor): best {engine_best:7.3f} ms   median {engine_median:7.3f} ms")
    print(f"  numpy by hand:             best {numpy_best:7.3f} ms   median {numpy_median:7.3f} ms")
    print(f"  ratio engine / numpy:      best {engine_best / numpy_best:7.2f}      median {engine_median / numpy_median:7.2f}   (target ≤ 2)")


if __name__ == "__main__":
    main()
