"""Optimizers (CSE 587, slides "Optimizers" to "Adam"), in textbook form, in the lecture's order.

:mod:`.base` states what they share (construction, state, ``zero_grad``,
``step(closure)``, ``state_dict``) and the lecture's symbols; each
optimizer's docstring gives its update rule and the convention it takes
where the sources disagree.
"""

from .adafactor import Adafactor
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSProp
from .base import Optimizer
from .sgd import SGD, Momentum, Nesterov

__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Momentum", "Nesterov", "Optimizer", "RMSProp"]
