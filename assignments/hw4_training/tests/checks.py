"""hw4's own checks: the judgements of its visible tests on the student's answers, as the students' checker
repeats them (grader/grading/checks.py). Pure functions of their arguments: numpy, the standard library and
the grader's comparisons, never the reference. Tests and conftest.py import them as ``checks``.

A check is given the student's answers themselves (what an operation on the student's code returned, or an
item of it), never a value the test computed from them: the checker finds an answer by its identity. A
number, True, False or None is found as the latest answer that was that value, so such an answer is checked
right after the operation that gave it, or reached through the list or dict it came in.

**Statistics.** A random result is checked for what every correct solution satisfies, never against the
reference's draws. Each statistical check fails a correct solution with probability at most ``DELTA`` =
10⁻⁸ (Hoeffding's inequality, or the exact tail stated beside it), and no test makes more than 100 of them:
a correct solution fails a test with probability below one in a million. Tests are seeded, so one
submission always gets the same verdict.
"""

from __future__ import annotations

import math

import numpy as np

from grader.grading import tolerances
from grader.grading.checks import check
from grader.grading.compare import Mismatch, WrongType, assert_close, reveal_expected
from grader.sandbox.handles import Handle, type_of

DELTA = 1e-8
"""The largest probability that one statistical check fails a correct solution."""


# ----- statistics ----------------------------------------------------------------------------------------------
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


# ----- values and messages -------------------------------------------------------------------------------------
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


def _kind(value) -> str:
    return type_of(value) if isinstance(value, Handle) else type(value).__name__


def _equals(got, wrong) -> bool:
    try:
        got, wrong = np.asarray(got, dtype=np.float64), np.asarray(wrong, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == wrong.shape and bool(np.allclose(got, wrong, rtol=1e-9, atol=1e-12))


def _numbers(values) -> list[float]:
    if not isinstance(values, list):
        return []
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]


@check(student=("value",))
def tensor(value, name: str):
    """``value`` itself when it is a Tensor of the student's (a handle); a WrongType for anything else."""
    __tracebackhide__ = True
    if not isinstance(value, Handle) or type_of(value) != "Tensor":
        raise WrongType(f"{name} must return a Tensor (part of the graph, so gradients flow back), got {_kind(value)}")
    return value


@check(student=("got",))
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


# ----- initialisation ------------------------------------------------------------------------------------------
@check(student=("value",))
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


# ----- dropout and L2 ------------------------------------------------------------------------------------------
@check(student=("value",))
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


@check(student=("grad",))
def no_gradient(grad, shape: tuple[int, ...], *, name: str) -> None:
    """A parameter the loss does not depend on: its ``grad`` is None (never reached) or zeros of ``shape``."""
    __tracebackhide__ = True
    if grad is not None:
        assert_close(grad, np.zeros(shape), name=name)


# ----- shuffling and mini-batches -------------------------------------------------------------------------------
def shuffled_order(result, X: np.ndarray, Y: np.ndarray, name: str) -> np.ndarray:
    """The order a shuffle of (X, Y) put the rows in (row i of X says i in column 0, its label is i), after
    checking that every label went with its input."""
    __tracebackhide__ = True
    if not (isinstance(result, list) and len(result) == 2):
        raise WrongType(f"{name} must return a pair (X_shuffled, y_shuffled), got {type(result).__name__}")
    X_shuffled, y_shuffled = array_of(result[0], X.shape, f"{name}[0]"), array_of(result[1], Y.shape, f"{name}[1]")
    n = len(Y)
    order = y_shuffled.astype(np.int64)
    if sorted(order.tolist()) != list(range(n)):
        raise Mismatch(f"{name}: the labels are not the {n} labels reordered (each exactly once)")
    if not np.array_equal(X_shuffled[:, 0], order):
        row = int(np.argmax(X_shuffled[:, 0] != order))
        raise Mismatch(
            f"{name}: row {row} holds the input of example {int(X_shuffled[row, 0])} but the label of example "
            f"{order[row]}: inputs and labels must be shuffled with one permutation, together"
        )
    return order


