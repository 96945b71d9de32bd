"""Gradescope: results.json to the published schema, `grader gradescope run` on every path, the autograder zip."""

import json
import os
import re
import stat
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from gradescope_schema import check_schema
from gradescope_schema import read_results as read_results_file

from grader import gradescope
from grader.authoring.module import build_module
from grader.gradescope import container
from grader.homework import manifest as manifests
from grader.outputs import results
from grader.outputs.results import GradingResult
from grader.paths import PROJECT_ROOT

HW = "hw1_backprop"
MANIFEST = manifests.load(HW)
QUICK = replace(MANIFEST.limits, call_seconds=2, load_seconds=5)


@pytest.fixture(scope="module")
def solution_source() -> str:
    return build_module(MANIFEST, solution=True)


@pytest.fixture(scope="module")
def blank_source() -> str:
    return build_module(MANIFEST, solution=False)


def make_root(tmp_path: Path, files: dict[str, str] | None = None, assignment: str = HW) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "source" / "grader_config.json").write_text(json.dumps({"assignment": assignment}))
    for name, text in (files or {}).items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    return root


def read_results(root: Path) -> dict:
    return read_results_file(root / "results" / "results.json")


# ----- results_json ---------------------------------------------------------------------------------------
def synthetic_result() -> GradingResult:
    details = [
        {"name": "s1", "student": 0.005, "lecture": "0.005", "matches": True},
        {"name": "h1", "student": 0.6, "lecture": "0.5013", "matches": False},
        {"name": "o1", "student": None, "lecture": "0.4336", "matches": False},
    ]
    tests = [
        results.TestResult(
            "worked_example::forward", 0.0, 1.0, "failed", "visible", ["forward_pass"], "h1 differs", details
        ),
        results.TestResult("random::forward[0]", 0.5, 0.5, "passed", "hidden", ["forward_pass"]),
        results.TestResult(
            "random::forward[1]",
            0.0,
            0.5,
            "error",
            "hidden",
            ["forward_pass"],
            "forward_pass raised ValueError",
            [{"name": "secret", "student": 1.0, "lecture": "42.0", "matches": False}],
        ),
        results.TestResult(
            "random::backward[0]", 0.0, 1.0, "timeout", "hidden", ["backward_pass", "forward_pass"], "too slow"
        ),
        results.TestResult(
            "visible::loss", float("nan"), 1.0, "failed", "visible", ["squared_error_loss"], "NaN here: nan"
        ),
        results.TestResult("visible::sigma", 1.0, 1.0, "passed", "visible", ["sigmoid_derivative"]),
    ]
    return GradingResult(
        HW,
        "/autograder/submission/hw1_backprop.py",
        1.5,
        5.0,
        tests,
        errors=["cell 3: NameError: x"],
        functions=list(MANIFEST.functions),
        protections={"user": "nobody"},
        protections_off=["network: still reachable"],
        execution_time=float("nan"),
    )


def test_results_json_follows_gradescopes_schema():
    data = gradescope.results_json(synthetic_result())
    check_schema(data)
    statuses = {t["name"]: t["status"] for t in data["tests"]}
    assert statuses["worked_example::forward"] == "failed" and statuses["visible::sigma"] == "passed"
    assert {t["status"] for t in data["tests"]} == {"passed", "failed"}
    assert data["score"] == 1.5  # the NaN score counted as 0, never written as NaN
    assert data["execution_time"] == 0.0


def test_results_json_numbers_follow_the_manifests_task_ids_and_order():
    data = gradescope.results_json(synthetic_result())
    numbers = [(t["number"], t["tags"][0]) for t in data["tests"]]
    assert numbers == [
        ("1.1.1", "forward_pass"),
        ("1.1.2", "forward_pass"),
        ("1.1.3", "forward_pass"),
        ("1.2.1", "squared_error_loss"),
        ("1.3.1", "backward_pass"),
        ("1.5.1", "sigmoid_derivative"),
    ]
    assert next(t for t in data["tests"] if t["number"] == "1.3.1")["tags"] == ["backward_pass", "forward_pass"]


