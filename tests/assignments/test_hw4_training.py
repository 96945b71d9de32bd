"""hw4_training grades what it should: the solution full, the blank handout zero, a mistake its function only.

The full proof over the whole catalogue of mistakes is ``grader validate hw4_training`` (about forty
gradings); these tests grade a few submissions, each once, and check what the students see: the digits
run plotted beside the reference's and put on the leaderboard, statistical checks that name the
mistake, and the training loop graded on the student's own pieces.
"""

import functools

import graded
import pytest
from graded import failures, scores

from grader.authoring.module import build_module
from grader.gradescope import results_json
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.homework import samples
from grader.outputs.results import TestStatus

HW = "hw4_training"
MANIFEST = manifests.load(HW)
DIGITS = "training::fit_trains_an_mlp_on_the_digits_to_93_percent_dev_accuracy"


write = functools.partial(graded.write, MANIFEST)
with_edit = functools.partial(graded.with_edit, MANIFEST)


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    return grade(write(tmp_path_factory.mktemp("solution"), build_module(MANIFEST, solution=True)), HW)


@pytest.fixture(scope="module")
def full_marks(solution):
    return scores(solution)


def test_the_solution_scores_full_marks(solution):
    assert solution.score == solution.max_score == 30
    assert not failures(solution) and not solution.errors


def test_the_digits_run_is_plotted_beside_the_references_and_goes_on_the_leaderboard(solution):
    digits = next(test for test in solution.tests if test.name == DIGITS)
    assert not digits.hidden and [plot["x_label"] for plot in digits.plots] == ["epoch"] * 3
    losses = digits.plots[0]["series"]
    assert set(losses) == {"yours", "reference"} and losses["yours"] == losses["reference"]
    assert len(losses["yours"]) == 20  # 20 epochs, no early stop
    [entry] = solution.leaderboard
    assert entry["name"] == "Dev accuracy (digits)" and 0.93 <= entry["value"] <= 1 and entry["order"] == "desc"
    assert results_json(solution, MANIFEST)["leaderboard"] == [{**entry, "value": round(entry["value"], 6)}]


def test_the_blank_handout_scores_zero_every_test_saying_not_implemented(tmp_path):
    result = grade(write(tmp_path, build_module(MANIFEST, solution=False)), HW)
    assert result.score == 0 and not result.errors
    assert all(t.status is TestStatus.FAILED and "is not implemented yet" in t.message for t in result.tests)
    # A test that reaches a blank through another function names the blank one.
    assert (
        failures(result)[DIGITS] == "fit: xavier_uniform is not implemented yet (it still raises NotImplementedError)"
    )


def test_the_student_writes_the_loop_between_the_given_lines_of_fit():
    blank = build_module(MANIFEST, solution=False)
    fit = blank[blank.index("def fit(") : blank.index("class EarlyStopping")]
    assert "    stopping = EarlyStopping(patience, min_delta)\n    # TODO(task 4.10): implement fit\n" in fit
    assert "    model.eval()\n    return history\n" in fit and "for epoch in" not in fit


def test_p_taken_as_the_keep_probability_costs_dropout_and_says_so(tmp_path, full_marks):
    """The fraction dropped, measured statistically, names the mistake; dropout's other checks and the other
    functions' points are untouched (but the digits run, which drops 90 % of its units, may fail)."""
    text = with_edit("keep = rng.random(x.shape) >= p", "keep = rng.random(x.shape) < p")
    result = grade(write(tmp_path, text), HW)
    lost = {name: full_marks[name] - score for name, score in scores(result).items() if score < full_marks[name]}
    assert set(lost) <= {"dropout", "fit"} and lost["dropout"] > 0
    assert set(failures(result)) - {DIGITS} <= {t.name for t in result.tests if t.functions[0] == "dropout"}
    message = failures(result)["dropout_and_l2::dropout_drops_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p"]
    assert "of the entries were dropped" in message and "not of keeping it" in message


def test_a_fit_that_shuffles_once_costs_fit_only_whatever_its_pieces_are(tmp_path, full_marks):
    text = with_edit(
        "    for epoch in range(1, epochs + 1):\n        history.lr.append(float(optimizer.lr))\n"
        "        X_epoch, y_epoch = shuffled(X_train, y_train, rng) if shuffle else (X_train, y_train)\n",
        "    X_epoch, y_epoch = shuffled(X_train, y_train, rng) if shuffle else (X_train, y_train)\n"
        "    for epoch in range(1, epochs + 1):\n        history.lr.append(float(optimizer.lr))\n",
    )
    result = grade(write(tmp_path, text), HW)
    assert {name for name, score in scores(result).items() if score < full_marks[name]} == {"fit"}
    message = failures(result)["training::fit_shuffles_every_epoch_decays_after_it_and_restores_the_best_epoch"]
    assert message.startswith("fit: history['train_loss']") and "shuffle anew" in message


@pytest.mark.parametrize(
    "sample",
    [sample for sample in samples.load(MANIFEST) if sample.edits],  # "correct" is the solution, graded above
    ids=lambda sample: sample.file,
)
def test_every_sample_scores_what_samples_toml_says(tmp_path, sample):
    path = tmp_path / sample.file
    path.write_text(samples.derive(MANIFEST, sample), encoding="utf-8")
    assert grade(path, HW).score == pytest.approx(sample.score)
