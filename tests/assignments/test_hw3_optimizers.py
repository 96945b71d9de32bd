"""hw3_optimizers grades what it should: the solution full, the blank handout zero, a mistake its optimizer only.

The full proof over the whole catalogue of mistakes is ``grader validate
hw3_optimizers`` (about 30 gradings); these tests grade a few submissions,
each once, and check what the students see: every failure names the
optimizer, the step and, for a known mistake, the mistake.
"""

import functools

import graded
import pytest
from graded import failures, scores

from grader.authoring.module import build_module
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.homework import samples
from grader.outputs.results import TestStatus

HW = "hw3_optimizers"
MANIFEST = manifests.load(HW)


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


def test_visible_trajectory_tests_plot_the_students_loss_beside_the_references(solution):
    plotted = [test for test in solution.tests if test.plots]
    assert len(plotted) >= 9 and all(not test.hidden for test in plotted)
    series = plotted[0].plots[0]["series"]
    assert set(series) == {"yours", "reference"} and series["yours"] == series["reference"]


def test_the_blank_handout_scores_zero_every_test_saying_not_implemented(tmp_path):
    result = grade(write(tmp_path, build_module(MANIFEST, solution=False)), HW)
    assert result.score == 0 and not result.errors
    assert all(t.status is TestStatus.FAILED and "is not implemented yet" in t.message for t in result.tests)


def test_the_student_writes_the_update_rule_inside_the_given_loop_over_parameters():
    blank = build_module(MANIFEST, solution=False)
    adam = blank[blank.index("class Adam(") : blank.index("class AdamW(")]
    assert "loss = self._evaluate(closure)\n        for p, g, s in self._with_gradients():\n" in adam
    assert "# TODO(task 3.7): implement Adam.step" in adam and "m_hat" not in adam


def test_adam_without_bias_correction_costs_adam_only_and_is_named(tmp_path, full_marks):
    text = with_edit(
        'm_hat = s["m"] / (1 - self.beta1**t)\n            v_hat = s["v"] / (1 - self.beta2**t)\n'
        "            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat\n        return loss\n\n\n"
        "class AdamW",
        'm_hat, v_hat = s["m"], s["v"]\n'
        "            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat\n        return loss\n\n\n"
        "class AdamW",
    )
    result = grade(write(tmp_path, text), HW)
    lost = {name: full_marks[name] - score for name, score in scores(result).items() if score < full_marks[name]}
    assert lost == {"Adam.step": 4}
    messages = failures(result)
    visible = messages["adam::adam_trajectory_with_a_decaying_learning_rate"]
    assert visible.startswith("Adam.step: W after step 1: wrong value") and "expected" in visible
    assert "matches Adam without bias correction" in visible
    hidden = messages["other_problems::adam_coupled_weight_decay"]
    assert "matches Adam without bias correction" in hidden and "expected" not in hidden


def test_nesterov_without_the_look_ahead_is_caught_where_it_looks(tmp_path, full_marks):
    text = with_edit(
        '                p.data = p.data - self.momentum * self.state[index]["v"]\n', "                pass\n"
    )
    result = grade(write(tmp_path, text), HW)
    assert {name for name, score in scores(result).items() if score < full_marks[name]} == {"Nesterov.step"}
    message = failures(result)["gradient_descent::nesterov_takes_the_gradient_at_the_look_ahead_point"]
    assert "the look-ahead point (where J was evaluated) of W at step 2" in message
    assert "matches Nesterov without the look-ahead" in message


@pytest.mark.parametrize(
    "sample",
    [sample for sample in samples.load(MANIFEST) if sample.edits],  # "correct" is the solution, graded above
    ids=lambda sample: sample.file,
)
def test_every_sample_scores_what_samples_toml_says(tmp_path, sample):
    """The notebook's engine annotates with names its later cells define (its first cell imports annotations)."""
    path = tmp_path / sample.file
    path.write_text(samples.derive(MANIFEST, sample), encoding="utf-8")
    assert grade(path, HW).score == pytest.approx(sample.score)
