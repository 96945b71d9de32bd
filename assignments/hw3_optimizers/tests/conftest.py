"""Shared pieces of hw3's tests: problems as plain data, one runner for both sides, and named variants.

A test runs an optimizer twice with the same code (:func:`run`): once in the
sandbox, on the student's handout (``student.Tensor``, ``student.Adam``...,
objects behind handles), and once here, on the reference (``reference.Tensor``,
``reference.optim.Adam``...). Gradients come from a given objective of the
handout (:mod:`reference.objectives`, the optimizer's closure), and learning
rates change through the given ``StepDecay``, so a test exercises the
student's update rule and nothing else of theirs. Every value is compared
here, after each step, at the optimizer tolerances.

When a trajectory is wrong, the same run with *variants* (the reference with
one convention changed: a known mistake) says which mistake it matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from grader.grading import tolerances
from grader.grading.compare import Mismatch, assert_close
from grader.grading.diagnose import named_variant
from reference import Tensor, objectives, optim
from reference import schedules as reference_schedules

SCHEDULES = ("StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineAnnealing", "ReduceOnPlateau")
REFERENCE = SimpleNamespace(
    Tensor=Tensor,
    Quadratic=objectives.Quadratic,
    LeastSquares=objectives.LeastSquares,
    **{name: getattr(optim, name) for name in optim.__all__},
    **{name: getattr(reference_schedules, name) for name in SCHEDULES},
)
TOLERANCES = {"rtol": tolerances.OPTIMIZER_RTOL, "atol": tolerances.OPTIMIZER_ATOL}
UNUSED = "the parameter without a gradient"


# ----- problems: parameters and an objective, as plain data ------------------------------------------------------
@dataclass
class Problem:
    """θ_0 by name, and J over some of them: ``kind`` "LeastSquares" (``data``: X, y, batch_size) or "Quadratic" (a, c).

    A parameter not in ``uses`` is in the optimizer's list, but J has no gradient for it.
    """

    start: dict[str, np.ndarray]
    kind: str
    data: dict[str, object]
    uses: tuple[str, ...]

    def objective(self, engine, tensors: dict):
        params = [tensors[name] for name in self.uses]
        if self.kind == "Quadratic":
            return engine.Quadratic(params, self.data["a"], self.data["c"])
        return engine.LeastSquares(*params, self.data["X"], self.data["y"], batch_size=self.data["batch_size"])


def least_squares(seed: int, n: int = 8, d: int = 3, k: int = 2, unused: int | None = 3, batch: int | None = None):
    """Linear regression on n noisy examples, J on ``batch`` of them per step (None: all); W of shape (d, k),
    b (k,), and an unused vector of ``unused`` entries."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, k)) + rng.normal(size=k) + 0.1 * rng.normal(size=(n, k))
    start = {"W": rng.normal(scale=0.5, size=(d, k)), "b": rng.normal(scale=0.5, size=k)}
    if unused:
        start[UNUSED] = rng.normal(size=unused)
    return Problem(start, "LeastSquares", {"X": X, "y": y, "batch_size": batch}, ("W", "b"))


def quadratic(
    seed: int,
    shapes=((3, 4), (4,)),
    scale: float = 1.0,
    curvature: float = 1.0,
    size: float = 1.0,
    unused: int | None = 2,
):
    """J = Σ ½aθ² + cθ, a in [0.5, 2]·curvature, c ~ N(0, scale²), θ_0 ~ N(0, size²): gradients about ``scale``
    when curvature·size is about scale too (tiny gradients: scale = curvature = 1e-6); curvature 0 makes the
    gradient the constant c. The parameters are named W, b, V in the order of ``shapes``."""
    rng = np.random.default_rng(seed)
    names = ["W", "b", "V"][: len(shapes)]
    start = {name: size * rng.normal(size=shape) for name, shape in zip(names, shapes)}
    a = [curvature * rng.uniform(0.5, 2.0, size=shape) for shape in shapes]
    c = [scale * rng.normal(size=shape) for shape in shapes]
    if unused:
        start[UNUSED] = rng.normal(size=unused)
    return Problem(start, "Quadratic", {"a": a, "c": c}, tuple(names))


