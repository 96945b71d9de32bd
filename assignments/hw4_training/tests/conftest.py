"""Shared pieces of hw4's tests: the student's generators and models behind handles, statistical checks with
stated false-failure probabilities, and the reference's training loop run on the student's own pieces.

**Randomness.** A numpy Generator stays in the sandbox: ``generator(student, seed)`` is the handle of
``student.seeded(seed)``. How a correct solution draws (``rng.uniform``, ``rng.random() < ...``,
``rng.permutation``, ``rng.choice`` ...) is its own business, so a random result is checked for what every
correct solution satisfies, never against the reference's draws. Each statistical check below fails a
correct solution with probability at most ``DELTA`` = 10⁻⁸ (Hoeffding's inequality, or the exact tail
stated beside it), and no test makes more than 100 of them: a correct solution fails a test with
probability below one in a million. Tests are seeded, so one submission always gets the same verdict.
Everything deterministic is compared with the reference exactly (at the forward tolerance).

**The training loop.** ``fit`` calls the student's ``shuffled``, ``get_batches`` and ``EarlyStopping``. To
grade the loop and nothing else, its expected run is the reference's ``fit`` with those three replaced by
the student's own (:func:`on_students_pieces`): whatever order the student's shuffle draws, the loop is
right when it uses the pieces as the reference's loop does. Random restarts and the learning-rate sweep are
graded alike, against their procedure replayed step by step on the student's own ``fit``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest

from grader.grading import tolerances
from grader.grading.compare import Mismatch, WrongType, assert_close, reveal_expected
from grader.sandbox import OperationFailed
from grader.sandbox.handles import Handle, type_of
from reference import datasets, nn, optim, schedules, train
from reference.init import seeded
from reference.tensor import Tensor

DELTA = 1e-8
"""The largest probability that one statistical check fails a correct solution."""

REFERENCE = SimpleNamespace(
    Tensor=Tensor,
    Module=nn.Module,
    MLP=nn.MLP,
    mlp_factory=nn.mlp_factory,
    SGD=optim.SGD,
    Adam=optim.Adam,
    StepDecay=schedules.StepDecay,
    ExponentialDecay=schedules.ExponentialDecay,
    InverseTimeDecay=schedules.InverseTimeDecay,
    ReduceOnPlateau=schedules.ReduceOnPlateau,
    EarlyStopping=train.EarlyStopping,
    seeded=seeded,
    fit=train.fit,
    evaluate=train.evaluate,
    l2_penalty=train.l2_penalty,
)
"""The reference by the names the handout gives it: tests drive it with the same code as ``student``."""


# ----- randomness ----------------------------------------------------------------------------------------------
def generator(engine, seed: int):
    """A numpy Generator seeded with ``seed``: a handle in the student's sandbox, or the reference's own."""
    return engine.seeded(seed)


def hoeffding_tolerance(n: int, width: float, delta: float = DELTA) -> float:
    """t with P(|mean − expectation| ≥ t) ≤ delta for the mean of n independent values in an interval of
    ``width``: Hoeffding's inequality, 2·exp(−2n·t² / width²) = delta."""
    return width * math.sqrt(math.log(2 / delta) / (2 * n))


def range_tolerance(n: int, delta: float = DELTA) -> float:
    """ε with P(the largest of n draws of U[−a, a] < (1 − ε)·a) ≤ delta: that probability is
    (1 − ε/2)^n ≤ exp(−nε/2) (the smallest draw alike, by symmetry)."""
    return 2 * math.log(1 / delta) / n


MAX_SUCCESSIONS = 12
"""An order of n rows fails when 12 or more of its neighbours are successions (row i just before row i + 1).

For a uniformly random permutation with S successions, P(S ≥ k) ≤ E[C(S, k)] (C(S, k) ≥ 1 when S ≥ k),
and E[C(S, k)] = C(n − 1, k)·(n − k)!/n! ≤ 1/k!: each of the C(n − 1, k) sets of k pairs (i, i + 1) glues
the n rows into n − k blocks, which (n − k)! of the n! orders keep. So P(S ≥ 12) ≤ 1/12! = 2.1·10⁻⁹, for
any n. An order left as it was has n − 1 successions; a rotation n − 2."""


def successions(order: np.ndarray) -> int:
    return int(np.sum(np.diff(order) == 1))


def expected_part(value) -> str:
    """ ", expected VALUE" in a visible test; nothing in a hidden one, whose expected values stay hidden."""
    return f", expected {value!r}" if reveal_expected.get() else ""


