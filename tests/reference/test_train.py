"""The training toolkit: mini-batches, the loop and its tricks, restarts, ensembles, LR sweep."""

import time

import numpy as np
import pytest

from reference import datasets, nn, optim, schedules, train
from reference import functional as F
from reference.tensor import Tensor


def _toy_problem(n=40, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    return X, rng.integers(0, classes, size=n)


@pytest.fixture(scope="module")
def digits_split():
    return datasets.train_dev_test_split(*datasets.load_digits(), seed=0)


# ----- batches: batch, mini-batch and stochastic gradient descent from one function ----


@pytest.mark.parametrize("batch_size", [10, 3, 1], ids=["batch-N", "mini-batch-n", "stochastic-1"])
def test_batches_cover_every_index_exactly_once_per_epoch(batch_size):
    rng = np.random.default_rng(0)
    for _ in range(3):
        rows = np.concatenate(list(train.batches(10, batch_size, rng)))
        assert sorted(rows.tolist()) == list(range(10))


def test_batch_size_n_is_one_batch_and_size_1_is_one_example_per_batch():
    rng = np.random.default_rng(0)
    assert [len(b) for b in train.batches(7, 7, rng)] == [7]
    assert [len(b) for b in train.batches(7, None, rng)] == [7]
    assert [len(b) for b in train.batches(7, 1, rng)] == [1] * 7


def test_last_partial_batch_is_kept():
    assert [len(b) for b in train.batches(10, 4, np.random.default_rng(0))] == [4, 4, 2]


def test_shuffling_gives_a_new_order_every_epoch():
    rng = np.random.default_rng(0)
    first, second = (np.concatenate(list(train.batches(50, 8, rng))) for _ in range(2))
    assert not np.array_equal(first, second)


def test_shuffling_is_reproducible_for_a_seed():
    def orders(seed):
        rng = np.random.default_rng(seed)
        return [np.concatenate(list(train.batches(50, 8, rng))) for _ in range(3)]

    for a, b in zip(orders(4), orders(4)):
        np.testing.assert_array_equal(a, b)


def test_no_shuffle_keeps_the_order():
    rows = list(train.batches(5, 2, shuffle=False))
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4]]


def test_shuffling_without_a_generator_is_an_error():
    with pytest.raises(ValueError, match="rng"):
        list(train.batches(5, 2))


def test_shuffled_moves_every_label_with_its_input():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_shuffled, y_shuffled = train.shuffled(X, y, np.random.default_rng(0))
    np.testing.assert_array_equal(X_shuffled, X[y_shuffled])
    assert sorted(y_shuffled.tolist()) == list(range(10)) and not np.array_equal(y_shuffled, y)


def test_shuffled_draws_a_new_order_at_each_call_the_same_sequence_for_a_seed():
    def orders(seed):
        rng = np.random.default_rng(seed)
        return [train.shuffled(np.arange(30), np.arange(30), rng)[1] for _ in range(3)]

    first, again = orders(1), orders(1)
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_shuffled_leaves_its_arguments_as_they_were():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    train.shuffled(X, y, np.random.default_rng(2))
    np.testing.assert_array_equal(X, np.arange(12.0).reshape(6, 2))
    np.testing.assert_array_equal(y, np.arange(6))


def test_shuffled_needs_a_generator_and_one_label_per_row():
    with pytest.raises(ValueError, match="rng"):
        train.shuffled(np.zeros((3, 2)), np.zeros(3), None)
    with pytest.raises(TypeError, match="Generator"):
        train.shuffled(np.zeros((3, 2)), np.zeros(3), 0)
    with pytest.raises(ValueError, match="labels"):
        train.shuffled(np.zeros((3, 2)), np.zeros(4), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("n", "batch_size", "sizes"),
    [(10, 4, [4, 4, 2]), (12, 4, [4, 4, 4]), (10, None, [10]), (3, 5, [3]), (3, 1, [1, 1, 1])],
)
def test_get_batches_are_consecutive_rows_the_last_partial_batch_kept_none_empty(n, batch_size, sizes):
    X, y = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    got = train.get_batches(X, y, batch_size)
    assert [len(y_batch) for _, y_batch in got] == sizes
    np.testing.assert_array_equal(np.concatenate([X_batch for X_batch, _ in got]), X)
    np.testing.assert_array_equal(np.concatenate([y_batch for _, y_batch in got]), y)