def test_hidden_tests_are_shown_after_publication_without_expected_values():
    data = gradescope.results_json(synthetic_result())
    hidden = [t for t in data["tests"] if "random::" in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert all(t["visibility"] == "visible" for t in data["tests"] if t not in hidden)
    assert not any("42.0" in t["output"] or "secret" in t["output"] for t in hidden)  # no details table
    error = next(t for t in hidden if t["name"].startswith("random::forward[1]"))
    assert error["output"].startswith("ERROR: forward_pass raised ValueError")
    assert next(t for t in hidden if "backward" in t["name"])["output"].startswith("TIMEOUT: too slow")
    # The total would give the hidden tests' points away before publication: the summary gives the visible ones.
    assert "visible tests: 1 / 3 points" in data["output"] and "1.5" not in data["output"]
    assert "cell 3: NameError: x" in data["output"]
    assert data["extra_data"]["score"] == 1.5 and data["extra_data"]["max_score"] == 5.0
    assert data["extra_data"]["protections_off"] == ["network: still reachable"]
    assert data["extra_data"]["function_scores"]["forward_pass"] == {"score": 0.5, "max_score": 2.0}


def test_a_leaderboard_is_written_only_when_a_test_recorded_one_in_gradescopes_shape():
    assert "leaderboard" not in gradescope.results_json(synthetic_result())
    result = synthetic_result()
    result.tests[0].leaderboard = [{"name": "Accuracy", "value": 0.5, "order": "desc"}]
    result.tests[1].leaderboard = [
        {"name": "Accuracy", "value": 0.926, "order": "desc"},
        {"name": "Time", "value": 15.1, "order": "asc"},
    ]
    data = gradescope.results_json(result)
    check_schema(data)
    assert data["leaderboard"] == [
        {"name": "Accuracy", "value": 0.926, "order": "desc"},
        {"name": "Time", "value": 15.1, "order": "asc"},
    ]


def test_the_worked_example_shows_the_intermediates_as_text():
    data = gradescope.results_json(synthetic_result())
    output = next(t for t in data["tests"] if t["name"] == "worked_example::forward")["output"]
    assert output.startswith("FAILED: h1 differs")
    lines = output.splitlines()
    assert any("h1" in line and "0.5013" in line and "first to differ" in line for line in lines)
    assert any("o1" in line and "missing" in line for line in lines)


# ----- run ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def solution_results(tmp_path_factory, solution_source) -> dict:
    root = make_root(tmp_path_factory.mktemp("solution"), {f"{HW}.py": solution_source, "notes.txt": "hello"})
    assert gradescope.run(root, limits=QUICK) == 0
    return read_results(root)


def test_the_solution_scores_full_marks(solution_results):
    data = solution_results
    check_schema(data)
    assert data["score"] == 20 and all(t["status"] == "passed" for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == 20
    assert f"graded {HW}.py" in data["output"]


def test_the_solution_as_a_notebook_among_other_files(tmp_path, solution_source):
    from grader.authoring.notebook import build_notebook

    notebook = build_notebook(MANIFEST, solution=True)
    root = make_root(tmp_path, {"scratch.py": "print('hi')\n"})
    (root / "submission" / f"{HW}.ipynb").write_text(
        json.dumps(notebook) if isinstance(notebook, dict) else _nbformat_text(notebook), encoding="utf-8"
    )
    assert gradescope.run(root, limits=QUICK) == 0
    assert read_results(root)["score"] == 20


def _nbformat_text(notebook) -> str:
    import nbformat

    return nbformat.writes(notebook)


def test_the_blank_handout_scores_zero(tmp_path, blank_source):
    root = make_root(tmp_path, {f"{HW}.py": blank_source})
    assert gradescope.run(root, limits=QUICK) == 0
    data = read_results(root)
    check_schema(data)
    assert data["score"] == 0 and {t["status"] for t in data["tests"]} == {"failed"}


NOT_READABLE = {
    "nothing": ({}, "Nothing was submitted: submit hw1_backprop.py or hw1_backprop.ipynb."),
    "a wrongly named file": (
        {"hw1_backprop.py.txt": "def forward_pass(): ...", "notes.md": "hi"},
        "Your submission has no .py or .ipynb file (it has hw1_backprop.py.txt, notes.md): "
        "submit hw1_backprop.py or hw1_backprop.ipynb.",
    ),
    "two candidates": (
        {"mine.py": "x = 1", "draft.py": "x = 2"},
        "Your submission holds several files that could be the submission (draft.py, mine.py); keep "
        "only one, hw1_backprop.py or hw1_backprop.ipynb, and submit again",
    ),
    "a broken notebook": ({"hw1_backprop.ipynb": "{not json"}, "hw1_backprop.ipynb is not a Jupyter notebook"),
}


@pytest.mark.parametrize("case", list(NOT_READABLE))
def test_a_submission_that_cannot_be_read_gets_one_message_saying_what_to_submit(tmp_path, case, solution_results):
    """One short message, once, in the student's terms (file names, never the container's paths); every test at 0."""
    files, message = NOT_READABLE[case]
    root = make_root(tmp_path, files)
    assert gradescope.run(root, limits=QUICK) == 0
    data = read_results(root)
    check_schema(data)
    assert data["score"] == 0
    assert data["output"].startswith(message) and "\n" not in data["output"]
    # The breakdown shows what there was to earn: the tests the solution gets, in the same order.
    assert [(t["number"], t["name"], t["max_score"]) for t in data["tests"]] == [
        (t["number"], t["name"], t["max_score"]) for t in solution_results["tests"]
    ]
    for test in data["tests"]:
        assert test["score"] == 0 and test["output"] == gradescope.NOT_RUN
    everything = json.dumps({k: v for k, v in data.items() if k != "extra_data"})
    assert str(tmp_path) not in everything and "/autograder" not in everything and "/submission" not in everything


def test_a_submission_that_crashes_or_hangs_still_gets_a_valid_result(tmp_path, solution_source):
    crash = solution_source + "\n\ndef forward_pass(*args, **kwargs):\n    import os\n    os._exit(3)\n"
    hang = solution_source + "\n\ndef backward_pass(*args, **kwargs):\n    while True:\n        pass\n"
    for name, source in (("crash", crash), ("hang", hang)):
        root = make_root(tmp_path / name, {f"{HW}.py": source})
        assert gradescope.run(root, limits=QUICK) == 0
        data = read_results(root)
        check_schema(data)
        function = "forward_pass" if name == "crash" else "backward_pass"
        charged = [t for t in data["tests"] if t["tags"][0] == function]
        assert charged and all(t["status"] == "failed" and t["score"] == 0 for t in charged)
        assert 0 < data["score"] < 20
    assert any("TIMEOUT" in t["output"] for t in read_results(tmp_path / "hang" / "autograder")["tests"])


def test_a_submission_cannot_write_into_the_results_folder(tmp_path, solution_source):
    root = make_root(tmp_path)
    forged = root / "results" / "forged.json"
    attack = (
        f"import os\ntry:\n    os.makedirs({str(forged.parent)!r}, exist_ok=True)\n"
        f"    open({str(forged)!r}, 'w').write('{{\"score\": 1000}}')\nexcept OSError:\n    pass\n"
    )
    (root / "submission" / f"{HW}.py").write_text(solution_source + "\n" + attack, encoding="utf-8")
    assert gradescope.run(root, limits=QUICK) == 0
    data = read_results(root)
    assert data["score"] == 20 and len(data["tests"]) > 1
    assert not forged.exists()


def test_an_autograder_error_still_leaves_a_valid_result(tmp_path, solution_source, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("the grader broke")

    monkeypatch.setattr(container, "grade", broken)
    root = make_root(tmp_path, {f"{HW}.py": solution_source})
    assert gradescope.run(root) == 0  # the file is valid: Gradescope reads it, not the status
    data = read_results(root)
    check_schema(data)
    assert data["score"] == 0 and data["output"].startswith("autograder error")
    assert "the grader broke" not in data["output"]  # the details are for the instructor only
    assert data["extra_data"]["autograder_error"] and "the grader broke" in data["extra_data"]["traceback"]
    assert "the grader broke" in capsys.readouterr().out  # stdout: hidden from students


def test_a_missing_config_is_an_autograder_error(tmp_path, solution_source):
    root = make_root(tmp_path, {f"{HW}.py": solution_source})
    (root / "source" / "grader_config.json").unlink()
    assert gradescope.run(root) == 0
    assert read_results(root)["output"].startswith("autograder error")


def test_the_placeholder_is_written_before_grading_starts(tmp_path, solution_source, monkeypatch):
    """If the process is killed mid-grading (out of memory, time), the placeholder stays: a valid 0."""
    seen = {}

    def killed(path, assignment, **kwargs):
        seen["results"] = read_results(root)
        seen["source_mode"] = stat.S_IMODE((root / "source").stat().st_mode)
        raise SystemExit("killed")  # not an Exception: as if the process died here

    monkeypatch.setattr(container, "grade", killed)
    root = make_root(tmp_path, {f"{HW}.py": solution_source})
    with pytest.raises(SystemExit):
        gradescope.run(root)
    check_schema(seen["results"])
    assert seen["results"]["score"] == 0 and "did not finish grading" in seen["results"]["output"]
    assert read_results(root) == seen["results"]  # still there, still valid
    if os.geteuid() == 0:
        assert seen["source_mode"] == 0o700  # protected before any student code could run


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader protects its folders only when it runs as root")
def test_source_and_results_are_readable_by_root_only(tmp_path, solution_source):
    root = make_root(tmp_path, {f"{HW}.py": solution_source})
    (root / "submission_metadata.json").write_text("{}")
    os.chmod(root / "source", 0o755)
    gradescope.run(root, limits=QUICK)
    assert stat.S_IMODE((root / "source").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "results").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "submission_metadata.json").stat().st_mode) == 0o600


# ----- the autograder zip ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return gradescope.build_autograder_zip(MANIFEST, tmp_path_factory.mktemp("dist"))


def test_the_zip_root_is_what_lands_in_autograder_source(autograder_zip):
    """Gradescope's specification: "The file must contain at least two files in the root of the archive:
    setup.sh ... run_autograder ..." and "/autograder/source contains the extracted contents of your
    autograder zip file", so the project the scripts read sits at the root beside them."""
    assert autograder_zip.name == "autograder.zip" and autograder_zip.parent.name == HW
    assert not list(autograder_zip.parent.glob(".*.tmp"))
    with zipfile.ZipFile(autograder_zip) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for script in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755, script
            assert archive.read(script).startswith(b"#!/usr/bin/env bash\n")
        assert json.loads(archive.read("grader_config.json")) == {"assignment": HW}
        names = set(infos)
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "setup.sh",
        "run_autograder",
        "grader_config.json",
        "pyproject.toml",
        "README.md",
        "reference",
        "grader",
        "templates",
        "assignments",
    }
    for needed in (
        "assignments/hw1_backprop/manifest.toml",
        "reference/backprop.py",
        "templates/report.html.j2",
        "assignments/hw1_backprop/tests/hidden/test_random_networks.py",
    ):
        assert needed in names, needed
    grader_files = {
        p.relative_to(PROJECT_ROOT).as_posix()
        for p in (PROJECT_ROOT / "grader").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert grader_files <= names, grader_files - names  # the whole grader, the sandbox's child included
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith(".") or "/." in n for n in names)
    assert {n.split("/")[1] for n in names if n.startswith("assignments/")} == {HW}


