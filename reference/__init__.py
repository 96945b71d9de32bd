"""The reference engine: the instructor's complete solution to the course's homeworks.

A small reverse-mode autodiff library over numpy, PyTorch-like and float64:

- :class:`Tensor`, :func:`no_grad`: values that remember how they were computed.
- :mod:`reference.functional`: activations, losses, dropout.
- :mod:`reference.nn`: Module, Linear, Sequential, MLP, Dropout, activations.
- :mod:`reference.init`: uniform and Xavier initialisation.
- :mod:`reference.gradcheck`: centred-difference numeric gradients.
- :mod:`reference.objectives`: objective functions J(θ) to minimise, callable as an optimizer's closure.
- :mod:`reference.optim`, :mod:`reference.schedules`: optimizers (SGD to Adafactor) and learning-rate schedules.
- :mod:`reference.backprop`: backpropagation written out by hand, without Tensor.
- :mod:`reference.datasets`: the shipped handwritten digits and train/dev/test splits.
- :mod:`reference.train`: the training loop, early stopping, restarts, ensembles, LR sweep.
"""

from . import (
    backprop,
    datasets,
    functional,
    gradcheck,
    init,
    nn,
    objectives,
    optim,
    schedules,
    train,
)
from .tensor import Tensor, no_grad

__all__ = [
    "Tensor",
    "no_grad",
    "backprop",
    "datasets",
    "functional",
    "gradcheck",
    "init",
    "nn",
    "objectives",
    "optim",
    "schedules",
    "train",
]