@check(student=("results",))
def new_random_orders(results: list, X: np.ndarray, Y: np.ndarray, name: str) -> None:
    """``results``: the shuffles of (X, Y) of consecutive epochs, from one generator. Each keeps every label
    with its input, looks random (fewer than MAX_SUCCESSIONS successions) and differs from the others."""
    __tracebackhide__ = True
    orders = [shuffled_order(result, X, Y, f"{name} (epoch {epoch})") for epoch, result in enumerate(results, 1)]
    for epoch, order in enumerate(orders, start=1):
        count = successions(order)
        if count >= MAX_SUCCESSIONS:
            raise Mismatch(
                f"{name} (epoch {epoch}): {count} of the {len(order) - 1} neighbours are consecutive rows (i then "
                "i + 1); a random order has about one (12 or more but once in 10⁸): is the order really random?"
            )
    for first in range(len(orders)):
        for second in range(first + 1, len(orders)):
            if np.array_equal(orders[first], orders[second]):
                raise Mismatch(
                    f"{name}: epochs {first + 1} and {second + 1} have the same order; each call must draw a new "
                    "one from the generator it is given (shuffling every epoch, not once)"
                )


@check(student=("got",))
def same_batches(got, expected: list, name: str) -> None:
    """``got`` is the list of (X_batch, y_batch) pairs ``expected``: the batch sizes first, then each batch."""
    __tracebackhide__ = True
    if not isinstance(got, list) or not all(isinstance(b, list) and len(b) == 2 for b in got):
        raise WrongType(f"{name} must return a list of (X_batch, y_batch) pairs, got {type(got).__name__}")
    sizes = [len(b[1]) if isinstance(b[1], np.ndarray) else None for b in got]
    wanted = [len(b[1]) for b in expected]
    if sizes != wanted:
        hint = ""
        if sizes == wanted[:-1]:
            hint = ": the last, partial batch is missing (the rows left over make a batch of their own)"
        elif sizes[:-1] == wanted and sizes[-1] == 0:
            hint = ": the last batch is empty"
        raise Mismatch(f"{name}: batch sizes {sizes}, expected {wanted}{hint}")
    for index, ((X_batch, y_batch), (X_want, y_want)) in enumerate(zip(got, expected)):
        assert_close(X_batch, X_want, name=f"{name}: X of batch {index}")
        assert_close(y_batch, y_want, name=f"{name}: y of batch {index}")


# ----- early stopping ------------------------------------------------------------------------------------------
@check(student=("got",))
def same_answer(got, expected, *, name: str, hint: str = "") -> None:
    """``got`` is exactly ``expected``: True or False as such (not 1 or a numpy bool), a count, an epoch, None."""
    __tracebackhide__ = True
    if isinstance(expected, bool):
        same = got is expected
    else:
        same = not isinstance(got, (Handle, np.ndarray)) and bool(got == expected)
    if not same:
        raise Mismatch(f"{name} is {got!r}{expected_part(expected)}{hint}")


@check(student=("best_loss", "best_state"))
def keeps_the_best(best_loss, best_state, expected_loss: float, expected_state: list, *, label: str, last: int):
    """After the last epoch: the best dev loss and the weights of the best epoch (epoch e's weights are
    [e, −e]), not those of the last epoch ``last``."""
    __tracebackhide__ = True
    assert_close(best_loss, expected_loss, name=f"{label}: best_loss after epoch {last}")
    try:
        assert_close(best_state, expected_state, name=f"{label}: best_state after epoch {last}")
    except WrongType:
        raise
    except Mismatch as mismatch:
        if isinstance(best_state, list) and len(best_state) == 1 and _equals(best_state[0], [last, -last]):
            raise Mismatch(
                f"{mismatch} (those are the weights of epoch {last}, the last one: keep a copy only at a new best)"
            ) from None
        raise


