"""Layers as Modules: a module holds parameters and maps Tensors to Tensors.

Conventions: a batch is a matrix X of shape (N, in) with one example per
row; :class:`Linear` keeps the lecture's W of shape (out, in), so for one
example z = Wx + b and for the batch Z = X Wᵀ + b.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .functional import dropout, hardtanh, leaky_relu, relu, sigmoid, sign, tanh
from .init import generator, uniform, xavier_uniform
from .tensor import Tensor, as_tensor


class Module:
    """Base class: finds its parameters in its attributes, in the order they were set."""

    training: bool = True

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def _children(self) -> Iterator[object]:
        for value in vars(self).values():
            if isinstance(value, (list, tuple)):
                yield from value
            else:
                yield value

    def parameters(self) -> list[Tensor]:
        """Every trainable Tensor of this module and its sub-modules, in a stable order.

        The order is attribute-assignment order, depth first, with no
        repeats: the same order every time, so optimizer state and saved
        weights line up.
        """
        found: list[Tensor] = []
        seen: set[int] = set()
        for child in self._children():
            candidates = child.parameters() if isinstance(child, Module) else [child]
            for p in candidates:
                if isinstance(p, Tensor) and p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    found.append(p)
        return found

    def modules(self) -> list[Module]:
        found = [self]
        for child in self._children():
            if isinstance(child, Module):
                found.extend(child.modules())
        return found

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and every sub-module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> list[np.ndarray]:
        """Copies of the parameter values, in :meth:`parameters` order."""
        return [p.data.copy() for p in self.parameters()]

    def load_state_dict(self, state: list[np.ndarray]) -> None:
        params = self.parameters()
        if len(state) != len(params):
            raise ValueError(f"state has {len(state)} arrays but the module has {len(params)} parameters")
        values = [np.array(value, dtype=np.float64) for value in state]
        # Every shape is checked before any parameter changes, so a bad state leaves the module as it was.
        for index, (p, value) in enumerate(zip(params, values)):
            if value.shape != p.data.shape:
                raise ValueError(f"saved parameter {index} of shape {value.shape} does not fit shape {p.data.shape}")
        for p, value in zip(params, values):
            p.data = value


Initialiser = Callable[[int, int, np.random.Generator], np.ndarray]

_INITIALISERS: dict[str, Initialiser] = {
    "xavier": lambda fan_in, fan_out, rng: xavier_uniform(fan_in, fan_out, rng=rng),
    "uniform": lambda fan_in, fan_out, rng: uniform((fan_out, fan_in), a=0.1, rng=rng),
}


class Linear(Module):
    """z = Wx + b with W of shape (out_features, in_features) and b of shape (out_features,).

    ``init`` draws W: "xavier" (the default, U[±√(6/(in+out))]), "uniform"
    (U[−0.1, 0.1]) or a callable ``(fan_in, fan_out, rng) -> array``. W is
    the only random draw; b starts at 0.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | Initialiser = "xavier",
        rng: np.random.Generator | None = None,
    ):
        draw = _INITIALISERS.get(init) if isinstance(init, str) else init
        if draw is None:
            raise ValueError(f"unknown init {init!r}; use one of {sorted(_INITIALISERS)} or a callable")
        weight = np.asarray(draw(in_features, out_features, generator(rng)), dtype=np.float64)
        if weight.shape != (out_features, in_features):
            raise ValueError(f"init returned shape {weight.shape}, expected (out, in) = {(out_features, in_features)}")
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = Tensor(np.zeros(out_features), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        """Z = X Wᵀ + b for a batch X of shape (N, in); z = Wx + b for one x of shape (in,)."""
        return as_tensor(x) @ self.weight.T + self.bias


class Sequential(Module):
    """Applies its modules one after the other."""

    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class Sign(Module):
    def forward(self, x: Tensor) -> Tensor:
        return sign(x)


class Hardtanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return hardtanh(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)


class Dropout(Module):
    """Zeroes each entry with probability ``p`` in training mode; the identity in eval mode."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None):
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability p must lie in [0, 1], got {p}")
        self.p = p
        self.rng = generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.rng)


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "hardtanh": Hardtanh,
    "leaky_relu": LeakyReLU,
    "sign": Sign,
}


class MLP(Sequential):
    """A multilayer perceptron: Linear layers of ``sizes`` with an activation between them.

    ``MLP([64, 32, 10])`` is Linear(64→32), activation, [Dropout], Linear(32→10).
    The last layer has no activation: it returns logits (or a regression
    output). Layers are drawn in order from ``rng``.
    """

    def __init__(
        self,
        sizes: list[int],
        activation: str = "relu",
        init: str | Initialiser = "xavier",
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ):
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least an input and an output size, got sizes={sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
        rng = generator(rng)
        layers: list[Module] = []
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(fan_in, fan_out, init=init, rng=rng))
            if index < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
                if dropout > 0:
                    layers.append(Dropout(dropout, rng=rng))
        super().__init__(*layers)


def mlp_factory(
    sizes: list[int],
    activation: str = "relu",
    init: str | Initialiser = "xavier",
    dropout: float = 0.0,
) -> Callable[[np.random.Generator], MLP]:
    """``make_model`` for random restarts and a learning-rate sweep: a function rng ↦ MLP(sizes, ..., rng=rng)
    that draws a new model from the generator it is given, each time it is called."""

    def make_model(rng: np.random.Generator) -> MLP:
        return MLP(sizes, activation=activation, init=init, dropout=dropout, rng=rng)

    return make_model
