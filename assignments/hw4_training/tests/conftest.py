"""Shared pieces of hw4's tests: the student's generators and models behind handles, and the procedures the
tests replay step by step on the student's own pieces. The judgements themselves are the checks of
checks.py, which the students' checker repeats.

**Randomness.** A numpy Generator stays in the sandbox: ``generator(student, seed)`` is the handle of
``student.seeded(seed)``. How a correct solution draws (``rng.uniform``, ``rng.random() < ...``,
``rng.permutation``, ``rng.choice`` ...) is its own business, so a random result is checked for what every
correct solution satisfies, never against the reference's draws. Each statistical check fails a correct
solution with probability at most ``DELTA`` = 10⁻⁸ (see checks.py for the bounds), and no test makes more
than 100 of them: a correct solution fails a test with probability below one in a million. Tests are
seeded, so one submission always gets the same verdict. Everything deterministic is compared with the
reference exactly (at the forward tolerance).

**The training loop.** ``fit`` calls the student's ``shuffled``, ``get_batches`` and ``EarlyStopping``. To
grade the loop and nothing else, its expected run is the loop its docstring describes, replayed step by step
on the student's own pieces (:func:`replay_fit`): the student's shuffles from the same seed, the student's
batches, the student's early stopping, and the given ``train_epoch``, ``evaluate`` and ``step_schedule``.
Whatever order the student's shuffle draws, the loop is right when it uses the pieces as the replay does.
Random restarts and the learning-rate sweep are graded alike, against their procedure replayed step by step
on the student's own ``fit``. Every step of a replay is an operation on the student's code, so the students'
checker repeats the replay on the student's code too.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from types import SimpleNamespace

import checks
import numpy as np
import pytest
from checks import tensor

from grader.sandbox import OperationFailed
from grader.sandbox.handles import Handle
from reference import datasets, nn, optim, schedules, train
from reference.init import seeded
from reference.tensor import Tensor

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


def tensor_data(value, name: str) -> np.ndarray:
    """The data of the Tensor the student's function returned."""
    __tracebackhide__ = True
    return tensor(value, name).data


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
    each checked as soon as it is read, then the best loss and the weights it kept."""
    __tracebackhide__ = True
    expected = stopping_run(REFERENCE, curve, patience, min_delta)
    label = f"EarlyStopping(patience={patience}, min_delta={min_delta:g}).update"
    stopping = student.EarlyStopping(patience, min_delta)
    model = module_of(student, {"w": np.zeros(2)})

    def judge(key: str, answer, epoch: int, expected: dict) -> None:
        hint = _stopping_hint(key, epoch, curve, patience, expected)
        checks.same_answer(answer, expected[key], name=f"{label}: {key} after epoch {epoch}", hint=hint)

    # Each answer is checked as soon as it is read (a number or True is found as the latest answer that was it),
    # and the first to differ ends the test: the run never goes on past the epoch the reference stopped at.
    for epoch, (dev_loss, theirs) in enumerate(zip(curve, expected), start=1):
        model.load_state_dict([np.array([epoch, -epoch], dtype=np.float64)])
        judge("stop", stopping.update(epoch, dev_loss, model), epoch, theirs)
        judge("best_epoch", stopping.best_epoch, epoch, theirs)
        judge("epochs_without_improvement", stopping.epochs_without_improvement, epoch, theirs)
    last = len(expected)
    checks.keeps_the_best(
        stopping.best_loss,
        stopping.best_state,
        expected[-1]["best_loss"],
        expected[-1]["best_state"],
        label=label,
        last=last,
    )


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


# ----- the training loop, and its replay on the student's pieces ------------------------------------------------
LOSS_FUNCTIONS = {"cross_entropy": "cross_entropy", "squared_error": "squared_error", "mse": "mse_loss"}
"""fit's ``loss`` names and the handout's functions they stand for (the given train_epoch takes the function)."""


def _model_and_optimizer(engine, sizes, weights, optimizer: tuple, schedule: tuple | None):
    model = mlp_with(engine, sizes, weights)
    opt = getattr(engine, optimizer[0])(model.parameters(), **optimizer[1])
    decay = getattr(engine, schedule[0])(opt, **schedule[1]) if schedule else None
    return model, opt, decay


def run_fit(engine, sizes, weights, data, *, optimizer: tuple, schedule: tuple | None = None, **fit_kwargs) -> dict:
    """``engine.fit`` from ``weights``; what it gives: {"history": History.to_dict(), "weights": the model's
    state_dict(), "lr": optimizer.lr}, each the answer itself.

    ``optimizer`` and ``schedule`` are (name, keyword arguments) of the engine's classes.
    """
    __tracebackhide__ = True
    X, y, X_dev, y_dev = data
    with naming_the_blank():
        model, opt, decay = _model_and_optimizer(engine, sizes, weights, optimizer, schedule)
        history = engine.fit(model, opt, X, y, schedule=decay, X_dev=X_dev, y_dev=y_dev, **fit_kwargs)
        return {"history": history.to_dict(), "weights": model.state_dict(), "lr": opt.lr}


def replay_fit(student, sizes, weights, data, *, optimizer: tuple, schedule: tuple | None = None, **fit_kwargs):
    """fit's procedure (its docstring's steps 1 to 7, then the best weights restored), replayed step by step on
    the student's own pieces: what the checks compare the student's fit with, and the epoch it stopped at.

    Every answer the replay gives is the student's: its shuffles from the seed, its batches, its
    EarlyStopping, and the given train_epoch, evaluate and step_schedule.
    """
    __tracebackhide__ = True
    X, y, X_dev, y_dev = data
    epochs, batch_size, seed = fit_kwargs["epochs"], fit_kwargs["batch_size"], fit_kwargs["rng"]
    loss = fit_kwargs.get("loss", "cross_entropy")
    loss_fn = getattr(student, LOSS_FUNCTIONS[loss])
    l2, shuffle = fit_kwargs.get("l2", 0.0), fit_kwargs.get("shuffle", True)
    with naming_the_blank():
        model, opt, decay = _model_and_optimizer(student, sizes, weights, optimizer, schedule)
        rng = generator(student, seed)
        history = student.History()
        stopping = student.EarlyStopping(fit_kwargs.get("patience"), fit_kwargs.get("min_delta", 0.0))
        lr, stopped_epoch = [], None
        for epoch in range(1, epochs + 1):
            lr.append(opt.lr)
            X_epoch, y_epoch = student.shuffled(X, y, rng) if shuffle else (X, y)
            student.train_epoch(model, opt, student.get_batches(X_epoch, y_epoch, batch_size), loss_fn, l2)
            history.record("train", *student.evaluate(model, X, y, loss))
            stop = False
            if X_dev is not None:
                dev_loss, dev_accuracy = student.evaluate(model, X_dev, y_dev, loss)
                history.record("dev", dev_loss, dev_accuracy)
                stop = stopping.update(epoch, dev_loss, model)
                checks.decides_alike(stop, not isinstance(stop, Handle) and bool(stop), epoch=epoch)
            if decay is not None:
                student.step_schedule(decay, history)
            if stop:
                stopped_epoch = epoch
                break
        if fit_kwargs.get("restore_best", True) and X_dev is not None:
            best_state = stopping.best_state
            if best_state is not None:
                model.load_state_dict(best_state)
        replay = {"history": history.to_dict(), "lr": lr, "weights": model.state_dict(), "final_lr": opt.lr}
        if X_dev is not None:
            replay["best_epoch"] = stopping.best_epoch  # read last: a number is found as the latest answer it was
    return replay, stopped_epoch


def check_fit(student, sizes, weights, data, **kwargs) -> None:
    """The student's ``fit`` against its replay on the student's pieces: history, weights, η."""
    __tracebackhide__ = True
    if kwargs.get("shuffle", True):
        X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
        with naming_the_blank():
            first, again = (student.shuffled(X, y, generator(student, 0)) for _ in range(2))
        checks.shuffles_repeat(first, again)
    got = run_fit(student, sizes, weights, data, **kwargs)
    replay, stopped_epoch = replay_fit(student, sizes, weights, data, **kwargs)
    checks.agrees_with_its_replay(
        got, replay, stopped_epoch=stopped_epoch, restore_best=kwargs.get("restore_best", True)
    )


# ----- restarts and sweeps, replayed on the student's fit --------------------------------------------------------
def replay_restart(student, make_model, make_optimizer, seed: int, data, **fit_kwargs) -> dict:
    """One restart as random_restarts must run it, on the student's own pieces: {"history": its
    History.to_dict(), "evaluation": evaluate(model, X_dev, y_dev)}, the answers its row of the table is made of
    (checks.restart_rows)."""
    X, y, X_dev, y_dev = data
    rng = generator(student, seed)
    model = make_model(rng)
    history = student.fit(
        model, make_optimizer(model.parameters()), X, y, rng=rng, X_dev=X_dev, y_dev=y_dev, **fit_kwargs
    )
    evaluation = student.evaluate(model, X_dev, y_dev, fit_kwargs.get("loss", "cross_entropy"))
    return {"history": history.to_dict(), "evaluation": evaluation}


def replay_rate(student, make_model, make_optimizer, lr: float, seed: int, data, **fit_kwargs) -> dict:
    """One rate of learning_rate_sweep as it must run, on the student's own pieces: its History.to_dict(), which
    its row is made of (checks.sweep_rows)."""
    X, y, X_dev, y_dev = data
    rng = generator(student, seed)
    model = make_model(rng)
    optimizer = make_optimizer(model.parameters(), lr)
    return student.fit(model, optimizer, X, y, rng=rng, X_dev=X_dev, y_dev=y_dev, **fit_kwargs).to_dict()


def check_restarts(student, make_model, make_optimizer, seeds: list[int], data, **fit_kwargs):
    """random_restarts against its runs replayed on the student's own fit: its table, the seed it kept; returns
    the result (a handle) and the runs."""
    __tracebackhide__ = True
    with naming_the_blank():
        result = student.random_restarts(make_model, make_optimizer, seeds, *data, **fit_kwargs)
        runs = [replay_restart(student, make_model, make_optimizer, seed, data, **fit_kwargs) for seed in seeds]
    checks.restart_table(result.table, runs, seeds, "random_restarts: result.table")
    checks.keeps_the_best_run(result.seed, runs, seeds)  # read just before its check: a number is its latest answer
    return result, runs


def check_sweep(student, make_model, make_optimizer, rates: list[float], seed: int, data, **fit_kwargs) -> None:
    """learning_rate_sweep against its rates replayed on the student's own fit: one row per rate."""
    __tracebackhide__ = True
    with naming_the_blank():
        rows = student.learning_rate_sweep(
            make_model, make_optimizer, *data, learning_rates=rates, seed=seed, **fit_kwargs
        )
        histories = [replay_rate(student, make_model, make_optimizer, lr, seed, data, **fit_kwargs) for lr in rates]
    checks.sweep_table(rows, histories, rates, "learning_rate_sweep")


# ----- the fixture the tests reach all of this through ----------------------------------------------------------
@pytest.fixture(scope="session")
def hw4() -> SimpleNamespace:
    """checks.py's checks and this module's helpers, as ``hw4.check_uniform(...)``: pytest imports test modules
    by path, so a test cannot import conftest itself."""
    public = {**vars(checks), **globals()}
    return SimpleNamespace(**{name: value for name, value in public.items() if not name.startswith("_")})