# ----- the training loop ---------------------------------------------------------------------------------------
def _pair(value, name: str) -> None:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, np.ndarray) for v in value)):
        raise WrongType(f"{name} must return a pair of arrays (X, y), got {type(value).__name__}")


@check(student=("first", "again"))
def shuffles_repeat(first, again) -> None:
    """fit's replay repeats the student's shuffles from the seed: two shuffles from one seed must agree, or
    fit cannot be checked."""
    __tracebackhide__ = True
    _pair(first, "shuffled")
    _pair(again, "shuffled")
    if not all(np.array_equal(a, b) for a, b in zip(first, again)):
        raise Mismatch(
            "fit cannot be checked: your shuffled gives another order from the same seed, so your run cannot be "
            "repeated; make shuffled draw from the generator it is given (then fit is checked)"
        )


@check(student=("stop",))
def decides_alike(stop, stopped: bool, *, epoch: int) -> None:
    """In fit's replay, EarlyStopping.update's answer ``stop`` after ``epoch`` decides, as in fit, whether
    training ends (``stopped``: whether it did when the replay was recorded). Any answer that decides the same is
    right here (EarlyStopping's own tests judge the answer itself); the students' checker, which repeats the
    replay the grader made on the solution's pieces, can follow no other decision."""
    __tracebackhide__ = True
    if isinstance(stop, Handle):
        raise WrongType(f"EarlyStopping.update must return True or False, got {type_of(stop)}")
    if bool(stop) != stopped:
        raise Mismatch(
            f"fit cannot be checked here: your EarlyStopping.update returned {stop!r} after epoch {epoch}, so "
            f"training {'ends' if stop else 'goes on'} where the solution's {'went on' if stop else 'ended'}: fix "
            "EarlyStopping.update (the grader checks fit on your own pieces, whatever they answer)"
        )