# ----- one runner for the sandbox and the reference ----------------------------------------------------------------
@dataclass
class Run:
    losses: list = field(default_factory=list)
    """J(θ_t) at each step, as ``step(J)`` returned it."""
    path: list[dict] = field(default_factory=list)
    """Every parameter's value after each step, by name (J's parameters only before the last step: see run)."""
    points: list[dict] = field(default_factory=list)
    """Where J was evaluated, by name, one per step (Nesterov: the look-ahead points)."""


def run(
    engine,
    optimizer: str,
    problem: Problem,
    steps: int,
    hyperparameters: dict,
    decay: dict | None = None,
    resume_after: int | None = None,
    look_ahead: bool = False,
) -> Run:
    """``steps`` steps of ``engine.<optimizer>`` on ``problem``; ``engine`` is the student (handles) or REFERENCE.

    ``decay``: StepDecay's arguments; the schedule steps after every optimizer step.
    ``resume_after``: after that many steps, the optimizer's state_dict is loaded into a
    new optimizer over new tensors holding the same values, which takes the remaining steps.

    The objective records θ where it is evaluated, which is θ after the step before, so the
    path comes from its record (one round trip) and the values read after the last step; only
    ``look_ahead`` (Nesterov, whose objective sees θ − γv) reads every value after every step.
    """
    __tracebackhide__ = True  # pytest formats no frame of the helpers when a student's call fails in them
    tensors = {name: engine.Tensor(value, requires_grad=True) for name, value in problem.start.items()}
    opt = getattr(engine, optimizer)(list(tensors.values()), **hyperparameters)
    schedule = engine.StepDecay(opt, **decay) if decay else None
    objective = problem.objective(engine, tensors)
    result = Run()
    for t in range(steps):
        if t == resume_after:
            saved, now = opt.state_dict(), _values(tensors)
            result.points += _named_points(problem, objective)
            tensors = {name: engine.Tensor(value, requires_grad=True) for name, value in now.items()}
            opt = getattr(engine, optimizer)(list(tensors.values()), **{**hyperparameters, "lr": 123.0})
            opt.load_state_dict(saved)  # the lr too
            objective = problem.objective(engine, tensors)
        result.losses.append(opt.step(objective))
        if look_ahead:
            result.path.append(_values(tensors))
        if schedule is not None:
            schedule.step()
    result.points += _named_points(problem, objective)
    if not look_ahead:
        result.path = result.points[1:] + [_values(tensors)]
    return result


def _values(tensors: dict) -> dict:
    """Each tensor's value (one round trip for a handle): the reference's arrays copied; the student's are
    already the grader's own copies."""
    __tracebackhide__ = True
    values = {name: p.data for name, p in tensors.items()}
    return {name: value.copy() if isinstance(value, np.ndarray) else value for name, value in values.items()}


def _named_points(problem: Problem, objective) -> list[dict]:
    points = objective.points
    if not isinstance(points, list):  # not plain data: a student's objective gone wrong
        return [{}]
    return [dict(zip(problem.uses, point)) if isinstance(point, list) else {} for point in points]


# ----- variants: the reference with one convention changed ---------------------------------------------------------
def variant(base: type, update: Callable) -> type:
    """``base`` whose per-parameter update is ``update(opt, p, g, s)``, a known mistake."""

    class Variant(base):
        def step(self, closure=None):
            loss = self._evaluate(closure)
            for p, g, s in self._with_gradients():
                update(self, p, g, s)
            return loss

    return Variant


def _sgd_without_decay(opt, p, g, s):
    p.data = p.data - opt.lr * g


def _sgd_decay_not_scaled_by_lr(opt, p, g, s):
    p.data = p.data - opt.lr * g - opt.weight_decay * p.data


def _momentum_lr_outside(opt, p, g, s):  # torch: b = γb + g, θ = θ − ηb
    s["v"] = opt.momentum * s["v"] + g
    p.data = p.data - opt.lr * s["v"]


def _momentum_before_the_gradient_step(opt, p, g, s):  # θ moves by v_{t−1}, then v_t is formed
    p.data = p.data - s["v"]
    s["v"] = opt.momentum * s["v"] + opt.lr * g


def _momentum_ignored(opt, p, g, s):
    p.data = p.data - opt.lr * g


