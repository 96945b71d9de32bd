"""The instructor's guide works as written: its example homework, copied from the guide's own text.

Every fenced block of ``docs/authoring.md`` whose first line says ``file=PATH`` is written to PATH in
an empty course folder outside the project; the homework is then listed, built, validated and
graded there through the command line, and its samples, its message example and its Gradescope zip
must do what the guide says.
"""

import csv
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader import cli
from grader.gradescope import container
from grader.homework import course as courses
from grader.homework import manifest as manifests
from grader.homework import samples
from grader.paths import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "authoring.md"
HW = "hw0_sigmoid"
FENCE = re.compile(r"^(`{3,})(\w*)(.*)$")


def fenced_blocks(text: str) -> list[tuple[dict[str, str], str]]:
    """The guide's fenced blocks: ({key: value} of their first line's ``key=value`` words, content)."""
    found, lines, index = [], text.splitlines(keepends=True), 0
    while index < len(lines):
        opening = FENCE.match(lines[index].rstrip("\n"))
        index += 1
        if not opening:
            continue
        fence, body = opening.group(1), []
        while index < len(lines) and lines[index].rstrip("\n") != fence:
            body.append(lines[index])
            index += 1
        index += 1
        found.append((dict(word.split("=", 1) for word in opening.group(3).split() if "=" in word), "".join(body)))
    return found


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """An empty course folder holding only the files the guide prints, searched first while the module runs."""
    root = tmp_path_factory.mktemp("my-course")
    for attributes, body in fenced_blocks(GUIDE.read_text(encoding="utf-8")):
        if "file" in attributes:
            path = root / attributes["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(courses.ENVIRONMENT, "")  # whatever the commands set, undone after the module
        yield root


@pytest.fixture(autouse=True)
def course_named_as_before(monkeypatch):
    """What a test's commands set (a container's run names the course it unzipped) ends with the test."""
    monkeypatch.setenv(courses.ENVIRONMENT, os.environ.get(courses.ENVIRONMENT, ""))


@pytest.fixture(scope="module")
def built(course) -> Path:
    code = cli.main(["build", HW, "--course", str(course)])
    assert code == 0
    return course / "dist" / HW


def test_the_guide_prints_every_file_of_its_example(course):
    files = {p.relative_to(course).as_posix() for p in course.rglob("*") if p.is_file()}
    assert files == {
        "reference/activations.py",
        f"assignments/{HW}/manifest.toml",
        f"assignments/{HW}/narrative.md",
        f"assignments/{HW}/mistakes.toml",
        f"assignments/{HW}/samples/samples.toml",
        f"assignments/{HW}/tests/visible/test_sigmoid.py",
        f"assignments/{HW}/tests/hidden/test_sigmoid_hidden.py",
    }


def test_the_readme_links_the_guide():
    assert "docs/authoring.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_grader_list_shows_the_course_and_its_homework(course, capsys):
    code, output = run_cli(capsys, "list", "--course", str(course))
    assert code == 0
    assert f"{course.resolve() / 'assignments'}/" in output and HW in output and "Homework 0: the sigmoid" in output


def test_every_claim_of_grader_validate_holds(course, capsys):
    code, output = run_cli(capsys, "validate", HW, "--course", str(course))
    assert code == 0, output
    assert f"{HW}: all 7 claims hold" in output
    assert "sigmoid loses 2 of 2; and, as the mistake declares (also), sigmoid_backward (−3)" in output


def test_the_handout_is_what_the_guide_says(built):
    student = (built / "student" / f"{HW}.py").read_text(encoding="utf-8")
    assert "Every function takes a number or a numpy array" in student  # the module's docstring
    assert 'raise NotImplementedError("task 1: implement sigmoid")' in student
    assert "return 1.0 / (1.0 + np.exp(-z))" not in student
    backward = student[student.index("def sigmoid_backward") : student.index("def numerical_derivative")]
    assert "z = np.asarray(z, dtype=np.float64)" in backward and "TODO(task 2)" in backward
    assert "return (f(z + h) - f(z - h)) / (2 * h)" in student  # given whole
    assert "SOLUTION" not in student
    notebook = json.loads((built / "student" / f"{HW}.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert not any("Every function takes a number" in text for text in sources)  # the notebook leaves it out
    task_1 = next(n for n, text in enumerate(sources) if text.startswith("## Task 1: the sigmoid"))
    assert sources[task_1 + 1].startswith("def sigmoid(z):")
    for name in ("check_hw0_sigmoid.py", "../solution/hw0_sigmoid.py", "../autograder.zip", "../samples/correct.py"):
        assert (built / "student" / name).is_file(), name


@pytest.fixture(scope="module")
def graded(course, built, tmp_path_factory) -> Path:
    """The samples graded as a class, as section 9 says: ``grader batch``."""
    out = tmp_path_factory.mktemp("graded")
    assert (
        cli.main(["batch", str(built / "samples"), "--assignment", HW, "--out", str(out), "--course", str(course)]) == 0
    )
    return out


def test_each_sample_scores_what_samples_toml_says(graded):
    with open(graded / "gradebook.csv", newline="") as f:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    promised = {Path(sample.file).stem: sample.score for sample in samples.load(manifests.load(HW))}
    assert totals == pytest.approx(promised)


def test_the_message_the_guide_shows_is_the_one_students_get(graded):
    shown = [(attributes, body) for attributes, body in fenced_blocks(GUIDE.read_text()) if "message" in attributes]
    assert shown
    for attributes, body in shown:
        result = json.loads((graded / Path(attributes["sample"]).stem / "result.json").read_text())
        assert next(t["message"] for t in result["tests"] if t["name"] == attributes["message"]) == body.rstrip("\n")


def test_the_students_checker_passes_the_solution(built, tmp_path):
    for name in ("check_hw0_sigmoid.py",):
        (tmp_path / name).write_bytes((built / "student" / name).read_bytes())
    (tmp_path / f"{HW}.py").write_bytes((built / "solution" / f"{HW}.py").read_bytes())
    run = subprocess.run(
        [sys.executable, "check_hw0_sigmoid.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and "visible tests: 2 / 2 points" in run.stdout, run.stdout + run.stderr


def test_the_gradescope_zip_carries_the_course_and_grades_in_the_container(built, tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built / "autograder.zip") as archive:
        names = set(archive.namelist())
        assert json.loads(archive.read("grader_config.json")) == {"assignment": HW, "course": "course"}
        archive.extractall(root / "source")
    for needed in (
        "course/reference/activations.py",
        f"course/assignments/{HW}/manifest.toml",
        f"course/assignments/{HW}/tests/hidden/test_sigmoid_hidden.py",
    ):
        assert needed in names, needed
    assert not any(name.startswith("assignments/") for name in names)  # the project's homeworks stay out
    assert container.self_test(root) == 0  # setup.sh's last step: the solution scores full marks
    (root / "submission").mkdir()
    (root / "submission" / f"{HW}.py").write_bytes((built / "samples" / "correct.py").read_bytes())
    assert container.run(root) == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 5, results


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox runs as a user of its own only when the grader is root")
@pytest.mark.parametrize("protected", [True, False])
def test_without_namespaces_the_course_in_the_zip_is_out_of_the_sandbox_users_reach(built, monkeypatch, protected):
    """Gradescope may allow no namespaces: then the modes of /autograder/source keep the course's hidden
    tests from student code. The control run (``protect`` disabled) shows the attack works otherwise."""
    monkeypatch.setattr(container, "grade", functools.partial(container.grade, use_namespaces=False))
    if not protected:
        monkeypatch.setattr(container, "protect", lambda root: None)
    base = Path(tempfile.mkdtemp(prefix="gradescope-course-", dir="/tmp"))  # reachable by the sandbox's user
    try:
        os.chmod(base, 0o755)
        root = base / "autograder"
        with zipfile.ZipFile(built / "autograder.zip") as archive:
            archive.extractall(root / "source")
        secret = root / "source" / "course" / "assignments" / HW / "tests" / "hidden" / "test_sigmoid_hidden.py"
        attack = f"\ntry:\n    open({str(secret)!r}).read()\n    sigmoid = None\nexcept OSError:\n    pass\n"
        (root / "submission").mkdir()
        (root / "submission" / f"{HW}.py").write_text((built / "samples" / "correct.py").read_text() + attack)
        assert container.run(root) == 0
        results = json.loads((root / "results" / "results.json").read_text())
        assert "filesystem" in " ".join(results["extra_data"]["protections_off"])  # really no namespaces
        assert (results["score"] == 5) is protected
    finally:
        shutil.rmtree(base)
