"""Blanking the reference into handouts: the student module, the solution module, the notebooks."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.authoring import handout
from grader.authoring import module as handout_module
from grader.authoring import notebook as handout_notebook
from grader.errors import UserError
from grader.grading.submission import CHECK_CELL_MARKER, read_submission
from grader.homework import manifest
from grader.homework.manifest import Manifest, Task
from reference import backprop

HW = "hw1_backprop"
CS4248_WEIGHTS = {
    "w1": 0.15,
    "w2": 0.25,
    "w3": 0.20,
    "w4": 0.30,
    "w5": 0.10,
    "w6": 0.35,
    "w7": 0.05,
    "w8": -0.20,
    "b1": -0.15,
    "b2": -0.10,
    "b3": -0.50,
    "b4": -0.20,
}
CS4248_INPUT, CS4248_TARGET, CS4248_ALPHA = (0.20, 0.50), (1.00, 0.00), 0.50


@pytest.fixture(scope="module")
def hw1():
    return manifest.load(HW)


@pytest.fixture(scope="module")
def built(hw1, tmp_path_factory):
    return handout.build(hw1, tmp_path_factory.mktemp("dist"))


def import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def student(built):
    return import_file(built["student_module"], "student_hw1_handout")


@pytest.fixture(scope="module")
def solution(built):
    return import_file(built["solution_module"], "solution_hw1_handout")


def body_code_lines(function) -> list[str]:
    """The stripped code lines of a function's body after its docstring."""
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    lines = source.splitlines()
    start = node.body[1].lineno if ast.get_docstring(node) else node.body[0].lineno
    return [
        line.strip() for line in lines[start - 1 : node.end_lineno] if line.strip() and not line.strip().startswith("#")
    ]


def write_fake_source(tmp_path: Path, source: str) -> tuple[Manifest, Path]:
    path = tmp_path / "fake.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    fake = Manifest(
        id="hw0_fake",
        title="Homework 0: a fake",
        folder=tmp_path,
        sources=("fake",),
        tasks=(Task("0.1", "double", 1.0, "Double it"),),
    )
    return fake, path


# ----- the module ----------------------------------------------------------------------


def test_build_writes_student_and_solution_module_and_notebook(built, tmp_path_factory):
    assert {key: (path.parent.name, path.name) for key, path in built.items()} == {
        "student_module": ("student", f"{HW}.py"),
        "student_notebook": ("student", f"{HW}.ipynb"),
        "solution_module": ("solution", f"{HW}.py"),
        "solution_notebook": ("solution", f"{HW}.ipynb"),
    }
    assert all(path.parent.parent.name == HW for path in built.values())


def test_student_folder_holds_only_the_handout(built):
    folder = built["student_module"].parent
    assert sorted(p.name for p in folder.iterdir()) == [f"{HW}.ipynb", f"{HW}.py"]


def test_every_blanked_function_raises_not_implemented_naming_task_and_function(hw1, student):
    example = {
        "forward_pass": (CS4248_WEIGHTS, CS4248_INPUT),
        "squared_error_loss": ((0.4, 0.4), CS4248_TARGET),
        "backward_pass": (CS4248_WEIGHTS, CS4248_INPUT, CS4248_TARGET, {}),
        "gradient_descent_update": (CS4248_WEIGHTS, CS4248_WEIGHTS, CS4248_ALPHA),
        "sigmoid_derivative": (0.0,),
        "layer_delta": (np.ones(2), np.zeros(2)),
        "layer_gradients": (np.ones(2), np.ones(3)),
        "perceptron_forward": (np.ones((2, 3)), np.ones(3), np.ones(2)),
        "perceptron_backward": (np.ones((2, 3)), np.ones(3), np.ones(2), 1.0, {}),
    }
    assert set(example) == set(hw1.functions)
    for task in hw1.tasks:
        with pytest.raises(NotImplementedError) as raised:
            getattr(student, task.function)(*example[task.function])
        assert str(raised.value) == f"task {task.id}: implement {task.function}"


def test_blanked_functions_keep_signature_type_hints_and_docstring(hw1, student):
    for name in hw1.functions:
        ours, theirs = getattr(student, name), getattr(backprop, name)
        assert str(inspect.signature(ours)) == str(inspect.signature(theirs)), name
        assert ours.__doc__ == theirs.__doc__, name


