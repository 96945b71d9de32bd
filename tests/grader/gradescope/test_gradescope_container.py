"""The autograder zip, run the way Gradescope runs it.

Unpacked, set up by its own setup.sh, graded by its own run_autograder.

Gradescope's published specification (gradescope/autograder_samples), quoted:

docs/specs.md:

- "The file must contain at least two files in the root of the archive: setup.sh: a setup (Bash)
  script that installs all your dependencies ... run_autograder: an executable script, in any
  language (with appropriate `#!` line), that compiles and runs your autograder suite and
  produces the output in the correct place."
- "When the autograder executes, the working directory is /autograder."
- "/autograder/source contains the extracted contents of your autograder zip file."
- "/autograder/run_autograder is where your autograder script gets copied to during the Docker
  image build process."
- "/autograder/results/results.json is where you put the test output that is uploaded to
  Gradescope. This must be produced as a result of executing `run_autograder`."
- "/autograder/submission contains the student's submission, downloaded from Gradescope."

docs/tech.md: "Our autograder harness downloads the student's submission and puts it in
/autograder/submission, and then runs /autograder/run_autograder. Once run_autograder has finished
running, the harness checks for output in /autograder/results/results.json". setup.sh runs once,
as root, while the image is built.

So the module's set-up does exactly that, with <root> for /autograder: ``unzip`` the zip into
<root>/source, copy <root>/source/run_autograder to <root>/run_autograder, run the zip's own
setup.sh with bash, as root (once for the module); then, per submission, fill <root>/submission
and run <root>/run_autograder with <root> as the working directory. Environment variables only
move what has no place on this machine (the root, the venv) and skip what needs the network (apt;
pip finds the installed dependencies through a venv with --system-site-packages and
PIP_NO_INDEX=1): the scripts are the files Gradescope would run, with hw1's own limits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradescope_schema import check_schema, read_results

from grader.authoring.module import build_module
from grader.gradescope import NOT_RUN, build_autograder_zip
from grader.homework import manifest as manifests
from grader.homework import samples

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs setup.sh and run_autograder as root")

HW = "hw1_backprop"
MANIFEST = manifests.load(HW)
ONE_LINE_SUBMIT = f"submit {HW}.py or {HW}.ipynb"
# Docker's default capabilities (what a Gradescope container runs with): no CAP_SYS_ADMIN, so no namespaces.
DOCKER_CAPABILITIES = (
    "chown",
    "dac_override",
    "fsetid",
    "fowner",
    "mknod",
    "net_raw",
    "setgid",
    "setuid",
    "setfcap",
    "setpcap",
    "net_bind_service",
    "sys_chroot",
    "kill",
    "audit_write",
)
WITH_DOCKERS_CAPABILITIES = [
    "setpriv",
    "--bounding-set",
    "-all," + ",".join(f"+{c}" for c in DOCKER_CAPABILITIES),
    "--",
]


@dataclass
class Container:
    base: Path  # holds the root, the venv and the test's own folders; readable by all, like / and /opt
    root: Path  # stands for /autograder
    env: dict
    setup: subprocess.CompletedProcess
    setup_seconds: float


@pytest.fixture(scope="module")
def container():
    base = Path(tempfile.mkdtemp(prefix="gradescope-container-", dir="/tmp"))
    os.chmod(base, 0o755)  # the sandbox's user reaches the venv's python and numpy, as it would in /opt
    try:
        autograder_zip = build_autograder_zip(MANIFEST, base / "dist")
        root = base / "autograder"
        (root / "source").mkdir(parents=True)
        subprocess.run(["unzip", "-q", str(autograder_zip), "-d", str(root / "source")], check=True)
        subprocess.run(["cp", str(root / "source" / "run_autograder"), str(root / "run_autograder")], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRADER_", "PIP_", "VIRTUAL_ENV"))}
        env.update(
            GRADER_AUTOGRADER_ROOT=str(root),
            GRADER_VENV=str(base / "venv"),
            GRADER_SKIP_APT="1",
            GRADER_PYTHON=sys.executable,
            GRADER_SYSTEM_PACKAGES="1",
            PIP_NO_INDEX="1",
        )
        started = time.monotonic()
        setup = subprocess.run(
            ["bash", str(root / "source" / "setup.sh")], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        yield Container(base, root, env, setup, time.monotonic() - started)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def solution_source() -> str:
    return build_module(MANIFEST, solution=True)


def run_autograder(container: Container, files: dict[str, str], wrapper: list[str] = ()) -> dict:
    """A fresh submission, then <root>/run_autograder in <root>; its results.json, checked against the schema."""
    root = container.root
    if container.setup.returncode != 0:
        pytest.fail("setup.sh failed:\n" + container.setup.stdout[-3000:] + container.setup.stderr[-3000:])
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "submission").mkdir()
    for name, text in files.items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [*wrapper, str(root / "run_autograder")],
        cwd=root,
        env=container.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = read_results(root / "results" / "results.json")
    check_schema(data)
    # The zip's own copy of the grader graded, not the repository's (nor the one installed in site-packages).
    assert Path(data["extra_data"]["grader"]) == (root / "source" / "grader").resolve()
    return data


def charged_to(data: dict, function: str) -> list[dict]:
    return [test for test in data["tests"] if test["tags"][0] == function]


# ----- setup.sh -------------------------------------------------------------------------------------------
def test_setup_sh_makes_a_venv_without_the_project_and_the_solution_scores_full_marks_there(container):
    assert container.setup.returncode == 0, container.setup.stdout[-3000:] + container.setup.stderr[-3000:]
    assert f"self-test: the reference solution of {HW} scores 20 / 20 here" in container.setup.stdout
    venv = Path(container.env["GRADER_VENV"])
    assert (venv / "bin" / "python").exists()
    # The project is imported from <root>/source only: no copy the sandbox's user could read in site-packages.
    assert not [
        p for p in venv.glob("lib/python3*/site-packages/*") if p.name in ("grader", "reference", "assignments")
    ]
    assert os.access(container.root / "run_autograder", os.X_OK)  # unzip kept the mode the zip gave it


# ----- run_autograder, submission by submission -----------------------------------------------------------
def test_a_correct_submission_scores_full_marks(container, solution_source):
    data = run_autograder(container, {f"{HW}.py": solution_source})
    assert data["score"] == 20 and all(test["status"] == "passed" for test in data["tests"])
    assert sum(test["max_score"] for test in data["tests"]) == 20 and len(data["tests"]) > 20
    assert data["output"].startswith(f"{HW}: graded {HW}.py")


def test_a_buggy_submission_loses_exactly_the_points_of_its_mistakes(container):
    """The partly wrong sample (a transposed ∂s/∂W, a missing σ') scores what samples.toml says."""
    sample = next(s for s in samples.load(MANIFEST) if s.file == "partly_wrong.py")
    data = run_autograder(container, {f"{HW}.py": samples.derive(MANIFEST, sample)})
    assert data["score"] == pytest.approx(sample.score) and 0 < data["score"] < 20
    failed = {test["tags"][0] for test in data["tests"] if test["status"] == "failed"}
    assert failed == {"backward_pass", "layer_gradients"}


# correct.py and partly_wrong.py are graded above; malicious.py is left to test_grading.py, with short limits:
# with hw1's own it takes 20 s (five calls of 3 s printing 100 MB each), which says nothing about the container.
OTHER_SAMPLES = [s for s in samples.load(MANIFEST) if s.file not in ("correct.py", "partly_wrong.py", "malicious.py")]


@pytest.mark.parametrize("sample", OTHER_SAMPLES, ids=[s.file for s in OTHER_SAMPLES])
def test_the_samples_score_what_the_readme_tells_instructors_to_expect(container, sample):
    """The README's "Test Autograder" step: each of dist/<hw>/samples/ scores what samples.toml says."""
    data = run_autograder(container, {sample.file: samples.derive(MANIFEST, sample)})
    assert data["score"] == pytest.approx(sample.score)


BROKEN_FUNCTIONS = {
    "hanging": ("sigmoid_derivative", "    while True:\n        pass\n", "TIMEOUT", "did not return within 5 s"),
    "self-killing": (
        "perceptron_forward",
        "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n",
        "ERROR",
        "the submission's process stopped while running perceptron_forward: it was killed",
    ),
    # 1 GiB: more than hw1's memory_mb (512) but less than the 2048 it had, which Gradescope's 768 MB could not give.
    "a memory bomb": (
        "layer_delta",
        "    import numpy\n    return numpy.ones(2**30 // 8)\n",
        "ERROR",
        "raised MemoryError",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_FUNCTIONS))
def test_a_broken_function_costs_its_own_points_only(container, solution_source, case):
    """The broken function's tests fail with a message saying why; every other test passes."""
    function, body, status, message = BROKEN_FUNCTIONS[case]
    arguments = next(line for line in solution_source.splitlines() if line.startswith(f"def {function}("))
    data = run_autograder(container, {f"{HW}.py": f"{solution_source}\n\n{arguments}\n{body}"})
    broken = charged_to(data, function)
    outputs = [test["output"] for test in broken]
    assert broken and all(output.startswith(status) and message in output for output in outputs), outputs
    assert all(test["score"] == 0 for test in broken)
    assert all(test["status"] == "passed" for test in data["tests"] if test not in broken)
    points = next(task.points for task in MANIFEST.tasks if task.function == function)
    assert data["score"] == pytest.approx(20 - points)


@pytest.mark.parametrize("files", [{}, {f"{HW}.py.txt": "def forward_pass(w, i): ..."}], ids=["nothing", "wrong name"])
def test_a_missing_submission_gets_one_message_and_every_test_at_zero(container, files):
    data = run_autograder(container, files)
    assert data["score"] == 0
    assert "\n" not in data["output"] and data["output"].endswith(f"{ONE_LINE_SUBMIT}.")
    assert str(container.root) not in data["output"] and "/autograder" not in data["output"]
    assert len(data["tests"]) > 20 and sum(test["max_score"] for test in data["tests"]) == 20
    assert all(test["score"] == 0 and test["output"] == NOT_RUN for test in data["tests"])


# ----- Gradescope's container: root, but without the capabilities namespaces need ----------------------
ATTACK = """

import json as _json
import os as _os


def _try(action):
    try:
        action()
        return "done"
    except OSError as error:
        return type(error).__name__


_attempts = {{
    "read a hidden test": lambda: open({hidden!r}).read(),
    "read the reference solution": lambda: open({reference!r}).read(),
    "list the autograder's source": lambda: _os.listdir({source!r}),
    "read the submission metadata": lambda: open({metadata!r}).read(),
    "overwrite results.json": lambda: open({results!r}, "w").write('{{"score": 1000}}'),
    "add a file to results/": lambda: open({forged!r}, "w").write("{{}}"),
    "change run_autograder": lambda: open({run_autograder!r}, "a").write("# changed"),
    "signal the grader": lambda: _os.kill(_os.getppid(), 0),
    "control: read a copy of the hidden test in an ordinary folder": lambda: open({control!r}).read(),
}}
_report = {{"uid": _os.getuid(), "attempts": {{what: _try(action) for what, action in _attempts.items()}}}}
with open({report!r}, "w") as _file:  # a world-writable folder: where a process of any user may write
    _json.dump(_report, _file)
if any(outcome == "done" for what, outcome in _report["attempts"].items() if not what.startswith("control")):
    sigmoid_derivative = None  # an attack that worked costs points
"""


def test_with_only_dockers_capabilities_student_code_is_still_kept_from_the_grader(container, solution_source):
    """Gradescope's containers run as root without CAP_SYS_ADMIN: the sandbox can make no namespace.

    run_autograder runs under ``setpriv`` with Docker's default capabilities only. What must still
    hold: student code runs as an unprivileged user (the uid the result reports), cannot read the
    autograder's source (hidden tests, reference), the submission metadata, cannot write results/
    or change run_autograder, cannot signal the grader; a correct submission scores full marks.
    The control reads a copy of the hidden test in an ordinary folder: the attack code does work
    where the grader's modes do not protect. What is off is listed in the result, and the README's
    instructor section explains each.
    """
    cannot = subprocess.run([*WITH_DOCKERS_CAPABILITIES, "unshare", "--net", "true"], capture_output=True)
    assert cannot.returncode != 0  # the condition: with these capabilities no namespace can be made
    root, base = container.root, container.base
    hidden = root / "source" / "assignments" / HW / "tests" / "hidden" / "test_random_networks.py"
    control = base / "ordinary" / hidden.name
    control.parent.mkdir(exist_ok=True)
    shutil.copy(hidden, control)
    os.chmod(control, 0o644)
    drop = base / "drop"
    drop.mkdir(exist_ok=True)
    os.chmod(drop, 0o1777)
    report = drop / "report.json"
    report.unlink(missing_ok=True)
    (root / "submission_metadata.json").write_text('{"users": [{"email": "someone@example.edu"}]}')
    paths = {
        "hidden": hidden,
        "reference": root / "source" / "reference" / "backprop.py",
        "source": root / "source",
        "metadata": root / "submission_metadata.json",
        "results": root / "results" / "results.json",
        "forged": root / "results" / "forged.json",
        "run_autograder": root / "run_autograder",
        "control": control,
        "report": report,
    }
    attack = ATTACK.format(**{name: str(path) for name, path in paths.items()})
    data = run_autograder(container, {f"{HW}.py": solution_source + attack}, wrapper=WITH_DOCKERS_CAPABILITIES)

    off = data["extra_data"]["protections_off"]
    assert any(entry.startswith("filesystem") for entry in off), (
        f"namespaces were made: not Gradescope's condition ({off})"
    )
    outcomes = json.loads(report.read_text())
    attempts = outcomes.pop("attempts")
    assert attempts.pop("control: read a copy of the hidden test in an ordinary folder") == "done"
    assert attempts == {what: "PermissionError" for what in attempts}, attempts
    assert data["score"] == 20 and all(test["status"] == "passed" for test in data["tests"])
    assert not paths["forged"].exists() and "# changed" not in paths["run_autograder"].read_text()

    # Student code ran as an unprivileged user: the uid it saw, the owner of the file it wrote, the uid reported.
    reported = re.search(r"uid (\d+)", data["extra_data"]["protections"]["user"])
    assert reported and int(reported[1]) == outcomes["uid"] == report.stat().st_uid != 0

    # What does not hold is listed, and the README the instructor gets explains each.
    kinds = {entry.split(":")[0] for entry in off}
    assert {"network", "filesystem", "processes"} <= kinds
    readme = (root / "source" / "README.md").read_text(encoding="utf-8")
    instructors = readme[readme.index("## Gradescope") :]
    assert all(f"**{kind}**" in instructors for kind in kinds), kinds
