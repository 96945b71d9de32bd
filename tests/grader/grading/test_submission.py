"""Reading what a student submits: a .py, a .ipynb or a folder, as named chunks of module source."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.errors import UserError
from grader.grading.submission import CHECK_CELL_MARKER, Chunk, read_submission

HW = "hw1_backprop"


def write_notebook(path: Path, cells: list[tuple[str, str | list[str]]]) -> Path:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": kind,
                "metadata": {},
                "source": source,
                **({"outputs": [], "execution_count": None} if kind == "code" else {}),
            }
            for kind, source in cells
        ],
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def test_a_module_is_one_chunk_labelled_with_its_file_name(tmp_path):
    path = tmp_path / f"{HW}.py"
    path.write_text("def f():\n    return 1\n")
    submission = read_submission(path)
    assert submission.kind == "module" and submission.path == path
    assert submission.chunks == [Chunk(f"{HW}.py", "def f():\n    return 1\n")]
    assert submission.warnings == []


def test_sha256_is_the_hash_of_the_file_bytes(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\n")
    assert read_submission(path).sha256 == hashlib.sha256(b"x = 1\n").hexdigest()


def test_notebook_code_cells_are_chunks_labelled_by_their_position_among_all_cells(tmp_path):
    path = write_notebook(
        tmp_path / f"{HW}.ipynb",
        [
            ("markdown", "# Title"),
            ("code", ["import numpy as np\n", "x = 1"]),
            ("markdown", "text"),
            ("code", "def f():\n    return x"),
            ("code", "   \n"),
            ("raw", "raw"),
            ("code", "y = f()"),
        ],
    )
    submission = read_submission(path)
    assert submission.kind == "notebook"
    assert submission.chunks == [
        Chunk("cell 2", "import numpy as np\nx = 1"),
        Chunk("cell 4", "def f():\n    return x"),
        Chunk("cell 7", "y = f()"),
    ]


def test_the_visible_checks_cell_is_not_part_of_the_submission(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [("code", "x = 1"), ("code", f"{CHECK_CELL_MARKER}\nimport runpy\n")])
    assert [chunk.label for chunk in read_submission(path).chunks] == ["cell 1"]


def test_joined_source_maps_lines_back_to_cells(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [("markdown", "m"), ("code", "a = 1\nb = 2"), ("code", "c = 3\n")])
    submission = read_submission(path)
    assert submission.source == "a = 1\nb = 2\nc = 3\n"
    assert submission.locate(2) == ("cell 2", 2) and submission.locate(3) == ("cell 3", 1)


def test_line_magics_and_shell_lines_are_neutralised_keeping_line_numbers(tmp_path):
    source = (
        "%matplotlib inline\n!pip install numpy\nimport numpy as np\nfor i in range(2):\n    %time f(i)\n"
        "files = !ls\nnp.mean?\nx = 1"
    )
    path = write_notebook(tmp_path / "n.ipynb", [("code", source)])
    submission = read_submission(path)
    [chunk] = submission.chunks
    assert chunk.source.split("\n") == [
        "pass  # neutralised: %matplotlib inline",
        "pass  # neutralised: !pip install numpy",
        "import numpy as np",
        "for i in range(2):",
        "    pass  # neutralised: %time f(i)",
        "pass  # neutralised: files = !ls",
        "pass  # neutralised: np.mean?",
        "x = 1",
    ]
    compile(chunk.source, chunk.label, "exec")
    assert len(submission.warnings) == 5
    assert submission.warnings[0].startswith("cell 1, line 1: `%matplotlib inline` is IPython syntax")


def test_get_ipython_calls_are_neutralised_across_continuation_lines(tmp_path):
    source = "get_ipython().run_cell_magic('bash', '',\n    'echo hi')\ny = 2\n"
    path = tmp_path / "exported.py"
    path.write_text(source)
    submission = read_submission(path)
    assert submission.chunks[0].source == (
        "pass  # neutralised: get_ipython().run_cell_magic('bash', '',\npass  # neutralised: 'echo hi')\ny = 2\n"
    )
    assert submission.warnings == [
        "exported.py, line 1: `get_ipython().run_cell_magic('bash', '',` is IPython syntax; it was not run when grading"
    ]


def test_percent_and_question_marks_inside_python_are_left_alone(tmp_path):
    source = (
        'x = (10\n     % 3)\ns = """\n%not a magic\n!nor a shell line\n"""\nt = "why?"  # really?\nu = 5 % \\\n    2\n'
    )
    path = tmp_path / "a.py"
    path.write_text(source)
    submission = read_submission(path)
    assert submission.chunks[0].source == source and submission.warnings == []


IPYTHON_LINES = [
    "%matplotlib inline",
    "!ls",
    "    %time f(1)",
    "files = !ls",
    "a, b = %who_ls",
    "np.mean?",
    "x = 1 ?  # help",
    "get_ipython().system('ls')",
    "y = \\\n  get_ipython()",
    "\t!pwd",
]


@pytest.mark.parametrize("extra", [None, *IPYTHON_LINES])
def test_the_quick_look_for_ipython_changes_nothing_that_the_full_reading_finds(monkeypatch, extra):
    """A file the quick look passes over is one the full reading would leave as it is, warning of nothing."""
    from grader.grading import submission as module
    from grader.paths import PROJECT_ROOT

    sources = [
        path.read_text(encoding="utf-8")
        for folder in ("reference", "grader", "assignments", "tests")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
    ]
    if extra is not None:
        sources = [f"{source}\n{extra}\n" for source in sources[:40]]
    quick = module._may_hold_ipython
    for source in sources:
        full_warnings: list[str] = []
        monkeypatch.setattr(module, "_may_hold_ipython", lambda text: True)
        full = module.neutralise_ipython(source, "f.py", full_warnings)
        monkeypatch.setattr(module, "_may_hold_ipython", quick)
        warnings: list[str] = []
        assert (module.neutralise_ipython(source, "f.py", warnings), warnings) == (full, full_warnings)
        if extra is not None:
            assert full_warnings, extra  # each line is IPython: the quick look must send it to the full reading
    assert extra is not None or not all(quick(source) for source in sources)  # and it does pass over most files


def test_a_cell_magic_cell_is_dropped_with_a_warning_naming_the_cell(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [("code", "x = 1"), ("markdown", "m"), ("code", "%%bash\necho hi\n")])
    submission = read_submission(path)
    assert [chunk.label for chunk in submission.chunks] == ["cell 1"]
    assert submission.warnings == [
        "cell 3: starts with the cell magic `%%bash`, which needs Jupyter; the whole cell was not run when grading"
    ]


def test_a_time_cell_magic_keeps_the_code_below_it(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [("code", "%%time\nx = 1")])
    submission = read_submission(path)
    assert submission.chunks == [Chunk("cell 1", "pass  # neutralised: %%time\nx = 1")]
    assert submission.warnings[0].startswith("cell 1, line 1: the cell magic `%%time`")


def test_a_folder_holding_one_submission_reads_it_ignoring_checker_and_clutter(tmp_path):
    write_notebook(tmp_path / f"{HW}.ipynb", [("code", "x = 1")])
    (tmp_path / f"check_{HW}.py").write_text("print('checker')\n")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / f"{HW}-checkpoint.ipynb", [("code", "old = 1")])
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("")
    (tmp_path / ".hidden.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    submission = read_submission(tmp_path)
    assert submission.path == tmp_path / f"{HW}.ipynb" and submission.chunks == [Chunk("cell 1", "x = 1")]


def test_a_folder_with_no_submission_says_what_it_found_and_what_to_submit(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF")
    with pytest.raises(
        UserError,
        match=rf"holds no \.py or \.ipynb file to grade \(found: report\.pdf\); submit {HW}\.py or {HW}\.ipynb",
    ):
        read_submission(tmp_path, assignment=HW)


def test_a_folder_with_two_candidates_prefers_the_one_named_after_the_assignment(tmp_path):
    (tmp_path / f"{HW}.py").write_text("x = 1\n")
    (tmp_path / "scratch.py").write_text("y = 2\n")
    assert read_submission(tmp_path, assignment=HW).path == tmp_path / f"{HW}.py"


def test_a_folder_with_two_candidates_and_no_tie_break_lists_them(tmp_path):
    (tmp_path / f"{HW}.py").write_text("x = 1\n")
    write_notebook(tmp_path / f"{HW}.ipynb", [("code", "x = 1")])
    with pytest.raises(UserError, match=rf"several files .*\({HW}\.ipynb, {HW}\.py\); keep only one"):
        read_submission(tmp_path, assignment=HW)


def test_a_file_that_is_not_json_is_not_a_notebook(tmp_path):
    path = tmp_path / f"{HW}.ipynb"
    path.write_text('{\n "cells": [\n  oops\n')
    with pytest.raises(
        UserError,
        match=rf"{HW}\.ipynb is not a Jupyter notebook \(not valid JSON at line 3\); re-download it or submit the \.py",
    ):
        read_submission(path)


def test_json_without_cells_is_not_a_notebook(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text("[1, 2]")
    with pytest.raises(UserError, match="not a Jupyter notebook"):
        read_submission(path)


def test_an_empty_notebook_file_says_so(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_bytes(b"")
    with pytest.raises(UserError, match="the file is empty"):
        read_submission(path)


def test_a_missing_path_or_another_kind_of_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_submission(tmp_path / "nope.py")
    (tmp_path / "answers.txt").write_text("")
    with pytest.raises(UserError, match="neither a .py module nor a .ipynb notebook"):
        read_submission(tmp_path / "answers.txt")


def test_a_module_that_is_not_utf8_is_read_with_a_warning(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"# caf\xe9\nx = 1\r\n")
    submission = read_submission(path)
    assert submission.chunks[0].source == "# caf\ufffd\nx = 1\n"
    assert "not UTF-8 text (first bad byte on line 1)" in submission.warnings[0]


def test_importing_the_module_does_not_import_nbformat():
    code = "import sys, grader.grading.submission; print('nbformat' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