def test_blanked_body_is_the_todo_comment_and_the_raise(built):
    text = built["student_module"].read_text(encoding="utf-8")
    assert (
        "    # TODO(task 1.3): implement backward_pass\n"
        '    raise NotImplementedError("task 1.3: implement backward_pass")\n' in text
    )


def test_helpers_constants_and_imports_outside_the_tasks_are_kept_and_work(student):
    assert student.WEIGHT_NAMES == backprop.WEIGHT_NAMES
    assert student.sigmoid(0.0) == 0.5
    W, b, u, x = (
        np.array([[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]]),
        np.array([0.1, -0.2]),
        np.array([1.0, 2.0]),
        np.array([0.5, 1.0, -1.0]),
    )
    got, want = student.layer_forward(W, b, u, x), backprop.layer_forward(W, b, u, x)
    assert set(got) == set(want) and all(np.allclose(got[k], want[k], rtol=1e-12) for k in want)


def test_student_handout_holds_none_of_the_solution_bodies(hw1, built):
    text = built["student_module"].read_text(encoding="utf-8")
    handout_lines = {line.strip() for line in text.splitlines()}
    for name in hw1.functions:
        leaked = [line for line in body_code_lines(getattr(backprop, name)) if line in handout_lines]
        assert not leaked, f"{name}: {leaked}"


def test_handout_is_self_contained_with_future_import_first(built):
    for key in ("student_module", "solution_module"):
        tree = ast.parse(built[key].read_text(encoding="utf-8"))
        assert ast.get_docstring(tree).startswith("Homework 1: backpropagation by hand")
        first = tree.body[1]
        assert isinstance(first, ast.ImportFrom) and first.module == "__future__"
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert sum(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in imports) == 1
        assert not any(isinstance(n, ast.ImportFrom) and n.level for n in imports)


def test_header_lists_every_task_with_id_function_and_points(hw1, built):
    docstring = ast.get_docstring(ast.parse(built["student_module"].read_text(encoding="utf-8")))
    for task in hw1.tasks:
        assert any(
            line.split()[:2] == [task.id, task.function] and f"{task.points:g} point" in line
            for line in docstring.splitlines()
        ), task
    assert backprop.__doc__.strip().splitlines()[0] in docstring


def cs4248_step(module) -> tuple:
    forward = module.forward_pass(CS4248_WEIGHTS, CS4248_INPUT)
    loss = module.squared_error_loss((forward["o1"], forward["o2"]), CS4248_TARGET)
    gradients = module.backward_pass(CS4248_WEIGHTS, CS4248_INPUT, CS4248_TARGET, forward)
    return forward, loss, gradients, module.gradient_descent_update(CS4248_WEIGHTS, gradients, CS4248_ALPHA)


def test_solution_handout_reproduces_the_reference_on_the_cs4248_example(solution):
    ours = cs4248_step(solution)
    assert ours == cs4248_step(backprop)
    assert ours[1] == pytest.approx(0.2531, abs=5e-5) and ours[3]["w5"] == pytest.approx(0.1349, abs=5e-5)


def test_solution_handout_differs_from_the_student_one_only_in_task_bodies(hw1, built):
    student_tree = ast.parse(built["student_module"].read_text(encoding="utf-8"))
    solution_tree = ast.parse(built["solution_module"].read_text(encoding="utf-8"))
    tasks = set(hw1.functions)

    def others(tree):
        return [ast.dump(n) for n in tree.body if getattr(n, "name", None) not in tasks]

    assert others(student_tree) == others(solution_tree)


def test_building_twice_gives_the_same_bytes(hw1, built, tmp_path):
    again = handout.build(hw1, tmp_path)
    for key, path in built.items():
        assert again[key].read_bytes() == path.read_bytes(), key


def test_a_task_naming_a_missing_function_is_a_user_error_naming_it(hw1):
    broken = replace(hw1, tasks=hw1.tasks + (Task("1.10", "backward_passs", 1.0),))
    with pytest.raises(UserError, match=r"manifest.toml: .*'backward_passs' \(task 1.10\)"):
        handout_module.build_module(broken, solution=False)


# ----- partial blanking and imports between reference modules -------------------------


PARTIAL_SOURCE = '''\
    """A fake reference module."""

    from __future__ import annotations


    def double(x: float) -> float:
        """Twice x."""
        checked = float(x)  # kept: only the marked lines are the exercise
        # BEGIN SOLUTION
        result = checked + checked
        # END SOLUTION
        return result


    def helper():
        return 1
'''


