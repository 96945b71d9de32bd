"""Grading one submission end to end, on hw1: the proof that the tests grade what they should."""

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.errors import UserError
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.homework import samples

HW = "hw1_backprop"
QUICK = replace(manifests.load(HW).limits, call_seconds=2, load_seconds=4)


@pytest.fixture(scope="module")
def solution(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("solution") / f"{HW}.py"
    path.write_text(build_module(manifests.load(HW), solution=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blank") / f"{HW}.py"
    path.write_text(build_module(manifests.load(HW), solution=False), encoding="utf-8")
    return path


def variant(tmp_path: Path, source: Path, old: str, new: str, name: str = "submission.py") -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"the solution no longer contains {old!r}"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def scores_by_function(result) -> dict[str, float]:
    return {name: score for name, (score, _) in result.function_scores().items()}


def test_the_reference_solution_scores_full_marks(solution):
    result = grade(solution, HW)
    assert (result.score, result.max_score) == (20, 20)
    assert all(t.status == "passed" for t in result.tests) and result.errors == []


def test_the_blank_handout_scores_zero_and_every_test_says_not_implemented(blank):
    result = grade(blank, HW)
    assert result.score == 0 and result.max_score == 20
    assert {t.status for t in result.tests} == {"failed"}
    assert all("is not implemented yet" in t.message for t in result.tests)
    assert result.errors == []  # in particular, no grader error


def test_the_solution_notebook_scores_what_the_solution_module_scores(tmp_path, solution):
    from grader.authoring.handout import build

    written = build(manifests.load(HW), tmp_path)
    from_notebook = grade(written["solution_notebook"], HW)
    from_module = grade(solution, HW)
    assert [(t.name, t.score) for t in from_notebook.tests] == [(t.name, t.score) for t in from_module.tests]
    assert from_notebook.score == 20


def test_one_wrong_gradient_loses_exactly_that_functions_points(tmp_path, solution):
    wrong = variant(tmp_path, solution, '"W": np.outer(delta, x)}', '"W": np.outer(x, delta)}')
    result = grade(wrong, HW)
    by_function = scores_by_function(result)
    assert by_function["layer_gradients"] == 0
    assert result.score == 20 - 2
    assert all(t.status == "passed" for t in result.tests if t.functions[0] != "layer_gradients")


def test_a_failure_message_names_the_function_and_shows_the_shapes(tmp_path, solution):
    wrong = variant(tmp_path, solution, '"W": np.outer(delta, x)}', '"W": np.outer(x, delta)}')
    visible = [t for t in grade(wrong, HW).tests if t.visibility == "visible" and t.status == "failed"]
    assert len(visible) == 1
    assert re.search(
        r"layer_gradients\['W'\]: expected shape \(2, 3\), got shape \(3, 2\) \(transposed\?", visible[0].message
    )


def test_hidden_failures_do_not_reveal_expected_values(tmp_path, solution):
    wrong = variant(tmp_path, solution, "return 0.5 * ((o[0]", "return 0.25 * ((o[0]")
    hidden = [t for t in grade(wrong, HW).tests if t.visibility == "hidden" and t.status == "failed"]
    assert hidden and all("expected" not in t.message and "got" in t.message for t in hidden)


def test_the_worked_example_records_every_intermediate_beside_the_lecture(tmp_path, solution):
    wrong = variant(tmp_path, solution, "ds3 = (o1 - t[0]) * o1 * (1 - o1)", "ds3 = (o1 - t[0]) * o1")
    result = grade(wrong, HW)
    test = next(t for t in result.tests if t.name == "worked_example::backward_pass_reproduces_the_lecture")
    names = ["s3", "s4", "w5", "w6", "b3", "w7", "w8", "b4", "s1", "s2", "w1", "w2", "b1", "w3", "w4", "b2"]
    assert [row["name"] for row in test.details] == [f"∂L/∂{name}" for name in names]
    printed = [row for row in test.details if row["source"] == "lecture"]
    assert [row["name"] for row in printed] == ["∂L/∂s3", "∂L/∂s4", "∂L/∂w5", "∂L/∂w7", "∂L/∂w1"]
    assert [row["matches"] for row in printed] == [False, True, False, True, False]
    assert test.details[0]["lecture"] == "-0.1391"
    assert test.score == pytest.approx(2 * 2 / 5)  # partial credit for the two right printed rows


def test_the_worked_example_marks_the_first_intermediate_that_really_differs(tmp_path, solution):
    """With the w7 path missing from ∂L/∂s1, ∂L/∂s1 is the first to differ, though the lecture does not print it."""
    wrong = variant(tmp_path, solution, 'ds1 = (ds3 * w["w5"] + ds4 * w["w7"])', 'ds1 = (ds3 * w["w5"])')
    test = next(t for t in grade(wrong, HW).tests if t.name == "worked_example::backward_pass_reproduces_the_lecture")
    from grader.outputs.formatting import worked_example_rows

    first = next(row for row in worked_example_rows(test.details) if row["verdict"] == "first")
    assert first["name"] == "∂L/∂s1" and first["lecture"].endswith("(ref.)")
    assert "∂L/∂w1 does not match the lecture's worked example; the first value to differ is ∂L/∂s1" in test.message


def test_the_update_table_shows_every_new_weight_so_a_bias_left_alone_shows(tmp_path, solution):
    """The lecture prints three new weights; the other nine stand beside the reference's values."""
    update = "return {name: weights[name] - alpha * gradients[name] for name in WEIGHT_NAMES}"
    biases_kept = update.replace("for name in WEIGHT_NAMES}", "for name in WEIGHT_NAMES if name[0] == 'w'} | {")
    biases_kept += "name: weights[name] for name in WEIGHT_NAMES if name[0] == 'b'}"
    wrong = variant(tmp_path, solution, update, biases_kept)
    test = next(t for t in grade(wrong, HW).tests if t.name == "worked_example::update_reproduces_the_lecture")
    assert len(test.details) == 12
    differing = [row["name"] for row in test.details if not row["matches"]]
    assert differing == ["b1'", "b2'", "b3'", "b4'"]


def test_hard_coding_the_lecture_numbers_passes_the_worked_example_but_not_the_hidden_cases(tmp_path, solution):
    hard_coded = variant(
        tmp_path,
        solution,
        "    w = weights\n    i1, i2 = i\n    s1 =",
        '    return {"s1": 0.005, "h1": 0.5013, "s2": 0.09, "h2": 0.5225, "s3": -0.2670, '
        '"o1": 0.4336, "s4": -0.2794, "o2": 0.4306}\n    w = weights\n    i1, i2 = i\n    s1 =',
    )
    result = grade(hard_coded, HW)
    forward = [t for t in result.tests if t.functions[0] == "forward_pass"]
    assert [t.status for t in forward if t.visibility == "visible"] == ["passed"]
    assert {t.status for t in forward if t.visibility == "hidden"} == {"failed"}


def test_check_runs_the_visible_tests_only_and_says_so(solution):
    result = grade(solution, HW, visibilities=("visible",))
    assert result.label == "visible tests"
    assert {t.visibility for t in result.tests} == {"visible"}
    assert result.max_score < 20


@pytest.mark.parametrize(
    "old, new, what",
    [
        ("def forward_pass(", "def forward_pass(:", "SyntaxError"),
        ("import numpy as np\n", "import numpy as np\nimport os\nos._exit(0)\n", "stopped while loading"),
        ("import numpy as np\n", "import numpy as np\nwhile True:\n    pass\n", "did not finish loading"),
    ],
    ids=["syntax error", "os._exit at load", "infinite loop at load"],
)
def test_a_submission_that_cannot_load_gets_zero_and_says_why(tmp_path, solution, old, new, what):
    result = grade(variant(tmp_path, solution, old, new), HW, limits=QUICK)
    assert result.score == 0 and len(result.tests) == 42
    assert any(what in message for message in result.errors)
    assert {t.status for t in result.tests} == {"error"}


def test_sys_exit_at_the_end_of_the_module_is_reported_and_the_functions_still_count(tmp_path, solution):
    path = tmp_path / "exits.py"
    path.write_text(solution.read_text() + "\nimport sys\nsys.exit()\n")
    result = grade(path, HW, limits=QUICK)
    assert result.score == 20
    assert any("SystemExit" in message for message in result.errors)


@pytest.mark.parametrize(
    "body, status, words",
    [
        ("    while True:\n        pass\n", "timeout", "did not return within 2 s"),
        ("    import os\n    os._exit(0)\n", "error", "process stopped while running layer_delta"),
        ("    return np.ones(10 * 2**30 // 8)\n", "error", "MemoryError"),
        ("    import sys\n    sys.exit(1)\n", "error", "SystemExit"),
    ],
    ids=["infinite loop", "os._exit", "10 GB allocation", "sys.exit"],
)
def test_a_hostile_function_costs_only_its_own_points(tmp_path, solution, body, status, words):
    wrong = variant(tmp_path, solution, "    return u * sigmoid(z) * (1.0 - sigmoid(z))\n", body)
    result = grade(wrong, HW, limits=QUICK)
    assert result.score == 20 - 2
    layer_delta = [t for t in result.tests if t.functions[0] == "layer_delta"]
    assert {t.status for t in layer_delta} == {status}
    assert words in layer_delta[0].message


def test_a_hundred_megabytes_of_printing_is_cut_and_reported(tmp_path, solution):
    flood = variant(
        tmp_path,
        solution,
        "def forward_pass(",
        'for _ in range(1_000_000):\n    print("x" * 100)\n\n\ndef forward_pass(',
    )
    result = grade(flood, HW, limits=QUICK)
    assert result.score == 20
    assert any("printed more than" in message for message in result.errors)


def test_a_wrong_type_of_result_is_an_error_that_says_what_came_back(tmp_path, solution):
    wrong = variant(
        tmp_path,
        solution,
        '    return {"b": np.array(delta, dtype=np.float64), "W": np.outer(delta, x)}',
        "    np.outer(delta, x)",
    )
    tests = [t for t in grade(wrong, HW).tests if t.functions[0] == "layer_gradients"]
    assert {t.status for t in tests} == {"error"}
    assert "expected a dict with keys ['W', 'b'], got None (a missing return statement?)" in tests[0].message


def test_an_always_equal_object_earns_nothing(tmp_path, solution):
    cheat = variant(
        tmp_path,
        solution,
        "def squared_error_loss(",
        "class Sly(float):\n    def __eq__(self, other):\n        return True\n\n\ndef squared_error_loss(",
    )
    cheat = variant(tmp_path, cheat, "    return 0.5 * ((o[0]", "    return Sly(7.0) or 0.5 * ((o[0]", name="cheat.py")
    result = grade(cheat, HW)
    assert scores_by_function(result)["squared_error_loss"] == 0


@pytest.fixture(scope="module")
def samples_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    samples.write(manifests.load(HW), folder)
    return folder


def test_a_notebook_failure_names_the_cell_and_later_cells_still_count(samples_folder):
    result = grade(samples_folder / "notebook_with_errors.ipynb", HW)
    assert any(re.match(r"cell \d+: NameError: name 'undefined_helper'", message) for message in result.errors)
    assert any("%matplotlib inline" in message for message in result.errors)
    by_function = scores_by_function(result)
    assert by_function["forward_pass"] == 3  # defined before the crash in its cell
    assert by_function["squared_error_loss"] == 0  # the sample's deliberate mistake
    assert result.score == 19


def test_an_unreadable_submission_still_gets_a_complete_result(tmp_path):
    broken = tmp_path / "hw1_backprop.ipynb"
    broken.write_text("{ this is not json")
    result = grade(broken, HW)
    assert result.score == 0 and len(result.tests) == 42
    assert "not a Jupyter notebook" in result.errors[0]


def test_the_command_writes_complete_json_and_exits_0_whatever_the_score(tmp_path, blank):
    out = tmp_path / "result.json"
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(blank), "--assignment", HW, "--json", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert set(data) >= {"assignment", "submission", "score", "max_score", "tests", "errors"}
    assert set(data["tests"][0]) >= {"name", "score", "max_score", "status", "visibility", "functions", "message"}
    assert data["score"] == 0 and data["max_score"] == 20


def test_the_command_rejects_an_unknown_homework_in_one_line(tmp_path, blank):
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(blank), "--assignment", "hw9_nothing"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "no homework named 'hw9_nothing'" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("sample", samples.load(manifests.load(HW)), ids=lambda sample: sample.file)
def test_every_sample_scores_what_samples_toml_says(samples_folder, sample):
    assert grade(samples_folder / sample.file, HW, limits=QUICK).score == pytest.approx(sample.score)


def test_a_sample_edit_that_no_longer_fits_the_reference_is_an_error_naming_it():
    stale = samples.Sample(file="stale.py", about="", score=0, edits=(("this text is not in the solution", ""),))
    with pytest.raises(UserError, match="sample stale.py: the edit of 'this text is not in the solution' matches 0"):
        samples.derive(manifests.load(HW), stale)


def test_every_test_sees_the_submission_as_it_was_loaded_not_what_earlier_tests_left(tmp_path, solution):
    """A function that changes its answers after its first call is graded on its first call, in every test."""
    counting = variant(
        tmp_path,
        solution,
        "def sigmoid_derivative(z):\n",
        "_CALLS = []\n\n\ndef sigmoid_derivative(z):\n"
        "    _CALLS.append(1)\n    if len(_CALLS) > 1:\n        return z * 0.0\n",
    )
    result = grade(counting, HW)
    assert scores_by_function(result)["sigmoid_derivative"] == 1  # two tests, each on a fresh copy


def test_an_output_file_that_cannot_be_written_is_a_one_line_error(blank):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "grade",
            str(blank),
            "--assignment",
            HW,
            "--json",
            "/proc/no/such/folder/result.json",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "cannot write /proc/no/such/folder/result.json" in run.stderr and "Traceback" not in run.stderr


def notebook_of(*sources: str) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}
             for source in sources]  # fmt: skip
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def test_a_notebook_that_plots_grades_as_if_it_did_not(tmp_path, solution):
    """Students plot loss curves: matplotlib imports, draws to nothing, and the cell goes on."""
    plotting = "import matplotlib.pyplot as plt\nplt.plot([3, 2, 1])\nplt.show()\nPLOTTED_LOSSES = ['w1']\n"
    path = tmp_path / f"{HW}.ipynb"
    path.write_text(notebook_of(plotting, solution.read_text(), "assert PLOTTED_LOSSES == ['w1']\n"))
    result = grade(path, HW, limits=QUICK)
    assert result.score == 20 and not result.errors, result.errors


def test_an_import_grading_does_not_provide_names_the_package_and_the_cell(tmp_path, solution):
    path = tmp_path / f"{HW}.ipynb"
    path.write_text(notebook_of(solution.read_text(), "import torch\n"))
    result = grade(path, HW, limits=QUICK)
    assert result.score == 20
    assert result.errors == [
        "cell 2: ModuleNotFoundError: No module named 'torch' when grading: a submission may import the standard "
        "library and numpy, matplotlib (cell 2, line 1, in <module>)\n> 1 | import torch"
    ]


def test_a_file_that_does_not_load_is_one_problem_shown_with_its_lines_and_each_test_points_to_it(tmp_path, solution):
    broken = variant(tmp_path, solution, 's1 = w["w1"] * i1', 's1 = (w["w1"] * i1', name=f"{HW}.py")
    result = grade(broken, HW, limits=QUICK)
    assert result.score == 0 and len(result.errors) == 1
    problem = result.errors[0]
    assert problem.startswith(f"{HW}.py: SyntaxError") and "\n> " in problem and 's1 = (w["w1"] * i1' in problem
    messages = {t.message for t in result.tests if t.functions[0] == "forward_pass"}
    assert messages == {
        f"forward_pass could not be tested: {HW}.py did not load ({problem.splitlines()[0].split(': ', 1)[1]}); "
        "fix that first (it is the problem shown at the top)"
    }
    assert not any("was it renamed" in t.message for t in result.tests)


def test_a_function_defined_in_two_cells_is_graded_at_the_last_and_said_so(tmp_path, solution):
    path = tmp_path / f"{HW}.ipynb"
    path.write_text(notebook_of(solution.read_text(), "def sigmoid_derivative(z):\n    return 0.0\n"))
    result = grade(path, HW, limits=QUICK)
    assert (
        "sigmoid_derivative is defined in cell 1 and again in cell 2: the last definition (cell 2) is the one graded"
        in result.errors
    )
    assert result.function_scores()["sigmoid_derivative"][0] < 1
