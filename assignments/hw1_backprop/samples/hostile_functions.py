"""Appended to the solution by samples.toml: what a hostile submission tries.

Later definitions replace the solution's, so each of these functions is the
one graded; every attempt must cost exactly that function's points.
"""

import os as _os
import sys as _sys

import numpy as np

for _place in ("/autograder/source", "/work/main/assignments", "/proc/1/environ", _os.path.expanduser("~")):
    try:  # look for the hidden tests, the reference or the grader's secrets
        print(_place, "holds", _os.listdir(_place) if _os.path.isdir(_place) else open(_place).read(100))
    except OSError as _error:
        print("cannot read", _place, ":", _error)


class _AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def squared_error_loss(o, t):  # an object that claims to equal anything
    return _AlwaysEqual(42.0)


def sigmoid_derivative(z):  # never returns
    while True:
        pass


def perceptron_forward(W, v, x):  # kills its own process
    _os._exit(0)


def layer_delta(u, z):  # asks for 10 GB
    return np.ones(10 * 2**30 // 8)


def perceptron_backward(W, v, x, t, forward):  # floods the output
    for _ in range(1_000_000):
        print("x" * 100)
    return None


_sys.exit(0)