def array_of(value, shape: tuple[int, ...], name: str, shape_hint: str = "") -> np.ndarray:
    """``value`` as a float array of ``shape``; the student's mistake (WrongType or Mismatch) if it is not one."""
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise WrongType(f"{name}: expected a numpy array of numbers of shape {shape}, got {type(value).__name__}")
    if value.shape != tuple(shape):
        raise Mismatch(f"{name}: expected shape {tuple(shape)}, got shape {value.shape}{shape_hint}")
    return value.astype(np.float64)


def tensor(value, name: str):
    """``value`` itself when it is a Tensor of the student's (a handle); a WrongType for anything else."""
    __tracebackhide__ = True
    if not isinstance(value, Handle) or type_of(value) != "Tensor":
        kind = type_of(value) if isinstance(value, Handle) else type(value).__name__
        raise WrongType(f"{name} must return a Tensor (part of the graph, so gradients flow back), got {kind}")
    return value


def tensor_data(value, name: str) -> np.ndarray:
    """The data of the Tensor the student's function returned."""
    __tracebackhide__ = True
    return tensor(value, name).data


def assert_close_naming(got, expected, *, name: str, mistakes: dict[str, object], **tolerance) -> None:
    """assert_close, whose message names the known mistake ``got`` equals, when it equals one."""
    __tracebackhide__ = True
    try:
        assert_close(got, expected, name=name, **tolerance)
    except WrongType:
        raise
    except Mismatch as mismatch:
        hint = next((hint for hint, wrong in mistakes.items() if _equals(got, wrong)), "")
        if not hint:
            raise
        raise Mismatch(f"{mismatch} ({hint})") from None