class NesterovVariant(optim.Nesterov):
    """Nesterov with the look-ahead point θ + ``look``·γv, and η inside the velocity or outside it."""

    look, lr_inside = -1.0, True

    def step(self, closure=None):
        thetas = [p.data for p in self.params]
        for index, p in enumerate(self.params):
            if index in self.state:
                p.data = p.data + self.look * self.momentum * self.state[index]["v"]
        try:
            loss = closure()
        finally:
            for p, theta in zip(self.params, thetas):
                p.data = theta
        for p, g, s in self._with_gradients():
            s["v"] = self.momentum * s["v"] + (self.lr * g if self.lr_inside else g)
            p.data = p.data - (s["v"] if self.lr_inside else self.lr * s["v"])
        return loss


class NesterovLookingTheWrongWay(NesterovVariant):
    look = 1.0


class NesterovLrOutside(NesterovVariant):
    """v = γv + ∇J(θ − γv), θ = θ − ηv: the lecture's look-ahead kept, η moved out of the velocity."""

    lr_inside = False


def _adagrad_eps_outside(opt, p, g, s):
    s["G"] = s["G"] + g**2
    p.data = p.data - opt.lr / (np.sqrt(s["G"]) + opt.eps) * g


def _adagrad_not_accumulated(opt, p, g, s):
    s["G"] = g**2
    p.data = p.data - opt.lr / np.sqrt(s["G"] + opt.eps) * g


def _adagrad_without_square_root(opt, p, g, s):
    s["G"] = s["G"] + g**2
    p.data = p.data - opt.lr / (s["G"] + opt.eps) * g


def _rmsprop_eps_outside(opt, p, g, s):
    s["Eg2"] = opt.rho * s["Eg2"] + (1 - opt.rho) * g**2
    p.data = p.data - opt.lr / (np.sqrt(s["Eg2"]) + opt.eps) * g


def _rmsprop_rho_swapped(opt, p, g, s):
    s["Eg2"] = (1 - opt.rho) * s["Eg2"] + opt.rho * g**2
    p.data = p.data - opt.lr / np.sqrt(s["Eg2"] + opt.eps) * g


def _adadelta(scaled_accumulation=False, old_rms_g=False, rms_dx_without_eps=False):
    def update(opt, p, g, s):
        new_Eg2 = opt.rho * s["Eg2"] + (1 - opt.rho) * g**2
        Eg2 = s["Eg2"] if old_rms_g else new_Eg2
        s["Eg2"] = new_Eg2
        rms_dx = np.sqrt(s["Edx2"]) if rms_dx_without_eps else np.sqrt(s["Edx2"] + opt.eps)
        delta = -rms_dx / np.sqrt(Eg2 + opt.eps) * g
        accumulated = opt.lr * delta if scaled_accumulation else delta
        s["Edx2"] = opt.rho * s["Edx2"] + (1 - opt.rho) * accumulated**2
        p.data = p.data + opt.lr * delta

    return update


def _adam(bias_correction=True, eps_inside=False, coupled=True, decoupled=False, decay_unscaled=False, late=False):
    """Adam's update with the given conventions (the reference: bias correction, ε outside, coupled decay).

    ``decoupled``: AdamW's θ − ηλθ (λθ without η if ``decay_unscaled``), before the Adam step (after it if ``late``).
    """

    def update(opt, p, g, s):
        s["step"] = t = s["step"] + 1
        if coupled:
            g = g + opt.weight_decay * p.data
        s["m"] = opt.beta1 * s["m"] + (1 - opt.beta1) * g
        s["v"] = opt.beta2 * s["v"] + (1 - opt.beta2) * g**2
        m_hat, v_hat = s["m"], s["v"]
        if bias_correction:
            m_hat, v_hat = m_hat / (1 - opt.beta1**t), v_hat / (1 - opt.beta2**t)
        decay = (1.0 if decay_unscaled else opt.lr) * opt.weight_decay if decoupled else 0.0
        if not late:
            p.data = p.data - decay * p.data
        denominator = np.sqrt(v_hat + opt.eps) if eps_inside else np.sqrt(v_hat) + opt.eps
        p.data = p.data - opt.lr / denominator * m_hat
        if late:
            p.data = p.data - decay * p.data

    return update