def test_get_batches_rejects_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size"):
        train.get_batches(np.zeros((3, 2)), np.zeros(3), 0)


def test_train_epoch_takes_one_optimizer_step_per_batch_in_training_mode():
    X, y = _toy_problem(n=10)
    model = _ModeSpy()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.step = lambda closure: steps.append(closure())
    model.eval()
    train.train_epoch(model, optimizer, train.get_batches(X, y, 4), F.cross_entropy)
    assert len(steps) == 3 and model.modes == [True, True, True]


def test_history_records_one_epoch_per_split_and_is_plain_data():
    history = train.History()
    history.record("train", 0.5, 0.8)
    history.record("dev", 0.7, 0.6)
    history.lr.append(0.1)
    assert history.to_dict() == {
        "train_loss": [0.5],
        "train_accuracy": [0.8],
        "dev_loss": [0.7],
        "dev_accuracy": [0.6],
        "lr": [0.1],
        "best_epoch": None,
        "stopped_epoch": None,
    }


def test_step_schedule_decays_once_and_gives_reduce_on_plateau_the_dev_loss():
    optimizer = optim.SGD([Tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    history = train.History(dev_loss=[3.0])
    train.step_schedule(schedules.ExponentialDecay(optimizer, gamma=0.5), history)
    assert optimizer.lr == pytest.approx(0.05, rel=1e-12)
    plateau = schedules.ReduceOnPlateau(optimizer, patience=1)
    train.step_schedule(plateau, history)
    assert plateau.best == 3.0
    train.step_schedule(None, history)  # no schedule: nothing to do


def test_fit_is_deterministic_for_a_seed():
    X, y = _toy_problem()

    def run():
        model = nn.MLP([5, 8, 3], rng=np.random.default_rng(1))
        train.fit(
            model, optim.SGD(model.parameters(), lr=0.1), X, y, epochs=3, batch_size=8, rng=np.random.default_rng(2)
        )
        return model.state_dict()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


# ----- early stopping on a scripted validation curve ---------------------------------


def _scripted_fit(monkeypatch, curve, **fit_kwargs):
    """fit with the dev loss of epoch e set to curve[e − 1]; returns the history and each epoch's weights."""
    X, y = _toy_problem()
    X_dev, y_dev = _toy_problem(n=10, seed=1)
    model = nn.Linear(5, 3, rng=np.random.default_rng(0))
    dev_losses, weights = iter(curve), []
    real_evaluate = train.evaluate

    def scripted_evaluate(model, X, y, loss="cross_entropy"):
        if X is X_dev:
            weights.append(model.state_dict())
            return next(dev_losses), 0.5
        return real_evaluate(model, X, y, loss)

    monkeypatch.setattr(train, "evaluate", scripted_evaluate)
    history = train.fit(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        X,
        y,
        epochs=len(curve),
        batch_size=8,
        rng=np.random.default_rng(0),
        X_dev=X_dev,
        y_dev=y_dev,
        **fit_kwargs,
    )
    return model, history, weights


def test_early_stopping_stops_after_patience_epochs_without_improvement(monkeypatch):
    _, history, _ = _scripted_fit(monkeypatch, [1.0, 0.8, 0.7, 0.75, 0.72, 0.9, 0.6, 0.5], patience=2)
    assert history.best_epoch == 3
    assert history.stopped_epoch == 5
    assert history.dev_loss == [1.0, 0.8, 0.7, 0.75, 0.72]


def test_early_stopping_restores_the_weights_of_the_best_epoch(monkeypatch):
    model, history, weights = _scripted_fit(monkeypatch, [1.0, 0.8, 0.7, 0.75, 0.72, 0.9], patience=2)
    assert not np.array_equal(weights[2][0], weights[-1][0])  # the weights did move after the best epoch
    for restored, best in zip(model.state_dict(), weights[history.best_epoch - 1]):
        np.testing.assert_array_equal(restored, best)


def test_without_restore_best_the_last_weights_stay(monkeypatch):
    model, _, weights = _scripted_fit(monkeypatch, [1.0, 0.8, 0.7, 0.75, 0.72], patience=2, restore_best=False)
    for kept, last in zip(model.state_dict(), weights[-1]):
        np.testing.assert_array_equal(kept, last)


def test_improvements_smaller_than_min_delta_do_not_count(monkeypatch):
    _, history, _ = _scripted_fit(monkeypatch, [1.0, 0.95, 0.93, 0.5], patience=2, min_delta=0.1)
    assert (history.best_epoch, history.stopped_epoch) == (1, 3)


def test_without_patience_every_epoch_runs(monkeypatch):
    _, history, _ = _scripted_fit(monkeypatch, [1.0, 2.0, 3.0, 4.0])
    assert history.stopped_epoch is None and history.epochs_run == 4 and history.best_epoch == 1


def _stopping_run(curve, patience, min_delta=0.0):
    """An EarlyStopping fed ``curve``, the weights of epoch e being the array [e]; its state after each epoch."""
    stopping, model, states = train.EarlyStopping(patience, min_delta), nn.Module(), []
    model.w = Tensor(np.zeros(1), requires_grad=True)
    for epoch, dev_loss in enumerate(curve, start=1):
        model.load_state_dict([np.array([float(epoch)])])
        stop = stopping.update(epoch, dev_loss, model)
        states.append((stop, stopping.best_epoch, stopping.epochs_without_improvement))
    return stopping, states


def test_early_stopping_counts_epochs_without_improvement_and_keeps_the_best_weights():
    stopping, states = _stopping_run([1.0, 0.8, 0.8, 0.9, 0.7, 0.75, 0.76], patience=2)
    assert states == [
        (False, 1, 0),
        (False, 2, 0),
        (False, 2, 1),  # a tie with the best is no improvement
        (True, 2, 2),
        (False, 5, 0),
        (False, 5, 1),
        (True, 5, 2),
    ]
    assert stopping.best_loss == 0.7 and stopping.best_state[0].tolist() == [5.0]


def test_early_stopping_needs_more_than_min_delta_and_without_patience_never_stops():
    _, states = _stopping_run([1.0, 0.95, 0.85], patience=None, min_delta=0.1)
    assert states == [(False, 1, 0), (False, 1, 1), (False, 3, 0)]


# ----- dropout: active in training only ----------------------------------------------


def test_dropout_is_off_in_evaluation():
    X, y = _toy_problem()
    model = nn.MLP([5, 32, 3], dropout=0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(train.outputs(model, X), train.outputs(model, X))
    assert train.evaluate(model, X, y) == train.evaluate(model, X, y)


def test_dropout_is_on_in_training_mode():
    X, _ = _toy_problem()
    model = nn.MLP([5, 32, 3], dropout=0.5, rng=np.random.default_rng(0))
    model.train()
    assert not np.array_equal(model(Tensor(X)).data, model(Tensor(X)).data)


class _ModeSpy(nn.Module):
    """A Linear layer that records the training flag of every forward pass."""

    def __init__(self):
        self.layer = nn.Linear(5, 3, rng=np.random.default_rng(0))
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.layer(x)


def test_fit_trains_in_training_mode_and_evaluates_in_evaluation_mode():
    X, y = _toy_problem(n=16)
    model = _ModeSpy()
    train.fit(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        X,
        y,
        epochs=1,
        batch_size=8,
        rng=np.random.default_rng(0),
        X_dev=X,
        y_dev=y,
    )
    assert model.modes == [True, True, False, False]  # two mini-batches, then the train and dev evaluations


# ----- L2 regularisation -------------------------------------------------------------


def test_l2_penalty_is_half_lambda_times_the_squared_norms_of_the_weight_matrices():
    model = nn.MLP([3, 4, 2], rng=np.random.default_rng(0))
    for layer in (model[0], model[2]):
        layer.bias.data = np.ones_like(layer.bias.data)  # biases are not penalised
    W1, W2 = model[0].weight.data, model[2].weight.data
    expected = 0.3 / 2 * (np.sum(W1**2) + np.sum(W2**2))
    assert train.l2_penalty(model, 0.3).item() == pytest.approx(expected, rel=1e-12)


def test_l2_adds_lambda_w_to_the_gradient_of_one_batch_step():
    X, y = _toy_problem(n=6, features=3, classes=2)
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    W, b = model.weight.data.copy(), model.bias.data.copy()
    lr, lam = 0.5, 0.2

    probe = nn.Linear(3, 2)
    probe.load_state_dict([W, b])
    F.cross_entropy(probe(Tensor(X)), y).backward()  # ∂L/∂W and ∂L/∂b of the data loss alone
    expected_W = W - lr * (probe.weight.grad + lam * W)
    expected_b = b - lr * probe.bias.grad

    train.fit(
        model,
        optim.SGD(model.parameters(), lr=lr),
        X,
        y,
        epochs=1,
        batch_size=None,
        rng=np.random.default_rng(0),
        l2=lam,
    )
    np.testing.assert_allclose(model.weight.data, expected_W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.bias.data, expected_b, rtol=1e-12, atol=1e-15)


# ----- learning-rate decay ---------------------------------------------------------


def _fit_with_schedule(make_schedule, epochs=4, lr=0.1):
    X, y = _toy_problem()
    model = nn.Linear(5, 3, rng=np.random.default_rng(0))
    optimizer = optim.SGD(model.parameters(), lr=lr)
    schedule = make_schedule(optimizer)
    history = train.fit(
        model,
        optimizer,
        X,
        y,
        epochs=epochs,
        batch_size=8,
        rng=np.random.default_rng(0),
        X_dev=X,
        y_dev=y,
        schedule=schedule,
    )
    return optimizer, schedule, history


def test_exponential_decay_sets_the_learning_rate_of_each_epoch():
    optimizer, _, history = _fit_with_schedule(lambda opt: schedules.ExponentialDecay(opt, gamma=0.5))
    np.testing.assert_allclose(history.lr, [0.1, 0.05, 0.025, 0.0125], rtol=1e-12)
    assert optimizer.lr == pytest.approx(0.00625, rel=1e-12)


def test_step_decay_changes_the_learning_rate_every_step_size_epochs():
    _, _, history = _fit_with_schedule(lambda opt: schedules.StepDecay(opt, step_size=2, gamma=0.1), epochs=5)
    np.testing.assert_allclose(history.lr, [0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-12)


def test_reduce_on_plateau_is_given_the_dev_loss_of_each_epoch():
    class Recorder:
        def __init__(self, optimizer):
            self.metrics = []

        def step(self, metric):
            self.metrics.append(metric)

    _, recorder, history = _fit_with_schedule(Recorder)
    assert recorder.metrics == history.dev_loss


def test_reduce_on_plateau_without_a_dev_set_is_an_error():
    X, y = _toy_problem()
    model = nn.Linear(5, 3, rng=np.random.default_rng(0))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="X_dev"):
        train.fit(
            model,
            optimizer,
            X,
            y,
            epochs=1,
            batch_size=8,
            rng=np.random.default_rng(0),
            schedule=schedules.ReduceOnPlateau(optimizer),
        )


# ----- random restarts ---------------------------------------------------------------


def test_random_restarts_keep_the_seed_best_on_the_dev_set(digits_split):
    X_train, y_train, X_dev, y_dev = (a[:200] for a in digits_split[:4])

    def make_model(rng):
        return nn.MLP([64, 4, 10], rng=rng)

    def make_optimizer(params):
        return optim.SGD(params, lr=0.5)

    settings = dict(epochs=2, batch_size=20)
    seeds = [0, 1, 2, 3]
    one_by_one = []
    for seed in seeds:  # each restart computed on its own
        rng = np.random.default_rng(seed)
        model = make_model(rng)
        train.fit(
            model, make_optimizer(model.parameters()), X_train, y_train, rng=rng, X_dev=X_dev, y_dev=y_dev, **settings
        )
        one_by_one.append(train.evaluate(model, X_dev, y_dev)[1])

    result = train.random_restarts(make_model, make_optimizer, seeds, X_train, y_train, X_dev, y_dev, **settings)
    assert len(set(one_by_one)) > 1  # the restarts really differ
    assert result.seed == seeds[int(np.argmax(one_by_one))]
    assert [row["dev_accuracy"] for row in result.table] == one_by_one
    assert train.evaluate(result.model, X_dev, y_dev)[1] == max(one_by_one)


def test_random_restarts_break_a_dev_accuracy_tie_by_the_lower_dev_loss(monkeypatch):
    """Seeds 0 and 1 tie on accuracy; seed 1 has the lower loss, so it is kept although it comes later."""
    measured = iter([(0.5, 0.8), (0.4, 0.8), (0.3, 0.7)])
    monkeypatch.setattr(train, "evaluate", lambda model, X, y, loss="cross_entropy": next(measured))
    monkeypatch.setattr(train, "fit", lambda model, optimizer, *args, **kwargs: train.History())
    result = train.random_restarts(
        lambda rng: nn.Linear(2, 2, rng=rng), lambda params: None, [0, 1, 2], None, None, None, None
    )
    assert result.seed == 1 and [row["seed"] for row in result.table] == [0, 1, 2]


# ----- ensembles ---------------------------------------------------------------------


def test_majority_vote_takes_the_most_common_label_and_the_smallest_on_a_tie():
    predictions = [np.array([0, 1, 2, 3]), np.array([0, 1, 1, 2]), np.array([1, 2, 1, 1])]
    np.testing.assert_array_equal(train.majority_vote(predictions), [0, 1, 1, 1])  # example 3: a three-way tie → 1


def test_average_outputs_is_the_mean_output_vector():
    outputs = [
        np.array([[0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.5, 0.5, 0.0], [0.0, 0.3, 0.7]]),
        np.array([[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
        np.array([[0.0, 1.0, 0.0], [0.3, 0.0, 0.7], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
    ]
    average = train.average_outputs(outputs)
    np.testing.assert_allclose(average[0], [0.4, 0.6, 0.0])
    np.testing.assert_allclose(average[1], [0.2, 1.0 / 3, 1.4 / 3])
    # Example 0: two of three models vote 0, but the averaged vector says 1; example 2 is a tie → 0.
    np.testing.assert_array_equal(average.argmax(axis=1), [1, 2, 0, 1])
    np.testing.assert_array_equal(train.majority_vote([o.argmax(axis=1) for o in outputs]), [0, 2, 0, 1])


def test_ensemble_predictions_combine_its_members():
    X, _ = _toy_problem()
    models = [nn.MLP([5, 8, 3], rng=np.random.default_rng(seed)) for seed in range(3)]
    votes = train.majority_vote([train.predict(m, X) for m in models])
    probabilities = train.average_outputs([F.softmax(Tensor(train.outputs(m, X)), axis=1).data for m in models])
    np.testing.assert_array_equal(train.Ensemble(models, method="vote").predict(X), votes)
    np.testing.assert_array_equal(train.Ensemble(models, method="average").predict(X), probabilities.argmax(axis=1))


# ----- learning-rate sweep -----------------------------------------------------------


def test_learning_rate_sweep_has_one_row_per_rate_from_the_same_start():
    X, y = _toy_problem()
    make_model = lambda rng: nn.MLP([5, 8, 3], rng=rng)  # noqa: E731
    rows = train.learning_rate_sweep(
        make_model,
        lambda params, lr: optim.SGD(params, lr=lr),
        X,
        y,
        X,
        y,
        learning_rates=(0.1, 0.0),
        epochs=3,
        batch_size=8,
    )
    assert [row["learning_rate"] for row in rows] == [0.1, 0.0]
    assert all(row["epochs_run"] == 3 for row in rows)
    untrained_loss, _ = train.evaluate(make_model(np.random.default_rng(0)), X, y)
    assert rows[1]["final_train_loss"] == pytest.approx(untrained_loss, rel=1e-12)  # η = 0 never moves
    assert rows[0]["final_train_loss"] < untrained_loss


# ----- a real run on the shipped digits ----------------------------------------------


def test_mlp_reaches_95_percent_dev_accuracy_on_digits(digits_split):
    # Measured: 96.7 % dev accuracy (weights of the best epoch, 18 of 20) in about 0.2 s on one core.
    X_train, y_train, X_dev, y_dev, _, _ = digits_split
    rng = np.random.default_rng(0)
    model = nn.MLP([64, 64, 10], activation="relu", rng=rng)
    start = time.perf_counter()
    history = train.fit(
        model,
        optim.Adam(model.parameters(), lr=0.003),
        X_train,
        y_train,
        epochs=20,
        batch_size=32,
        rng=rng,
        X_dev=X_dev,
        y_dev=y_dev,
        patience=5,
    )
    seconds = time.perf_counter() - start
    _, dev_accuracy = train.evaluate(model, X_dev, y_dev)
    assert dev_accuracy >= 0.95, f"dev accuracy {dev_accuracy:.3f} after {history.epochs_run} epochs ({seconds:.1f} s)"