def _equals(got, wrong) -> bool:
    try:
        got, wrong = np.asarray(got, dtype=np.float64), np.asarray(wrong, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == wrong.shape and bool(np.allclose(got, wrong, rtol=1e-9, atol=1e-12))


def check_uniform(value, a: float, shape: tuple[int, ...], name: str, shape_hint: str = "") -> None:
    """``value`` looks like independent draws of U[−a, a] of ``shape``: 4 statistical checks, each failing a
    correct solution with probability ≤ DELTA (the bounds themselves hold exactly)."""
    __tracebackhide__ = True
    w = array_of(value, shape, name, shape_hint)
    n, shown = w.size, reveal_expected.get()
    interval = f"U[−{a:g}, {a:g}]" if shown else "U[−a, a]"
    outside = np.abs(w) > a
    if outside.any():
        raise Mismatch(f"{name}: {int(outside.sum())} of {n} weights lie outside {interval[1:]}")
    mean, tolerance = float(w.mean()), hoeffding_tolerance(n, 2 * a)
    if abs(mean) > tolerance:
        hint = ": every weight is ≥ 0, but U[−a, a] is centred on 0" if w.min() >= 0 else ""
        within = f" (a correct draw lands within ±{tolerance:.2g} of it but once in 10⁸)" if shown else ""
        raise Mismatch(f"{name}: the mean of the {n} weights is {mean:.4g}, but {interval} has mean 0{within}{hint}")
    square, tolerance = float(np.mean(w**2)), hoeffding_tolerance(n, a**2)
    if abs(square - a**2 / 3) > tolerance:
        hint = " (a taken as the width of the interval: U[−a/2, a/2]?)" if abs(square - a**2 / 12) <= tolerance else ""
        variance = f"a²/3 = {a**2 / 3:.4g}" if shown else "a²/3"
        raise Mismatch(
            f"{name}: the weights' variance is about {square:.4g}, but {interval} has variance {variance}{hint}"
        )
    edge = a * (1 - range_tolerance(n))
    if w.max() < edge or w.min() > -edge:
        raise Mismatch(
            f"{name}: the weights only reach [{w.min():.4g}, {w.max():.4g}]; {n} draws of {interval} come "
            "close to both ends but once in 10⁸"
        )


def check_dropout(x: np.ndarray, value, p: float, name: str) -> np.ndarray:
    """``value`` is ``x`` through inverted dropout with drop probability p: every entry either 0 or x/(1 − p)
    (x has no zero), about a fraction p dropped (Hoeffding, ≤ DELTA), every row holding both kinds (a row
    of m entries is all kept or all dropped with probability (1 − p)^m + p^m: summed over the rows, below
    10⁻¹⁶ in every test here, m = 200 with p = 0.3 and m = 400 with p = 0.1 or 0.8). Returns the kept mask."""
    __tracebackhide__ = True
    y = array_of(value, x.shape, name)
    kept = y != 0
    scaled = np.isclose(y, x / (1 - p), rtol=tolerances.FORWARD_RTOL, atol=0)
    if not (scaled | ~kept).all():
        first = np.argwhere(kept & ~scaled)[0]
        got, entry = y[tuple(first)], x[tuple(first)]
        if np.allclose(y[kept], x[kept]):
            hint = ": the kept entries are not rescaled; inverted dropout multiplies them by 1/(1 − p)"
        elif np.allclose(y[kept], x[kept] / p):
            hint = ": scaled by 1/p, but p is the probability of dropping, so kept entries get 1/(1 − p)"
        elif np.allclose(y[kept], x[kept] * (1 - p)):
            hint = ": multiplied by (1 − p); inverted dropout divides the kept entries by (1 − p) at training time"
        else:
            hint = ""
        values = f" = {entry / (1 - p):.6g} (x = {entry:.6g}, p = {p:g})" if reveal_expected.get() else ""
        raise Mismatch(f"{name}: a kept entry must be x/(1 − p){values}, got {got:.6g} at index {first.tolist()}{hint}")
    dropped, tolerance = float(1 - kept.mean()), hoeffding_tolerance(x.size, 1.0)
    if abs(dropped - p) > tolerance:
        hint = ": p is the probability of dropping an entry, not of keeping it" if abs(dropped - (1 - p)) < 0.05 else ""
        hint = hint or (": nothing was dropped" if dropped == 0 else "")
        rate = f" (a correct dropout drops {p:.0%} ± {tolerance:.2%} but once in 10⁸)" if reveal_expected.get() else ""
        raise Mismatch(f"{name}: {dropped:.2%} of the entries were dropped{rate}{hint}")
    uniform_rows = kept.all(axis=1) | ~kept.any(axis=1)
    if uniform_rows.any():
        raise Mismatch(
            f"{name}: row {int(np.argmax(uniform_rows))} is all kept or all dropped: each entry is dropped on its own"
        )
    return kept


# ----- a blank the student's code reached through another function ---------------------------------------------
@contextlib.contextmanager
def naming_the_blank() -> Iterator[None]:
    """Within it, a call that failed because a task it calls still raises NotImplementedError names that task:
    "shuffled is not implemented yet", not "fit is" (or "MLP is", when a model is drawn with the initialisers)."""
    try:
        yield
    except OperationFailed as failure:
        blank = re.search(r"NotImplementedError: task [\w.]+: implement ([\w.]+)", failure.message)
        if blank is None or failure.message.startswith(f"{blank.group(1)} raised"):
            raise
        raise OperationFailed(failure.status, f"{blank.group(1)} raised NotImplementedError") from None


# ----- models and data -----------------------------------------------------------------------------------------
def module_of(engine, parameters: dict[str, np.ndarray]):
    """A Module of the engine whose parameters (in this order) are Tensors of ``parameters``, requires_grad=True;
    built without any initialiser of the student's."""
    module = engine.Module()
    for name, value in parameters.items():
        setattr(module, name, engine.Tensor(value, requires_grad=True))
    return module


def mlp_with(engine, sizes: list[int], weights: list[np.ndarray]):
    """An MLP of ``sizes`` holding ``weights`` (ReLU, no dropout): drawn by the engine's uniform, then overwritten."""
    model = engine.MLP(sizes, init="uniform", rng=engine.seeded(0))
    model.load_state_dict(weights)
    return model


def random_weights(sizes: list[int], seed: int, scale: float = 0.5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.uniform(-scale, scale, (fan_out, fan_in)), rng.uniform(-0.1, 0.1, fan_out)]
    return weights


def classification_data(n: int, features: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs and labels that depend on them, partly: a problem a small MLP fits, then overfits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] + 0.8 * rng.normal(size=n) > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, np.minimum(y, classes - 1).astype(np.int64)


def digits() -> tuple[np.ndarray, ...]:
    """The shipped digits' training and development splits (seed 0): X as float16, which holds their pixel
    values k/16 exactly (a quarter of the bytes to send, and to record in the students' checker; every Tensor
    makes them float64 again), y as int64."""
    X_train, y_train, X_dev, y_dev, _, _ = datasets.train_dev_test_split(*datasets.load_digits(), seed=0)
    return X_train.astype(np.float16), y_train, X_dev.astype(np.float16), y_dev


# ----- early stopping on a scripted development curve ------------------------------------------------------
def stopping_run(engine, curve: list[float], patience, min_delta: float = 0.0) -> list[dict]:
    """An EarlyStopping of the engine fed ``curve`` (the weights of epoch e being [e, −e]) until it says stop:
    after each epoch, what it returned and its counters; the best loss and state after the last."""
    stopping = engine.EarlyStopping(patience, min_delta)
    model = module_of(engine, {"w": np.zeros(2)})
    epochs = []
    for epoch, dev_loss in enumerate(curve, start=1):
        model.load_state_dict([np.array([epoch, -epoch], dtype=np.float64)])
        stop = stopping.update(epoch, dev_loss, model)
        epochs.append(
            {
                "stop": stop,
                "best_epoch": stopping.best_epoch,
                "epochs_without_improvement": stopping.epochs_without_improvement,
            }
        )
        if stop is True:
            break
    epochs[-1].update(best_loss=stopping.best_loss, best_state=stopping.best_state)
    return epochs


def check_stopping(student, curve: list[float], patience, min_delta: float = 0.0) -> None:
    """The student's EarlyStopping against the reference's on ``curve``: each epoch's answer and counters,
    then the best loss and the weights it kept."""
    __tracebackhide__ = True
    got = stopping_run(student, curve, patience, min_delta)
    expected = stopping_run(REFERENCE, curve, patience, min_delta)
    label = f"EarlyStopping(patience={patience}, min_delta={min_delta:g}).update"
    for epoch, (mine, theirs) in enumerate(zip(got, expected), start=1):
        for key in ("stop", "best_epoch", "epochs_without_improvement"):
            same = mine[key] is theirs[key] if key == "stop" else mine[key] == theirs[key]
            if not same:
                hint = _stopping_hint(key, epoch, curve, patience, theirs)
                raise Mismatch(f"{label}: {key} after epoch {epoch} is {mine[key]!r}{expected_part(theirs[key])}{hint}")
    last = len(expected)  # both stopped at the same epoch, or the loop above said otherwise
    assert_close(got[-1]["best_loss"], expected[-1]["best_loss"], name=f"{label}: best_loss after epoch {last}")
    state, wanted = got[-1]["best_state"], expected[-1]["best_state"]
    try:
        assert_close(state, wanted, name=f"{label}: best_state after epoch {last}")
    except WrongType:
        raise
    except Mismatch as mismatch:
        if isinstance(state, list) and len(state) == 1 and _equals(state[0], [last, -last]):
            raise Mismatch(
                f"{mismatch} (those are the weights of epoch {last}, the last one: keep a copy only at a new best)"
            ) from None
        raise


def _stopping_hint(key: str, epoch: int, curve: list[float], patience, expected: dict) -> str:
    if key == "stop":
        if expected["stop"]:
            return f": {patience} epochs in a row without improvement end training"
        return f": training stops after {patience} epochs in a row without improvement, not before"
    if key == "epochs_without_improvement" and expected["best_epoch"] == epoch:
        return ": a new best starts the count again at 0"
    if key == "best_epoch" and expected["best_epoch"] and curve[epoch - 1] == curve[expected["best_epoch"] - 1]:
        return ": a dev loss equal to the best is no improvement (it must be lower by more than min_delta)"
    return ""


# ----- the training loop on the student's pieces ---------------------------------------------------------------
class StudentsEarlyStopping:
    """The student's EarlyStopping (in the sandbox) standing in for the reference's inside the reference's
    ``fit``: each update goes to it with the reference model's current weights, copied into a module of the
    student's."""

    def __init__(self, student, patience, min_delta=0.0):
        self.student, self.stopping, self.mirror = student, student.EarlyStopping(patience, min_delta), None

    def update(self, epoch: int, dev_loss: float, model) -> bool:
        weights = model.state_dict()
        if self.mirror is None:
            self.mirror = module_of(self.student, {f"p{i}": w for i, w in enumerate(weights)})
        else:
            self.mirror.load_state_dict(weights)
        stop = self.stopping.update(epoch, dev_loss, self.mirror)
        if not isinstance(stop, bool):
            raise WrongType(f"EarlyStopping.update must return True or False, got {type(stop).__name__}")
        return stop

    @property
    def best_epoch(self):
        return self.stopping.best_epoch

    @property
    def best_state(self):
        state = self.stopping.best_state
        if state is not None and not (isinstance(state, list) and all(isinstance(w, np.ndarray) for w in state)):
            raise WrongType(f"EarlyStopping.best_state must be a list of arrays (a state_dict), got {type(state)}")
        return state


def _pair(value, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, np.ndarray) for v in value)):
        raise WrongType(f"{name} must return a pair of arrays (X, y), got {type(value).__name__}")
    return value[0], value[1]