def test_the_scripts_are_rendered_valid_bash(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as archive:
        for script in ("setup.sh", "run_autograder"):
            text = archive.read(script).decode()
            assert "{{" not in text and "{%" not in text and gradescope.VENV in text
            path = tmp_path / script
            path.write_text(text)
            subprocess.run(["bash", "-n", str(path)], check=True)
        assert b"gradescope run" in archive.read("run_autograder")
        assert b"gradescope self-test" in archive.read("setup.sh")


def test_run_autograder_writes_a_valid_zero_when_the_grader_cannot_start(autograder_zip, tmp_path):
    """No venv (setup.sh failed): Gradescope still gets a results.json, a 0 that says why."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(autograder_zip), "-d", str(root / "source")], check=True)
    env = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root), "GRADER_VENV": str(tmp_path / "no-venv")}
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    data = read_results(root)
    check_schema(data)
    assert data["score"] == 0 and data["output"].startswith("autograder error: the grader could not start")
    assert data["extra_data"]["autograder_error"] is True


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox switches to the user nobody only when the grader is root")
@pytest.mark.parametrize("protected", [True, False])
def test_without_namespaces_the_sandbox_user_cannot_read_the_hidden_tests(protected, solution_source, monkeypatch):
    """Gradescope's container may allow no namespaces: then only the folders' modes keep `nobody` out.

    The control run (``protect`` disabled) shows the attack does work on world-readable folders.
    """
    import functools
    import shutil
    import tempfile

    monkeypatch.setattr(container, "grade", functools.partial(container.grade, use_namespaces=False))
    if not protected:
        monkeypatch.setattr(container, "protect", lambda root: None)
    base = Path(tempfile.mkdtemp(prefix="gradescope-test-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        root = make_root(base)
        secret = root / "source" / "assignments" / HW / "tests" / "hidden" / "test_secret.py"
        secret.parent.mkdir(parents=True)
        secret.write_text("# the hidden tests\n")
        # The submission scores full marks only if it cannot read the hidden tests.
        attack = f"\ntry:\n    open({str(secret)!r}).read()\n    sigmoid_derivative = None\nexcept OSError:\n    pass\n"
        (root / "submission" / f"{HW}.py").write_text(solution_source + attack, encoding="utf-8")
        assert gradescope.run(root, limits=QUICK) == 0
        data = read_results(root)
        assert "filesystem" in " ".join(data["extra_data"]["protections_off"])  # really no namespaces
        assert (data["score"] == 20) is protected
    finally:
        shutil.rmtree(base)


# ----- does the homework fit Gradescope's container? ----------------------------------------------------
def test_hw1_fits_gradescopes_default_container():
    """docs/troubleshooting.md: "Our default memory limit is 768MB" and "We have a default overall
    timeout of 10 minutes"; hw1's manifest describes that container and its limits fit it."""
    assert MANIFEST.gradescope == manifests.GradescopeContainer(memory_mb=768, timeout_minutes=10)
    assert gradescope.container_warnings(MANIFEST) == []
    assert MANIFEST.limits.memory_mb + gradescope.GRADER_MEMORY_MB <= 768
    assert gradescope.worst_case_seconds(MANIFEST) <= 10 * 60
    readme = " ".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split())  # what it tells instructors
    assert f"graded in at most {gradescope.worst_case_seconds(MANIFEST):g} s" in readme
    assert f"may use {MANIFEST.limits.memory_mb} MiB of address space" in readme