def test_partial_blanking_replaces_only_the_lines_between_the_markers(tmp_path):
    fake, path = write_fake_source(tmp_path, PARTIAL_SOURCE)
    text = handout_module.build_module(fake, solution=False, source_paths=[path])
    assert (
        "checked = float(x)  # kept: only the marked lines are the exercise\n"
        "    # TODO(task 0.1): implement double\n"
        '    raise NotImplementedError("task 0.1: implement double")\n'
        "    return result\n" in text
    )
    assert "checked + checked" not in text and "SOLUTION" not in text
    namespace: dict = {}
    exec(compile(text, "hw0_fake.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="task 0.1"):
        namespace["double"](2.0)
    assert namespace["helper"]() == 1


def test_solution_handout_keeps_the_marked_code_without_the_markers(tmp_path):
    fake, path = write_fake_source(tmp_path, PARTIAL_SOURCE)
    text = handout_module.build_module(fake, solution=True, source_paths=[path])
    assert "SOLUTION" not in text and "result = checked + checked" in text
    namespace: dict = {}
    exec(compile(text, "hw0_fake.py", "exec"), namespace)
    assert namespace["double"](2.0) == 4.0


def test_unbalanced_solution_markers_are_a_user_error(tmp_path):
    fake, path = write_fake_source(tmp_path, PARTIAL_SOURCE.replace("        # END SOLUTION\n", ""))
    with pytest.raises(UserError, match="unbalanced # BEGIN SOLUTION"):
        handout_module.build_module(fake, solution=False, source_paths=[path])


def test_a_marked_function_that_is_not_a_task_here_is_given_whole(tmp_path):
    """The engine marks each op's local gradient for hw2; hw3 builds on the engine and asks for none of them."""
    source = PARTIAL_SOURCE.replace(
        "        return 1\n", "        # BEGIN SOLUTION\n        return 1\n        # END SOLUTION\n"
    )
    fake, path = write_fake_source(tmp_path, source)
    for solution in (True, False):
        text = handout_module.build_module(fake, solution=solution, source_paths=[path])
        assert (
            "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text and "def helper():\n    return 1\n" in text
        )


def test_imports_between_reference_modules_are_dropped_when_concatenated(tmp_path):
    (tmp_path / "base.py").write_text('"""Base."""\n\nimport numpy as np\n\n\ndef one():\n    return np.float64(1)\n')
    (tmp_path / "fake.py").write_text(
        '"""Uses base."""\n\nimport numpy as np\nfrom .base import one\n\n\ndef double(x):\n'
        '    """Twice x."""\n    return 2 * x * one()\n'
    )
    fake = Manifest(
        id="hw0_fake",
        title="Homework 0",
        folder=tmp_path,
        sources=("base", "fake"),
        tasks=(Task("0.1", "double", 1.0),),
    )
    text = handout_module.build_module(fake, solution=True, source_paths=[tmp_path / "base.py", tmp_path / "fake.py"])
    assert "from .base" not in text and text.count("import numpy as np") == 1
    assert "Base." in text and "Uses base." in text
    namespace: dict = {}
    exec(compile(text, "hw0_fake.py", "exec"), namespace)
    assert namespace["double"](3.0) == 6.0


def test_a_module_alias_import_between_reference_modules_is_a_user_error(tmp_path):
    fake, path = write_fake_source(
        tmp_path, PARTIAL_SOURCE.replace("from __future__ import annotations", "from . import functional as F")
    )
    with pytest.raises(UserError, match="from . import functional"):
        handout_module.build_module(fake, solution=False, source_paths=[path])


# ----- the notebook --------------------------------------------------------------------


@pytest.fixture(scope="module")
def student_notebook(built):
    return nbformat.read(built["student_notebook"], as_version=4)


@pytest.fixture(scope="module")
def solution_notebook(built):
    return nbformat.read(built["solution_notebook"], as_version=4)


def function_sources(module_text: str) -> dict[str, str]:
    tree = ast.parse(module_text)
    return {
        node.name: ast.get_source_segment(module_text, node) for node in tree.body if isinstance(node, ast.FunctionDef)
    }


def test_notebook_is_valid_nbformat_4(student_notebook, solution_notebook):
    for notebook in (student_notebook, solution_notebook):
        nbformat.validate(notebook)
        assert notebook.nbformat == 4


def test_each_task_function_has_a_code_cell_holding_exactly_its_handout_source(hw1, built, student_notebook):
    sources = function_sources(built["student_module"].read_text(encoding="utf-8"))
    code = [cell.source for cell in student_notebook.cells if cell.cell_type == "code"]
    for name in hw1.functions:
        assert code.count(sources[name]) == 1, name


def test_narrative_block_precedes_its_function_cell(hw1, student_notebook):
    cells = student_notebook.cells
    for task in hw1.tasks:
        index = next(
            i
            for i, cell in enumerate(cells)
            if cell.cell_type == "code" and cell.source.startswith(f"def {task.function}(")
        )
        before = cells[index - 1]
        assert before.cell_type == "markdown" and f"Task {task.id}" in before.source, task


def test_notebook_opens_with_the_title_and_the_introduction_split_at_headings(student_notebook):
    markdown = [cell.source for cell in student_notebook.cells if cell.cell_type == "markdown"]
    assert markdown[0].startswith("# Homework 1: backpropagation by hand")
    assert "| 1.3 | `backward_pass` | 5 points |" in markdown[0]
    assert markdown[1].startswith("In this homework") and markdown[2].startswith("## How to work")
    assert any(r"\mathbf{u}^\top \circ f'(\mathbf{z})" in text for text in markdown)


def test_last_cell_runs_the_checker_script_without_magics(student_notebook):
    last = student_notebook.cells[-1]
    assert last.cell_type == "code" and last.source.startswith(CHECK_CELL_MARKER)
    assert '[sys.executable, "check_hw1_backprop.py", "hw1_backprop.ipynb"]' in last.source  # the saved notebook
    assert not any(line.lstrip().startswith(("%", "!")) for line in last.source.splitlines())
    compile(last.source, "check cell", "exec")


def run_code_cells(notebook, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)  # no checker here: the last cell only prints where to put it
    namespace: dict = {"__name__": "notebook"}
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type == "code":
            exec(compile(cell.source, f"cell {number}", "exec"), namespace)
    return namespace


def test_notebook_code_cells_reproduce_the_module(built, student_notebook, solution_notebook):
    for key, notebook in (("student_module", student_notebook), ("solution_module", solution_notebook)):
        module_tree = ast.parse(built[key].read_text(encoding="utf-8"))
        module_tree.body = module_tree.body[1:]  # the docstring: the title cell says it
        cells = "\n".join(cell.source for cell in notebook.cells[:-1] if cell.cell_type == "code")
        assert ast.dump(ast.parse(cells)) == ast.dump(module_tree), key


def test_running_the_solution_notebook_cells_gives_the_reference_results(
    solution_notebook, tmp_path, monkeypatch, capsys
):
    namespace = run_code_cells(solution_notebook, tmp_path, monkeypatch)
    forward = namespace["forward_pass"](CS4248_WEIGHTS, CS4248_INPUT)
    assert forward == backprop.forward_pass(CS4248_WEIGHTS, CS4248_INPUT)
    assert "check_hw1_backprop.py is not in this notebook's folder" in capsys.readouterr().out


def test_the_student_notebook_read_as_a_submission_grades_like_the_module(built, student_notebook):
    submission = read_submission(built["student_notebook"])
    assert submission.kind == "notebook" and not submission.warnings
    assert all(CHECK_CELL_MARKER not in chunk.source for chunk in submission.chunks)
    namespace: dict = {}
    for chunk in submission.chunks:
        exec(compile(chunk.source, chunk.label, "exec"), namespace)
    with pytest.raises(NotImplementedError, match="task 1.1"):
        namespace["forward_pass"](CS4248_WEIGHTS, CS4248_INPUT)


def test_a_narrative_block_for_an_unknown_function_is_a_user_error(tmp_path):
    fake, path = write_fake_source(tmp_path, PARTIAL_SOURCE)
    (tmp_path / "narrative.md").write_text("Intro.\n\n<!-- function: tripel -->\nTriple it.\n")
    with pytest.raises(UserError, match="tripel"):
        handout_notebook.build_notebook(replace(fake, narrative="narrative.md"), solution=False, source_paths=[path])


def test_imports_of_grader_handout_do_not_load_nbformat_or_jinja2():
    import subprocess

    code = (
        "import sys, grader.authoring.handout, grader.authoring.module, grader.grading.submission; "
        "print(any(m in sys.modules for m in ('nbformat', 'jinja2')))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
