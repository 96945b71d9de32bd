"""Plain asserts in a homework's tests: a failure shows the values compared, in the student's terms."""

import shutil
import textwrap
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.grading.grade import grade
from grader.grading.introspection import student_message
from grader.homework import manifest as manifests

HW1 = Path(__file__).resolve().parents[3] / "assignments" / "hw1_backprop"

# Worth 0 points, so the manifest's points still add up; charged to sigmoid_derivative.
PLAIN_ASSERTS = textwrap.dedent(
    """
    import numpy as np
    import pytest

    from reference import backprop

    GRADE = pytest.mark.grade(points=0, functions=["sigmoid_derivative"])


    @GRADE
    def test_equal(student):
        assert student.sigmoid_derivative(0.0) == 0.25


    @GRADE
    def test_allclose(student):
        z = np.linspace(-3, 3, 20)
        assert np.allclose(student.sigmoid_derivative(z), backprop.sigmoid_derivative(z))


    @GRADE
    def test_isclose(student):
        assert np.isclose(student.sigmoid_derivative(0.0), 0.25)


    @GRADE
    def test_own_message(student):
        got = student.sigmoid_derivative(0.0)
        assert got == 0.25, f"at 0 the derivative is a quarter, not {got}"


    @GRADE
    def test_numpy_testing(student):
        z = np.array([-1.0, 0.0, 1.0])
        np.testing.assert_allclose(student.sigmoid_derivative(z), backprop.sigmoid_derivative(z))
    """
)


@pytest.fixture(scope="module")
def messages(tmp_path_factory) -> dict[str, dict[str, str]]:
    """{visibility: {test: message}} for a sigmoid_derivative that returns σ(z), not σ(z)(1 − σ(z))."""
    folder = tmp_path_factory.mktemp("plain") / "hw1_backprop"
    shutil.copytree(HW1, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for visibility in ("visible", "hidden"):
        (folder / "tests" / visibility / f"test_plain_{visibility}.py").write_text(PLAIN_ASSERTS, encoding="utf-8")
    solution = build_module(manifests.load(str(folder)), solution=True)
    wrong = solution.replace("    s = sigmoid(z)\n    return s * (1.0 - s)", "    return sigmoid(z)")
    assert wrong != solution
    path = folder.parent / "hw1_backprop.py"
    path.write_text(wrong, encoding="utf-8")
    result = grade(path, str(folder))
    found: dict[str, dict[str, str]] = {"visible": {}, "hidden": {}}
    for test in result.tests:
        module, _, name = test.name.partition("::")
        if module.startswith("plain_"):
            found[test.visibility][name] = test.message
    return found


def test_an_equality_shows_both_values_and_the_call_that_gave_the_students(messages):
    assert messages["visible"]["equal"] == (
        "sigmoid_derivative: assert 0.5 == 0.25\n  where 0.5 = student.sigmoid_derivative(0.0)"
    )


def test_allclose_shows_both_arrays_shortened_and_no_internals(messages):
    message = messages["visible"]["allclose"]
    lines = message.splitlines()
    assert lines[0] == "sigmoid_derivative: assert False"
    assert lines[1].startswith(
        "  where False = np.allclose(array([0.04742587, 0.06391151, ..., 0.93608849, 0.95257413]), array(["
    )
    assert (
        lines[2].startswith("    where array([0.04742587, 0.06391151, ...")
        and "= student.sigmoid_derivative(" in lines[2]
    )
    assert lines[3].startswith("    and array([0.04517666,") and "= backprop.sigmoid_derivative(array([-3." in lines[3]
    for internal in ("0x", "np.float64", "<function", "Student", "-v"):
        assert internal not in message


def test_isclose_shows_false_not_a_numpy_bool_and_names_the_call(messages):
    assert messages["visible"]["isclose"] == (
        "sigmoid_derivative: assert False\n"
        "  where False = np.isclose(0.5, 0.25)\n"
        "    where 0.5 = student.sigmoid_derivative(0.0)"
    )


def test_an_asserts_own_message_is_shown_alone(messages):
    assert messages["visible"]["own_message"] == ("sigmoid_derivative: at 0 the derivative is a quarter, not 0.5")


def test_numpy_testing_shows_got_and_expected(messages):
    message = messages["visible"]["numpy_testing"]
    assert "Not equal to tolerance" in message
    lines = message.splitlines()
    assert lines[2:4] == [
        "  got: array([0.268941, 0.5     , 0.731059])",
        "  expected: array([0.196612, 0.25    , 0.196612])",
    ]
    assert " [1]: 0.5 (got), 0.25 (expected)" in lines


def test_hidden_plain_asserts_show_no_value(messages):
    assert set(messages["hidden"]) == set(messages["visible"])
    for message in messages["hidden"].values():
        assert message == "sigmoid_derivative: wrong result (a hidden test: its details are not shown)"


def test_a_long_explanation_is_cut_to_a_few_lines():
    error = AssertionError("assert [1] == [2]\n" + "\n".join(f"  line {n}" for n in range(50)))
    lines = student_message(error).splitlines()
    assert len(lines) == 8 and lines[-1] == "  ... (44 more lines)"


def test_an_empty_assertion_is_a_wrong_result():
    assert student_message(AssertionError()) == "wrong result"