def test_the_readme_tells_instructors_what_each_sample_must_score():
    """The "Test Autograder" step of the README's instructor section, against samples.toml."""
    from grader.homework import samples

    readme = " ".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split())
    for sample in samples.load(MANIFEST):
        assert f"`{sample.file}` {'must score ' if sample.file == 'correct.py' else ''}{sample.score:g}" in readme


def test_a_memory_limit_above_the_container_is_a_warning():
    greedy = replace(MANIFEST, limits=replace(MANIFEST.limits, memory_mb=2048))
    (warning,) = gradescope.container_warnings(greedy)
    assert "memory_mb = 2048" in warning and "768 MB" in warning and "lower it to 512" in warning
    assert "\n" not in warning
    roomy = replace(greedy, gradescope=manifests.GradescopeContainer(memory_mb=4096))
    assert gradescope.container_warnings(roomy) == []


def test_a_grading_time_above_the_timeout_is_a_warning():
    """A function that timed out is not run again: the worst case is one time-out (and one reload) per function."""
    slow = replace(MANIFEST, limits=replace(MANIFEST.limits, call_seconds=60))
    functions = len(MANIFEST.functions)
    assert gradescope.worst_case_seconds(slow) == gradescope.START_SECONDS + 20 * (functions + 1) + 60 * functions
    (warning,) = gradescope.container_warnings(slow)
    assert "after 10 minutes" in warning and f"each of the {functions} functions" in warning
    longer = replace(slow, gradescope=manifests.GradescopeContainer(timeout_minutes=40))
    assert gradescope.container_warnings(longer) == []