@contextlib.contextmanager
def on_students_pieces(student, seed: int) -> Iterator[None]:
    """Within it, the reference's ``fit`` shuffles with the student's ``shuffled`` (drawing from the student's
    generator seeded ``seed``, as the student's ``fit`` does when given that seed), makes batches with the
    student's ``get_batches`` and stops early with the student's ``EarlyStopping``."""
    rng = generator(student, seed)

    def shuffled(X, y, _rng):
        return _pair(student.shuffled(X, y, rng), "shuffled")

    def get_batches(X, y, batch_size):
        batches = student.get_batches(X, y, batch_size)
        if not isinstance(batches, list):
            raise WrongType(f"get_batches must return a list of (X_batch, y_batch), got {type(batches).__name__}")
        return [_pair(batch, "each batch of get_batches") for batch in batches]

    def early_stopping(patience, min_delta=0.0):
        return StudentsEarlyStopping(student, patience, min_delta)

    with (
        mock.patch.object(train, "shuffled", shuffled),
        mock.patch.object(train, "get_batches", get_batches),
        mock.patch.object(train, "EarlyStopping", early_stopping),
    ):
        yield


def run_fit(engine, sizes, weights, data, *, optimizer: tuple, schedule: tuple | None = None, **fit_kwargs) -> dict:
    """``engine.fit`` from ``weights``; what it gives: the history, the final weights and η, as plain data.

    ``optimizer`` and ``schedule`` are (name, keyword arguments) of the engine's classes.
    """
    __tracebackhide__ = True
    X, y, X_dev, y_dev = data
    with naming_the_blank():
        model = mlp_with(engine, sizes, weights)
        opt = getattr(engine, optimizer[0])(model.parameters(), **optimizer[1])
        decay = getattr(engine, schedule[0])(opt, **schedule[1]) if schedule else None
        history = engine.fit(model, opt, X, y, schedule=decay, X_dev=X_dev, y_dev=y_dev, **fit_kwargs)
    return {"history": history.to_dict(), "weights": model.state_dict(), "lr": opt.lr}


