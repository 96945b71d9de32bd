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

from .tensor import Tensor, no_grad

_MODULES = (
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
)
__all__ = ["Tensor", "no_grad", *_MODULES]


def __getattr__(name: str):
    """``reference.nn`` and the others are imported when first named (PEP 562), so a program that needs one
    of them, or the Tensor alone, does not wait for the whole engine (the training toolkit, the datasets)."""
    if name in _MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
