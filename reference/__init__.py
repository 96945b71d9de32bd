"""The reference engine: the instructor's complete solution to the course's homeworks.

A small reverse-mode autodiff library over numpy, PyTorch-like and float64:

- :class:`Tensor`, :func:`no_grad`: values that remember how they were computed.
- :mod:`reference.functional`: activations, losses, dropout.
- :mod:`reference.nn`: Module, Linear, Sequential, MLP, Dropout, activations.
- :mod:`reference.init`: uniform and Xavier initialisation.
- :mod:`reference.gradcheck`: centred-difference numeric gradients.
- :mod:`reference.backprop`: backpropagation written out by hand, without Tensor.
"""

from . import backprop, functional, gradcheck, init, nn, tolerances
from .tensor import Tensor, no_grad

__all__ = ["Tensor", "no_grad", "backprop", "functional", "gradcheck", "init", "nn", "tolerances"]