def check_shuffles_repeat(student) -> None:
    """fit's expected run repeats the student's shuffles from the seed: they must repeat, or fit cannot be checked."""
    __tracebackhide__ = True
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    with naming_the_blank():
        first, again = (_pair(student.shuffled(X, y, generator(student, 0)), "shuffled") for _ in range(2))
    if not all(np.array_equal(a, b) for a, b in zip(first, again)):
        raise Mismatch(
            "fit cannot be checked: your shuffled gives another order from the same seed, so your run cannot be "
            "repeated; make shuffled draw from the generator it is given (then fit is checked)"
        )


def check_fit(student, sizes, weights, data, **kwargs) -> dict:
    """The student's ``fit`` against the reference's loop on the student's pieces: history, weights, η."""
    __tracebackhide__ = True
    if kwargs.get("shuffle", True):
        check_shuffles_repeat(student)
    got = run_fit(student, sizes, weights, data, **kwargs)
    with on_students_pieces(student, kwargs["rng"]):
        expected = run_fit(REFERENCE, sizes, weights, data, **kwargs)
    history, wanted = got["history"], expected["history"]
    if not isinstance(history, dict):
        raise WrongType(f"fit must return the History, got {type(history).__name__}")
    for key in ("lr", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy"):
        try:
            assert_close(history.get(key), wanted[key], name=f"fit: history['{key}']")
        except Mismatch as mismatch:
            raise type(mismatch)(f"{mismatch}{_fit_hint(key, history.get(key), wanted[key])}") from None
    for key in ("best_epoch", "stopped_epoch"):
        if history.get(key) != wanted[key]:
            raise Mismatch(f"fit: history['{key}'] is {history.get(key)!r}{expected_part(wanted[key])}")
    restored = wanted["best_epoch"] is not None and wanted["best_epoch"] < len(wanted["train_loss"])
    if not isinstance(got["weights"], list) or len(got["weights"]) != len(expected["weights"]):
        raise WrongType(f"fit: the model's state_dict() is {type(got['weights']).__name__}, not its weights")
    for index, (mine, theirs) in enumerate(zip(got["weights"], expected["weights"])):
        try:
            assert_close(mine, theirs, name=f"fit: the final model's parameter {index}")
        except Mismatch as mismatch:
            if not restored:
                raise
            best = wanted["best_epoch"]
            raise Mismatch(
                f"{mismatch}; the model must end with the weights of the best epoch ({best}): "
                "load stopping.best_state back into it after the loop"
            ) from None
    assert_close(got["lr"], expected["lr"], name="fit: optimizer.lr after training")
    return got


def _fit_hint(key: str, mine, wanted: list) -> str:
    """What a history that differs this way usually means."""
    if not (isinstance(mine, list) and len(mine) == len(wanted) > 1 and all(isinstance(v, float) for v in mine)):
        return ""
    if key == "lr" and np.allclose(mine[:-1], wanted[1:]):
        return "; η decayed before the epoch: the first epoch trains with η_0, the decay comes after each epoch"
    if key == "train_loss" and np.isclose(mine[0], wanted[0]) and not np.isclose(mine[1], wanted[1]):
        return "; epoch 1 agrees and epoch 2 does not: does each epoch shuffle anew (shuffled inside the loop)?"
    return ""


# ----- restarts and sweeps, replayed on the student's fit --------------------------------------------------------
def replay_restart(student, make_model, make_optimizer, seed: int, data, **fit_kwargs) -> dict:
    """One restart as random_restarts must run it, on the student's own pieces: its row of the table."""
    X, y, X_dev, y_dev = data
    rng = generator(student, seed)
    model = make_model(rng)
    history = student.fit(
        model, make_optimizer(model.parameters()), X, y, rng=rng, X_dev=X_dev, y_dev=y_dev, **fit_kwargs
    )
    dev_loss, dev_accuracy = student.evaluate(model, X_dev, y_dev, fit_kwargs.get("loss", "cross_entropy"))
    history = history.to_dict()
    return {
        "seed": seed,
        "dev_accuracy": dev_accuracy,
        "dev_loss": dev_loss,
        "best_epoch": history["best_epoch"],
        "epochs_run": len(history["train_loss"]),
    }


def best_restart(table: list[dict]) -> int:
    """The seed the lecture's rule keeps: the highest dev accuracy, then the lowest dev loss, then the earliest."""
    return min(table, key=lambda row: (-row["dev_accuracy"], row["dev_loss"]))["seed"]


def replay_rate(student, make_model, make_optimizer, lr: float, seed: int, data, **fit_kwargs) -> dict:
    """One rate of learning_rate_sweep as it must run, on the student's own pieces: its row."""
    X, y, X_dev, y_dev = data
    rng = generator(student, seed)
    model = make_model(rng)
    optimizer = make_optimizer(model.parameters(), lr)
    history = student.fit(model, optimizer, X, y, rng=rng, X_dev=X_dev, y_dev=y_dev, **fit_kwargs).to_dict()
    return {
        "learning_rate": lr,
        "final_train_loss": history["train_loss"][-1],
        "best_dev_accuracy": max(history["dev_accuracy"]),
        "best_dev_loss": min(history["dev_loss"]),
        "best_epoch": history["best_epoch"],
        "epochs_run": len(history["train_loss"]),
    }


def compare_rows(got, expected: list[dict], name: str) -> None:
    """Row by row, key by key, so the first difference is named by its row and key."""
    __tracebackhide__ = True
    if not isinstance(got, list) or not all(isinstance(row, dict) for row in got):
        raise WrongType(f"{name}: expected a list of {len(expected)} dicts, got {type(got).__name__}")
    if len(got) != len(expected):
        raise Mismatch(f"{name}: expected {len(expected)} rows, one per run in the order given, got {len(got)}")
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        for key, value in theirs.items():
            if key not in mine:
                raise Mismatch(f"{name}: row {index} has no {key!r} (its keys: {sorted(mine)})")
            if value is None or isinstance(value, int):  # a seed, an epoch, a count: exactly
                if mine[key] != value:
                    raise Mismatch(f"{name}: row {index}[{key!r}] is {mine[key]!r}{expected_part(value)}")
            else:
                assert_close(mine[key], value, name=f"{name}: row {index}[{key!r}]")


# ----- the fixture the tests reach all of this through ----------------------------------------------------------
@pytest.fixture(scope="session")
def hw4() -> SimpleNamespace:
    """This module's helpers, as ``hw4.check_uniform(...)``: pytest imports test modules by path, so a test
    cannot import conftest itself."""
    return SimpleNamespace(**{name: value for name, value in globals().items() if not name.startswith("_")})