def _adafactor(clip=True, cap=True, means=False):
    def update(opt, p, g, s):
        s["step"] = t = s["step"] + 1
        rho_t = min(opt.lr, 1 / math.sqrt(t)) if cap else opt.lr
        alpha = max(opt.eps2, optim.base.rms(p.data)) * rho_t
        beta2_hat = 1 - t ** (-opt.decay_exponent)
        g2 = g**2 + opt.eps1
        if "R" in s:
            reduce = np.mean if means else np.sum
            s["R"] = beta2_hat * s["R"] + (1 - beta2_hat) * reduce(g2, axis=1)
            s["C"] = beta2_hat * s["C"] + (1 - beta2_hat) * reduce(g2, axis=0)
            v_hat = np.outer(s["R"], s["C"]) / s["R"].sum()
        else:
            s["V"] = beta2_hat * s["V"] + (1 - beta2_hat) * g2
            v_hat = s["V"]
        u = g / np.sqrt(v_hat)
        u_hat = u / max(1.0, optim.base.rms(u) / opt.d) if clip else u
        p.data = p.data - alpha * u_hat

    return update


VARIANTS: dict[str, dict[str, type]] = {
    "SGD": {
        "SGD without the weight decay (g + λθ left out)": variant(optim.SGD, _sgd_without_decay),
        "SGD with the decay not scaled by η (θ − ηg − λθ)": variant(optim.SGD, _sgd_decay_not_scaled_by_lr),
    },
    "Momentum": {
        "η outside the velocity (v = γv + g, θ = θ − ηv: torch's convention, not the lecture's)": variant(
            optim.Momentum, _momentum_lr_outside
        ),
        "momentum applied before the gradient step (θ = θ − v_{t−1}, then v_t = γv + ηg)": variant(
            optim.Momentum, _momentum_before_the_gradient_step
        ),
        "plain gradient descent (the velocity is never used)": variant(optim.Momentum, _momentum_ignored),
    },
    "Nesterov": {
        "Nesterov without the look-ahead (the gradient at θ, as plain momentum takes it)": optim.Momentum,
        "η outside the velocity (v = γv + ∇J(θ − γv), θ = θ − ηv)": NesterovLrOutside,
        "the gradient at θ + γv (the look-ahead in the wrong direction)": NesterovLookingTheWrongWay,
    },
    "Adagrad": {
        "ε outside the square root (η/(√G + ε): torch's convention, not the lecture's)": variant(
            optim.Adagrad, _adagrad_eps_outside
        ),
        "G not accumulated (only this step's g², as if ρ = 0 in RMSProp)": variant(
            optim.Adagrad, _adagrad_not_accumulated
        ),
        "no square root (η/(G + ε))": variant(optim.Adagrad, _adagrad_without_square_root),
    },
    "RMSProp": {
        "ε outside the square root (η/(√E[g²] + ε): torch's convention, not the lecture's)": variant(
            optim.RMSProp, _rmsprop_eps_outside
        ),
        "ρ and 1 − ρ swapped in the running average": variant(optim.RMSProp, _rmsprop_rho_swapped),
    },
    "Adadelta": {
        "E[Δθ²] accumulating the scaled step ηΔθ instead of Δθ": variant(
            optim.Adadelta, _adadelta(scaled_accumulation=True)
        ),
        "RMS[g] of the previous step (E[g²] updated after Δθ is computed)": variant(
            optim.Adadelta, _adadelta(old_rms_g=True)
        ),
        "RMS[Δθ] without ε (√E[Δθ²] is 0 at first, so θ never moves)": variant(
            optim.Adadelta, _adadelta(rms_dx_without_eps=True)
        ),
    },
    "Adam": {
        "Adam without bias correction (m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t) left out)": variant(
            optim.Adam, _adam(bias_correction=False)
        ),
        "ε inside the square root (√(v̂ + ε) where Adam has √v̂ + ε)": variant(optim.Adam, _adam(eps_inside=True)),
        "decoupled weight decay (AdamW's) where Adam's is coupled into g": variant(
            optim.Adam, _adam(coupled=False, decoupled=True)
        ),
    },
    "AdamW": {
        "AdamW with coupled decay (λθ added to g, as Adam's L2 does)": variant(optim.AdamW, _adam(coupled=True)),
        "AdamW with the decay not scaled by η (θ − λθ)": variant(
            optim.AdamW, _adam(coupled=False, decoupled=True, decay_unscaled=True)
        ),
        "AdamW with the decay applied after the Adam step (to the updated θ, not θ_t)": variant(
            optim.AdamW, _adam(coupled=False, decoupled=True, late=True)
        ),
        "AdamW without bias correction": variant(
            optim.AdamW, _adam(coupled=False, decoupled=True, bias_correction=False)
        ),
    },
    "Adafactor": {
        "Adafactor without update clipping (Û = U)": variant(optim.Adafactor, _adafactor(clip=False)),
        "ρ_t = η without the 1/√t cap": variant(optim.Adafactor, _adafactor(cap=False)),
        "row and column means where Algorithm 4 sums (R and C)": variant(optim.Adafactor, _adafactor(means=True)),
    },
}