def test_grader_build_prints_the_warnings(monkeypatch, capsys, tmp_path):
    from grader import cli
    from grader.authoring import build

    greedy = replace(MANIFEST, limits=replace(MANIFEST.limits, memory_mb=2048))
    monkeypatch.setattr(manifests, "load", lambda assignment: greedy)
    monkeypatch.setattr(build, "build_homework", lambda manifest, dist, notes: {})
    assert cli.main(["build", HW, "--dist", str(tmp_path)]) == 0  # built all the same: the instructor decides
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"grader build: warning: {HW}: [limits] memory_mb = 2048")


@pytest.mark.parametrize(
    "table, error",
    [
        ("memory_mb = 0", "memory_mb must be a positive number"),
        ("timeout_minutes = 'ten'", "timeout_minutes must be a positive number"),
        ("timeout_minutes = 41", "more than Gradescope allows (40 minutes)"),
        ("cpus = 2", "[gradescope] takes only the keys ['memory_mb', 'timeout_minutes']"),
    ],
)
def test_a_wrong_gradescope_table_is_a_clear_error(tmp_path, table, error):
    from grader.errors import UserError

    folder = tmp_path / HW
    folder.mkdir()
    text = (MANIFEST.folder / "manifest.toml").read_text(encoding="utf-8")
    (folder / "manifest.toml").write_text(
        text.replace("memory_mb = 768\ntimeout_minutes = 10", table), encoding="utf-8"
    )
    with pytest.raises(UserError, match=re.escape(error)):
        manifests.load(folder)