FIT_KEYS = ("lr", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy")


@check(student=("got", "replay"))
def agrees_with_its_replay(got: dict, replay: dict, *, stopped_epoch, restore_best: bool = True) -> None:
    """The student's fit against its procedure replayed step by step on the student's own pieces.

    ``got``: what fit gave, {"history": History.to_dict(), "weights": the model's state_dict(), "lr":
    optimizer.lr}. ``replay``: the replay's {"history": its History.to_dict() (the losses and accuracies),
    "lr": η of each epoch, "weights": the final state_dict(), "final_lr": optimizer.lr, "best_epoch":
    EarlyStopping.best_epoch (absent without a development set)}; ``stopped_epoch``: the epoch the replay
    stopped at (None: it ran every epoch).
    """
    __tracebackhide__ = True
    history = got["history"]
    wanted = {
        **{key: replay["history"][key] for key in FIT_KEYS if key != "lr"},
        "lr": replay["lr"],
        "best_epoch": replay.get("best_epoch"),
        "stopped_epoch": stopped_epoch,
    }
    if not isinstance(history, dict):
        raise WrongType(f"fit must return the History, got {type(history).__name__}")
    for key in FIT_KEYS:
        try:
            assert_close(history.get(key), wanted[key], name=f"fit: history['{key}']")
        except Mismatch as mismatch:
            raise type(mismatch)(f"{mismatch}{_fit_hint(key, history.get(key), wanted[key])}") from None
    for key in ("best_epoch", "stopped_epoch"):
        if history.get(key) != wanted[key]:
            raise Mismatch(f"fit: history['{key}'] is {history.get(key)!r}{expected_part(wanted[key])}")
    best = wanted["best_epoch"]
    restored = restore_best and best is not None and best < len(wanted["train_loss"])
    weights, expected = got["weights"], replay["weights"]
    if not isinstance(weights, list) or len(weights) != len(expected):
        raise WrongType(f"fit: the model's state_dict() is {type(weights).__name__}, not its weights")
    for index, (mine, theirs) in enumerate(zip(weights, expected)):
        try:
            assert_close(mine, theirs, name=f"fit: the final model's parameter {index}")
        except Mismatch as mismatch:
            if not restored:
                raise
            raise Mismatch(
                f"{mismatch}; the model must end with the weights of the best epoch ({best}): "
                "load stopping.best_state back into it after the loop"
            ) from None
    assert_close(got["lr"], replay["final_lr"], name="fit: optimizer.lr after training")


def _fit_hint(key: str, mine, wanted: list) -> str:
    """What a history that differs this way usually means."""
    if not (isinstance(mine, list) and len(mine) == len(wanted) > 1 and all(isinstance(v, float) for v in mine)):
        return ""
    if key == "lr" and np.allclose(mine[:-1], wanted[1:]):
        return "; η decayed before the epoch: the first epoch trains with η_0, the decay comes after each epoch"
    if key == "train_loss" and np.isclose(mine[0], wanted[0]) and not np.isclose(mine[1], wanted[1]):
        return "; epoch 1 agrees and epoch 2 does not: does each epoch shuffle anew (shuffled inside the loop)?"
    return ""


@check(student=("history", "accuracy"))
def reaches(
    history,
    accuracy,
    required: float,
    *,
    reference: dict,
    reference_accuracy: float,
    plots,
    leaderboard,
    leaderboard_name: str,
) -> None:
    """A real run: its curves plotted beside the reference's ``reference`` history, its dev ``accuracy`` on the
    leaderboard, and at least ``required``."""
    __tracebackhide__ = True
    if not isinstance(history, dict) or not isinstance(accuracy, float):
        raise WrongType(
            f"fit must return the History and evaluate a (loss, accuracy) pair, got {type(history).__name__}"
        )
    leaderboard.add(leaderboard_name, accuracy)
    for key, title in (("train_loss", "training loss"), ("dev_loss", "development loss")):
        plots.add(
            f"{title} per epoch on the digits",
            {"yours": _numbers(history.get(key)), "reference": reference[key]},
            x_label="epoch",
            y_label="loss",
        )
    plots.add(
        "development accuracy per epoch",
        {"yours": _numbers(history.get("dev_accuracy")), "reference": reference["dev_accuracy"]},
        x_label="epoch",
        y_label="accuracy",
    )
    if not accuracy >= required:
        epochs = len(history.get("train_loss") or [])
        raise Mismatch(
            f"fit: the MLP reaches {accuracy:.1%} dev accuracy on the digits after {epochs} epochs; at least "
            f"{required:.0%} is required (the reference reaches {reference_accuracy:.1%}: compare the curves)"
        )


# ----- restarts and the sweep ----------------------------------------------------------------------------------
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


def _history(value, name: str) -> dict:
    if not isinstance(value, dict) or not isinstance(value.get("train_loss"), list):
        raise WrongType(f"{name}: fit must return a History, whose to_dict() is a dict, got {type(value).__name__}")
    return value


def restart_rows(runs: list[dict], seeds: list[int]) -> list[dict]:
    """The row of random_restarts' table each run makes: ``runs`` hold each seed's replayed
    {"history": History.to_dict(), "evaluation": evaluate(model, X_dev, y_dev)}."""
    rows = []
    for seed, run in zip(seeds, runs):
        history, (dev_loss, dev_accuracy) = _history(run["history"], "random_restarts"), run["evaluation"]
        rows.append(
            {
                "seed": seed,
                "dev_accuracy": dev_accuracy,
                "dev_loss": dev_loss,
                "best_epoch": history["best_epoch"],
                "epochs_run": len(history["train_loss"]),
            }
        )
    return rows


@check(student=("table", "runs"))
def restart_table(table, runs: list[dict], seeds: list[int], name: str) -> None:
    """random_restarts' ``table``: one row per seed, in the order given, each that of the seed's replayed run."""
    __tracebackhide__ = True
    compare_rows(table, restart_rows(runs, seeds), name)


def _best_run(rows: list[dict], seed) -> dict | None:
    """The row that beats the one of ``seed`` by the lecture's rule (the highest dev accuracy, then the lowest dev
    loss, then the earlier seed), with why; None when none does."""
    kept = next(index for index, row in enumerate(rows) if row["seed"] == seed)
    mine = rows[kept]
    for index, row in enumerate(rows):
        if row["dev_accuracy"] > mine["dev_accuracy"]:
            return {**row, "why": "a higher dev accuracy"}
        if row["dev_accuracy"] == mine["dev_accuracy"] and row["dev_loss"] < mine["dev_loss"]:
            return {**row, "why": "the same dev accuracy and a lower dev loss"}
        if row["dev_accuracy"] == mine["dev_accuracy"] and row["dev_loss"] == mine["dev_loss"] and index < kept:
            return {**row, "why": "the same dev accuracy and dev loss, and comes first"}
    return None


@check(student=("seed", "runs"))
def keeps_the_best_run(seed, runs: list[dict], seeds: list[int]) -> None:
    """random_restarts kept ``seed``: the run best on the development set, by the lecture's rule."""
    __tracebackhide__ = True
    rows = restart_rows(runs, seeds)
    if isinstance(seed, (bool, Handle)) or seed not in seeds:
        raise Mismatch(f"random_restarts: kept seed {seed!r}, which is none of the seeds tried {seeds}")
    better = _best_run(rows, seed)
    if better is not None:
        shown = f" (seed {better['seed']} has {better['why']})" if reveal_expected.get() else ""
        raise Mismatch(
            f"random_restarts: kept seed {seed!r}, not the run best on the dev set{shown}: the highest dev "
            "accuracy, a tie going to the lower dev loss (then to the earlier seed)"
        )


@check(student=("accuracy", "runs"))
def the_kept_model(accuracy, runs: list[dict], seeds: list[int]) -> None:
    """result.model, evaluated on the development set, is the model of the run best on it."""
    __tracebackhide__ = True
    rows = restart_rows(runs, seeds)
    best = next(row for row in rows if _best_run(rows, row["seed"]) is None)
    assert_close(
        accuracy, best["dev_accuracy"], name=f"random_restarts: the dev accuracy of result.model (seed {best['seed']})"
    )


def sweep_rows(histories: list, rates: list[float]) -> list[dict]:
    """The row of learning_rate_sweep each rate's replayed run (its History.to_dict()) makes."""
    rows = []
    for lr, history in zip(rates, histories):
        history = _history(history, "learning_rate_sweep")
        rows.append(
            {
                "learning_rate": lr,
                "final_train_loss": history["train_loss"][-1] if history["train_loss"] else float("nan"),
                "best_dev_accuracy": max(history["dev_accuracy"]) if history["dev_accuracy"] else float("nan"),
                "best_dev_loss": min(history["dev_loss"]) if history["dev_loss"] else float("nan"),
                "best_epoch": history["best_epoch"],
                "epochs_run": len(history["train_loss"]),
            }
        )
    return rows


@check(student=("rows", "histories"))
def sweep_table(rows, histories: list, rates: list[float], name: str) -> None:
    """learning_rate_sweep's ``rows``: one per rate, in the order given, each that of the rate's replayed run."""
    __tracebackhide__ = True
    if not isinstance(rows, list):
        raise WrongType(f"learning_rate_sweep must return a list of rows (dicts), got {type(rows).__name__}")
    compare_rows(rows, sweep_rows(histories, rates), name)


# ----- ensembles -----------------------------------------------------------------------------------------------
@check(student=("got",))
def majority_votes(got, expected: np.ndarray, *, tie: int, first_vote, tied: str, name: str) -> None:
    """``got`` is ``expected``; at example ``tie`` (a tie of the labels ``tied``), the first model's vote
    ``first_vote`` is the mistake of a vote that keeps the label seen first."""
    __tracebackhide__ = True
    if isinstance(got, np.ndarray) and got.shape == expected.shape and got[tie] == first_vote:
        raise Mismatch(
            f"majority_vote: example {tie} is a tie of {tied}: it goes to the smallest, {expected[tie]}, not to "
            f"the first model's vote ({got[tie]})"
        )
    assert_close(got, expected, name=name)