# ----- checks ------------------------------------------------------------------------------------------------------
class Trajectories:
    """``trajectories.check(...)``: the student's run beside the reference's, compared after every step."""

    def __init__(self, student):
        self.student = student

    def check(
        self,
        optimizer: str,
        problem: Problem,
        steps: int,
        hyperparameters: dict,
        *,
        decay: dict | None = None,
        resume_after: int | None = None,
        look_ahead: bool = False,
        plots=None,
    ) -> Run:
        """Run both; draw the losses when given the ``plots`` fixture (visible tests only); compare every step.

        ``look_ahead``: compare first where J was evaluated at each step (Nesterov's θ − γv).
        """
        __tracebackhide__ = True
        arguments = (problem, steps, hyperparameters, decay, resume_after, look_ahead)
        got = run(self.student, optimizer, *arguments)
        expected = run(REFERENCE, optimizer, *arguments)
        if plots is not None:
            series = {"yours": [_number(x) for x in got.losses], "reference": expected.losses}
            plots.add(f"{optimizer}: loss per step", series, x_label="step", y_label="J(θ)")
        label = f"{optimizer}.step"
        try:
            if look_ahead:
                compare_steps(label, got.points, expected.points, "the look-ahead point (where J was evaluated)")
            compare_steps(label, got.path, expected.path)
        except Mismatch as mismatch:
            seen = self._variant(optimizer, arguments, got)
            if seen is not None:
                raise Mismatch(f"{mismatch}; your trajectory matches {seen}") from None
            raise
        return got

    @staticmethod
    def _variant(optimizer: str, arguments: tuple, got: Run) -> str | None:
        """The known mistake (the reference with one convention changed) whose run the student's matches."""

        def path_of(cls):
            return lambda: run(SimpleNamespace(**{**vars(REFERENCE), optimizer: cls}), optimizer, *arguments).path

        variants = {name: path_of(cls) for name, cls in VARIANTS.get(optimizer, {}).items()}
        return named_variant(got.path, variants, **TOLERANCES)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def compare_steps(label: str, got: list[dict], expected: list[dict], what: str = "") -> None:
    """Step by step, parameter by parameter, so the first difference is named by its step and parameter."""
    __tracebackhide__ = True
    if len(got) != len(expected):
        raise Mismatch(f"{label}: J was evaluated {len(got)} times in {len(expected)} steps, expected {len(expected)}")
    for t, (mine, theirs) in enumerate(zip(got, expected), start=1):
        for name, value in theirs.items():
            where = f"{what} of {name} at step {t}" if what else f"{name} after step {t}"
            assert_close(mine.get(name), value, name=f"{label}: {where}", **TOLERANCES)


@pytest.fixture
def trajectories(student):
    return Trajectories(student)


@pytest.fixture(name="least_squares")
def least_squares_fixture():
    """least_squares(seed, n=8, d=3, k=2, unused=3, batch=None) -> Problem."""
    return least_squares


@pytest.fixture(name="quadratic")
def quadratic_fixture():
    """quadratic(seed, shapes=((3, 4), (4,)), scale=1.0, curvature=1.0, unused=2) -> Problem."""
    return quadratic


@pytest.fixture
def reference_engine():
    """The reference's Tensor, optimizers, schedules and objectives, by the names the handout gives them."""
    return REFERENCE
