"""Batch grading a class folder: gradebook, reports, resuming, broken submissions, Gradescope exports."""

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.batch import discover, read_gradescope_metadata, run_batch, safe_name
from grader.batch import run as batch_run
from grader.cli import main
from grader.errors import UserError
from grader.homework import manifest as manifests

HW = "hw1_backprop"
TRANSPOSED = ('"W": np.outer(delta, x)}', '"W": np.outer(x, delta)}')


@pytest.fixture(scope="module")
def solution() -> str:
    return build_module(manifests.load(HW), solution=True)


@pytest.fixture(scope="module")
def blank() -> str:
    return build_module(manifests.load(HW), solution=False)


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})


def write_class(folder: Path, solution: str, blank: str) -> Path:
    (folder / "erin").mkdir(parents=True)
    (folder / "alice.py").write_text(solution, encoding="utf-8")
    (folder / "bob.py").write_text(blank, encoding="utf-8")
    assert TRANSPOSED[0] in solution
    (folder / "carol.py").write_text(solution.replace(*TRANSPOSED), encoding="utf-8")
    (folder / "dave.ipynb").write_text('{"cells": [', encoding="utf-8")  # a broken notebook
    (folder / "erin" / f"{HW}.ipynb").write_text(notebook(solution), encoding="utf-8")
    for ignored in (".DS_Store", "__pycache__/x.pyc", ".ipynb_checkpoints/alice-checkpoint.ipynb"):
        (folder / ignored).parent.mkdir(exist_ok=True)
        (folder / ignored).write_text("x", encoding="utf-8")
    return folder


def read_gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def mtimes(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/result.json")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, solution, blank):
    """A class of five graded once, with two workers: (class folder, output folder, what the batch printed)."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("graded")
    folder, out, printed = write_class(root / "class", solution, blank), root / "out", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run_batch(folder, HW, out, workers=2) == 0
    return folder, out, printed.getvalue()


@pytest.fixture
def regraded(graded, tmp_path):
    """A copy of the graded class to change and grade again."""
    folder, out, _ = graded
    shutil.copytree(folder, tmp_path / "class")
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "class", tmp_path / "out"


def test_the_gradebook_has_a_row_per_student_and_a_column_per_test_and_function(graded):
    _, out, _ = graded
    book = read_gradebook(out)
    assert sorted(book) == ["alice", "bob", "carol", "dave", "erin"]
    columns = list(next(iter(book.values())))
    functions = list(manifests.load(HW).functions)
    assert columns[:4] == ["student", "name", "email", "submission"] and columns[-3:] == ["total", "max", "errors"]
    assert columns[-3 - len(functions) : -3] == functions
    tests = columns[4 : -3 - len(functions)]
    assert len(tests) > 20 and all("::" in name for name in tests)
    assert {s: float(row["total"]) for s, row in book.items()} == {
        "alice": 20,
        "bob": 0,
        "carol": 18,
        "dave": 0,
        "erin": 20,
    }
    assert {row["max"] for row in book.values()} == {"20"}
    carol = book["carol"]
    assert float(carol["layer_gradients"]) == 0 and float(carol["forward_pass"]) == 3
    assert sum(float(carol[f]) for f in functions) == sum(float(carol[t]) for t in tests) == 18


def test_every_student_gets_a_result_and_a_report_and_the_class_a_summary(graded):
    _, out, printed = graded
    for student in ("alice", "bob", "carol", "dave", "erin"):
        result = json.loads((out / student / "result.json").read_text(encoding="utf-8"))
        assert result["assignment"] == HW and result["max_score"] == 20 and len(result["tests"]) > 20
        assert set(result["fingerprint"]) == {"version", "assignment", "submission_sha256", "homework_sha256"}
        assert "<html" in (out / student / "report.html").read_text(encoding="utf-8").lower()
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "alice/report.html" in summary
    assert str(out / "gradebook.csv") in printed and str(out / "summary.html") in printed
    assert "5 graded, 0 skipped" in printed


def test_a_broken_notebook_gets_a_zero_with_the_reason_and_the_batch_goes_on(graded):
    _, out, _ = graded
    dave = json.loads((out / "dave" / "result.json").read_text(encoding="utf-8"))
    assert dave["score"] == 0 and {t["status"] for t in dave["tests"]} == {"error"}
    assert any("not a Jupyter notebook" in e for e in dave["errors"])
    assert "not a Jupyter notebook" in read_gradebook(out)["dave"]["errors"]


def test_a_second_run_skips_everyone_and_rewrites_no_result(regraded, capsys):
    folder, out = regraded
    before = mtimes(out)
    assert run_batch(folder, HW, out, workers=2) == 0
    assert "0 graded, 5 skipped" in capsys.readouterr().out
    assert mtimes(out) == before
    assert float(read_gradebook(out)["alice"]["total"]) == 20


def test_changing_one_submission_regrades_only_that_one(regraded, solution, capsys):
    folder, out = regraded
    before = mtimes(out)
    (folder / "bob.py").write_text(solution, encoding="utf-8")
    assert run_batch(folder, HW, out, workers=1) == 0
    assert "1 graded, 4 skipped" in capsys.readouterr().out
    after = mtimes(out)
    assert [s for s in before if after[s] != before[s]] == ["bob"]
    assert float(read_gradebook(out)["bob"]["total"]) == 20


def test_a_lost_report_is_rewritten_from_the_saved_result_without_regrading(regraded, capsys):
    folder, out = regraded
    (out / "alice" / "report.html").unlink()
    before = mtimes(out)
    run_batch(folder, HW, out, workers=1)
    assert "0 graded, 5 skipped" in capsys.readouterr().out
    assert (out / "alice" / "report.html").is_file() and mtimes(out) == before


def test_a_gradescope_export_uses_the_metadata_for_ids_names_and_emails(tmp_path, solution, blank, capsys):
    folder = tmp_path / "assignment_1_export"
    for key, source in (("submission_101", solution), ("submission_102", blank)):
        (folder / key).mkdir(parents=True)
        (folder / key / f"{HW}.py").write_text(source, encoding="utf-8")
    (folder / "submission_metadata.yml").write_text(
        "submission_101:\n"
        "  :submitters:\n"
        "  - :name: Ada Lovelace\n"
        "    :sid: '1815'\n"
        "    :email: ada@example.org\n"
        "  - :name: Charles Babbage\n"
        "    :sid: '1791'\n"
        "    :email: charles@example.org\n"
        "  :created_at: 2024-02-01 10:00:00.000000000 -08:00\n"
        "  :score: 20.0\n"
        "submission_102:\n"
        "  submitters:\n"
        "  - name: Alan Turing\n"
        "    email: alan@example.org\n"
        "  created_at: 2024-02-02 10:00:00.000000000 -08:00\n",
        encoding="utf-8",
    )
    out = folder / "graded"  # inside the export: must not be taken for a submission on the next run
    assert run_batch(folder, HW, out, workers=1) == 0
    book = read_gradebook(out)
    assert sorted(book) == ["1791", "1815", "alan@example.org"]
    assert (book["1815"]["name"], book["1815"]["email"], book["1815"]["total"]) == (
        "Ada Lovelace",
        "ada@example.org",
        "20",
    )
    assert book["1791"]["total"] == "20" and book["1791"]["submission"] == "submission_101"
    assert (book["alan@example.org"]["name"], book["alan@example.org"]["total"]) == ("Alan Turing", "0")
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and p.name != "release") == ["1815", "alan@example.org"]
    capsys.readouterr()
    run_batch(folder, HW, out, workers=1)
    assert "2 submissions: 0 graded, 2 skipped" in capsys.readouterr().out


def test_the_command_line_exits_0_and_prints_where_the_results_are(tmp_path, solution, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(solution, encoding="utf-8")
    (folder / "bob.py").write_text(solution.replace(*TRANSPOSED), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--assignment", HW, "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"gradebook  {out / 'gradebook.csv'}" in printed and f"summary    {out / 'summary.html'}" in printed
    assert (out / "bob" / "report.html").is_file()


def test_a_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        run_batch(tmp_path / "nowhere", HW, tmp_path / "out")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(UserError, match="holds no submissions"):
        run_batch(tmp_path / "empty", HW, tmp_path / "out")
    assert main(["batch", str(tmp_path / "empty"), "-a", HW, "--out", str(tmp_path / "out")]) == 2


def test_tests_that_do_not_collect_stop_the_batch_before_anyone_is_graded(tmp_path, solution):
    homework = tmp_path / HW
    shutil.copytree(manifests.load(HW).folder, homework, ignore=shutil.ignore_patterns("__pycache__"))
    # a new file: pytest keeps test modules it imported before (this process graded hw1 already)
    (homework / "tests" / "hidden" / "test_more.py").write_text("def oops(:\n", encoding="utf-8")
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(solution, encoding="utf-8")
    with pytest.raises(UserError, match="could not be collected"):
        run_batch(folder, str(homework), tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "alice").exists()


def test_changed_tests_regrade_everyone(tmp_path, solution, capsys):
    homework = tmp_path / HW
    shutil.copytree(manifests.load(HW).folder, homework, ignore=shutil.ignore_patterns("__pycache__"))
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(solution, encoding="utf-8")
    run_batch(folder, str(homework), tmp_path / "out", workers=1)
    test_file = homework / "tests" / "visible" / "test_worked_example.py"
    test_file.write_text(
        test_file.read_text(encoding="utf-8") + "\n# a comment changes the fingerprint\n", encoding="utf-8"
    )
    capsys.readouterr()
    run_batch(folder, str(homework), tmp_path / "out", workers=1)
    assert "1 graded, 0 skipped" in capsys.readouterr().out


def test_a_worker_collects_the_tests_once_and_grades_every_submission_with_them(tmp_path, solution, blank, monkeypatch):
    homework = tmp_path / HW
    shutil.copytree(manifests.load(HW).folder, homework, ignore=shutil.ignore_patterns("__pycache__"))
    test_file = homework / "tests" / "visible" / "test_worked_example.py"
    journal = tmp_path / "imports.txt"
    test_file.write_text(
        test_file.read_text(encoding="utf-8") + "\nwith open(__import__('os').environ['JOURNAL'], 'a') as f:\n"
        "    f.write('imported\\n')\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("JOURNAL", str(journal))
    folder = tmp_path / "class"
    folder.mkdir()
    for number, source in enumerate([solution, blank, solution.replace(*TRANSPOSED), solution, blank]):
        (folder / f"student{number}.py").write_text(source, encoding="utf-8")
    assert run_batch(folder, str(homework), tmp_path / "out", workers=1) == 0
    # Once to check the homework before anyone is graded, once in the one worker: not once per submission.
    assert journal.read_text().split() == ["imported"] * 2
    book = read_gradebook(tmp_path / "out")
    assert [book[f"student{n}"]["total"] for n in (0, 1, 3, 4)] == ["20", "0", "20", "0"]
    assert 0 < float(book["student2"]["total"]) < 20  # the transposed gradient: some tests only


@pytest.fixture
def two_cores():
    """This process (and what it forks) on two cores, so the batch below has the same size on any machine."""
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores to tell pinned workers from free ones")
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(before)[:2])
    yield sorted(before)[:2]
    os.sched_setaffinity(0, before)


@pytest.mark.parametrize("workers", [2, 1])
def test_with_one_worker_per_core_each_worker_and_its_sandboxes_keep_to_its_core(
    tmp_path, solution, monkeypatch, two_cores, workers
):
    journal = tmp_path / "cores.txt"
    grade_one = batch_run._grade_one

    def noting_cores(job, session, started=None):  # in the worker (a fork): where it and the job's sandbox may run
        sandbox = os.sched_getaffinity(started.sandbox._process.pid) if started and started.sandbox else None
        with open(journal, "a") as f:
            f.write(json.dumps([os.getpid(), sorted(os.sched_getaffinity(0)), sorted(sandbox or [])]) + "\n")
        return grade_one(job, session, started)

    monkeypatch.setattr(batch_run, "_grade_one", noting_cores)
    folder = tmp_path / "class"
    folder.mkdir()
    for number in range(3 * workers):
        (folder / f"student{number}.py").write_text(solution, encoding="utf-8")
    assert run_batch(folder, HW, tmp_path / "out", workers=workers) == 0
    noted = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(noted) == 3 * workers
    assert all(sandbox == worker for _, worker, sandbox in noted)  # a sandbox runs where its worker does
    by_worker = {pid: worker for pid, worker, _ in noted}
    if workers == 2:  # one worker per core: each keeps to its own
        assert sorted(core for cores in by_worker.values() for core in cores) == two_cores
    else:  # fewer workers than cores: none is held to one
        assert list(by_worker.values()) == [two_cores]
    assert {row["total"] for row in read_gradebook(tmp_path / "out").values()} == {"20"}


def test_the_default_worker_count_is_the_cores_this_process_may_use(two_cores):
    from grader.batch.workers import usable_cores

    assert usable_cores() == 2
    os.sched_setaffinity(0, two_cores[:1])  # as `taskset -c 0 grader batch ...`, or a container's cpuset
    assert usable_cores() == 1 < os.cpu_count()


def test_student_ids_become_safe_unique_folder_names(tmp_path):
    for hostile in ("../../etc/passwd", "..", ".", "", "/", ".hidden", "a\\b", "x/../y"):
        name = safe_name(hostile)
        assert name and "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
    assert safe_name("a b/c") == "a_b_c" and safe_name("s.1815") == "s.1815"
    assert safe_name("ada@example.org") == "ada@example.org"
    (tmp_path / "alice.py").write_text("", encoding="utf-8")
    (tmp_path / "alice.ipynb").write_text("", encoding="utf-8")
    found = discover(tmp_path)
    assert [e.student for e in found.entries] == ["alice", "alice-2"] and len(found.notes) == 1


def test_gradescope_metadata_reads_ruby_tags_and_falls_back_to_the_email(tmp_path):
    path = tmp_path / "submission_metadata.yml"
    path.write_text(
        "submission_7: !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n"
        "  :submitters:\n"
        "  - :name: Grace Hopper\n"
        "    :email: grace@example.org\n"
        "    :sid:\n",
        encoding="utf-8",
    )
    [person] = read_gradescope_metadata(path)["submission_7"]
    assert (person.id, person.name, person.email) == ("grace@example.org", "Grace Hopper", "grace@example.org")


forked = pytest.mark.skipif(
    __import__("multiprocessing").get_start_method() != "fork",
    reason="the workers see this process's monkeypatches only when they are forked",
)


def grade_failing_on(name: str, how):
    from grader.grading import grade as grading

    real = grading.grade

    def grade(path, assignment, **kwargs):
        if Path(path).stem == name:
            how()
        return real(path, assignment, **kwargs)

    return grade


def crash():
    raise RuntimeError("disk on fire")


@forked
def test_a_grader_crash_on_one_submission_gives_it_a_zero_and_exit_status_1(tmp_path, solution, monkeypatch, capsys):
    from grader.grading import grade as grading

    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("alice", "bob", "carol"):
        (folder / f"{student}.py").write_text(solution, encoding="utf-8")
    monkeypatch.setattr(grading, "grade", grade_failing_on("bob", crash))
    assert run_batch(folder, HW, tmp_path / "out", workers=2) == 1
    book = read_gradebook(tmp_path / "out")
    assert {s: row["total"] for s, row in book.items()} == {"alice": "20", "bob": "0", "carol": "20"}
    bob = json.loads((tmp_path / "out" / "bob" / "result.json").read_text(encoding="utf-8"))
    assert len(bob["tests"]) > 20 and all("disk on fire" in t["message"] for t in bob["tests"])
    assert "bob: the grader failed on this submission (RuntimeError: disk on fire)" in capsys.readouterr().err


@forked
def test_a_worker_process_dying_loses_no_other_submission(tmp_path, solution, monkeypatch, capsys):

    from grader.grading import grade as grading

    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("alice", "bob", "carol", "dave"):
        (folder / f"{student}.py").write_text(solution, encoding="utf-8")
    monkeypatch.setattr(grading, "grade", grade_failing_on("bob", lambda: os._exit(9)))
    assert run_batch(folder, HW, tmp_path / "out", workers=2) == 1
    book = read_gradebook(tmp_path / "out")
    assert {s: row["total"] for s, row in book.items()} == {"alice": "20", "bob": "0", "carol": "20", "dave": "20"}
    assert "grading process died" in book["bob"]["errors"]


@forked
def test_a_failure_of_the_grader_itself_in_a_worker_stops_the_batch_with_a_message(tmp_path, solution, monkeypatch):
    from grader.batch import run as batch_run

    real = batch_run._save

    def save(out, entry, *args, **kwargs):
        if entry.student == "bob":
            raise OSError(28, "No space left on device")
        return real(out, entry, *args, **kwargs)

    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("alice", "bob", "carol"):
        (folder / f"{student}.py").write_text(solution, encoding="utf-8")
    monkeypatch.setattr(batch_run, "_save", save)
    with pytest.raises(UserError, match="grading bob: OSError: .*No space left on device"):
        run_batch(folder, HW, tmp_path / "out", workers=1)


def test_a_student_chosen_name_never_becomes_a_spreadsheet_formula(tmp_path, solution):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "=HYPERLINK(1).py").write_text(solution)
    assert run_batch(classroom, HW, tmp_path / "out", workers=1) == 0
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["student"].startswith("'=") and row["submission"].startswith("'=")


def zipped(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_nobody_is_dropped_a_zip_is_graded_and_what_is_no_submission_is_listed_with_the_reason(
    tmp_path, solution, capsys
):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "alice.zip").write_bytes(zipped({f"alice/{HW}.py": solution}))
    (classroom / "bob.py").write_text(solution)
    (classroom / "grades.xlsx").write_bytes(b"\x50\x4b not a submission")
    assert run_batch(classroom, HW, tmp_path / "out", workers=1) == 0
    book = read_gradebook(tmp_path / "out")
    assert (book["alice"]["total"], book["bob"]["total"]) == ("20", "20")
    assert book["alice"]["submission"] == "alice.zip"
    listed = (tmp_path / "out" / "not_graded.csv").read_text()
    assert listed.startswith("entry,reason\n") and 'grades.xlsx,"neither a .py' in listed
    assert "not graded: grades.xlsx" in capsys.readouterr().err


def test_outputs_are_checked_before_anyone_is_graded(tmp_path, solution, monkeypatch):
    from grader.grading import grade as grading

    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "alice.py").write_text(solution)
    (tmp_path / "taken").write_text("a file where the results would go")
    monkeypatch.setattr(grading, "grade", lambda *a, **k: pytest.fail("graded before the output was checked"))
    with pytest.raises(UserError, match="is a file"):
        run_batch(classroom, HW, tmp_path / "taken", workers=1)
    assert main(["batch", str(classroom), "--assignment", HW, "--out", str(tmp_path / "taken")]) == 2


def test_grading_a_path_that_does_not_exist_is_a_usage_error_not_a_zero(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "alcie.py"), "--assignment", HW, "--json", str(tmp_path / "r.json")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "r.json").exists()


def test_only_regrades_the_named_students_and_force_regrades_everyone(tmp_path, solution, capsys):
    classroom = tmp_path / "class"
    classroom.mkdir()
    for student in ("alice", "bob", "carol"):
        (classroom / f"{student}.py").write_text(solution)
    out = tmp_path / "out"
    run_batch(classroom, HW, out, workers=1)
    before = mtimes(out)
    capsys.readouterr()
    run_batch(classroom, HW, out, workers=1, only=("bob",))
    assert "1 graded, 2 skipped" in capsys.readouterr().out
    after = mtimes(out)
    assert after["bob"] != before["bob"] and after["alice"] == before["alice"]
    run_batch(classroom, HW, out, workers=1, force=True)
    assert "3 graded, 0 skipped" in capsys.readouterr().out
    with pytest.raises(UserError, match="--only zoe: no submission"):
        run_batch(classroom, HW, out, workers=1, only=("zoe",))


def test_the_reports_to_hand_back_show_a_hidden_tests_verdict_and_points_only(tmp_path, solution):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "carol.py").write_text(solution.replace(*TRANSPOSED))
    run_batch(classroom, HW, tmp_path / "out", workers=1)
    result = json.loads((tmp_path / "out" / "carol" / "result.json").read_text())
    hidden_failures = [t for t in result["tests"] if t["visibility"] == "hidden" and t["status"] != "passed"]
    assert hidden_failures and all(t["message"] for t in hidden_failures)
    ta_page = (tmp_path / "out" / "carol" / "report.html").read_text()
    student_page = (tmp_path / "out" / "release" / "carol.html").read_text()
    for test in hidden_failures:
        fragment = test["message"].split(":", 1)[1].strip()[:40]
        assert fragment in ta_page.replace("&#39;", "'") and fragment not in student_page.replace("&#39;", "'")
    assert "random_networks::layer_gradients" in student_page  # the hidden test's name and verdict stay


LATE_POLICY = """
[deadline]
due = 2026-10-02T23:59:00-04:00
grace_minutes = 15
penalty_per_day = 0.10
max_penalty = 0.30
"""


def test_the_late_policy_takes_its_penalty_beside_the_raw_score_and_says_what_it_applied(tmp_path, solution):
    homework = tmp_path / HW
    shutil.copytree(manifests.load(HW).folder, homework, ignore=shutil.ignore_patterns("__pycache__"))
    (homework / "manifest.toml").write_text((homework / "manifest.toml").read_text() + LATE_POLICY)
    classroom = tmp_path / "class"
    classroom.mkdir()
    for student in ("alice", "bob", "carol", "dave"):
        (classroom / f"{student}.py").write_text(solution)
    (tmp_path / "times.csv").write_text(
        "student,submitted_at\n"
        "alice,2026-10-03T00:10:00-04:00\n"  # 11 minutes late: within the grace
        "bob,2026-10-03T10:00:00-04:00\n"  # 10 hours late: one started day, 10 %
        "carol,2026-10-06T02:00:00-04:00\n"  # 3 days and 2 hours: 40 %, capped at 30 %
        "dave,2026-10-06T02:00:00-04:00\n"  # as late as carol, but extended
    )
    (tmp_path / "extensions.csv").write_text("student,due\ndave,2026-10-07T00:00:00-04:00\n")
    out = tmp_path / "out"
    assert (
        run_batch(
            classroom,
            str(homework),
            out,
            workers=1,
            times=tmp_path / "times.csv",
            extensions=tmp_path / "extensions.csv",
        )
        == 0
    )
    book = read_gradebook(out)
    assert {s: (row["total"], row["penalty"], row["final"]) for s, row in book.items()} == {
        "alice": ("20", "0.0", "20"),
        "bob": ("20", "0.1", "18"),
        "carol": ("20", "0.3", "14"),
        "dave": ("20", "0.0", "20"),
    }
    assert book["bob"]["late_hours"] == "10.02" and book["bob"]["submitted_at"] == "2026-10-03 10:00:00-04:00"
    page = (out / "release" / "bob.html").read_text()
    assert "−10%" in page and "18 / 20" in page and "10% per started day" in page
    extended = (out / "release" / "dave.html").read_text()
    assert "due 2026-10-07 00:00-04:00" in extended and "extended on time" in extended


def test_a_gradescope_export_gives_each_submissions_time(tmp_path):
    import datetime

    from grader.batch.discover import read_gradescope_times

    path = tmp_path / "submission_metadata.yml"
    path.write_text(
        "submission_7:\n  :created_at: 2026-10-03 01:00:00.123456000 -04:00\n  :submitters:\n  - :name: Ada\n"
    )
    four_hours_west = datetime.timezone(datetime.timedelta(hours=-4))
    assert read_gradescope_times(path) == {
        "submission_7": datetime.datetime(2026, 10, 3, 1, 0, 0, 123456, tzinfo=four_hours_west)
    }


def test_exports_for_an_lms_come_from_the_gradebook(tmp_path, solution, blank):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "alice.py").write_text(solution)
    (classroom / "=bob.py").write_text(blank)
    out = tmp_path / "out"
    run_batch(classroom, HW, out, workers=1)
    assert main(["export", str(out), "--assignment", HW, "--format", "scores"]) == 0
    assert (out / "export-scores.csv").read_text() == "id,score\n'=bob,0\nalice,20\n"
    assert main(["export", str(out), "--assignment", HW, "--format", "canvas", "--to", str(tmp_path / "c.csv")]) == 0
    canvas = list(csv.DictReader(open(tmp_path / "c.csv", newline="")))
    column = f"{manifests.load(HW).title} ({HW})"
    assert canvas[0]["Student"] == "Points Possible" and canvas[0][column] == "20"
    assert {row["SIS User ID"]: row[column] for row in canvas[1:]} == {"'=bob": "0", "alice": "20"}
    assert main(["export", str(out), "--assignment", HW, "--format", "functions"]) == 0
    header = (out / "export-functions.csv").read_text().splitlines()[0].split(",")
    assert header == ["student", "name", "email", *manifests.load(HW).functions, "total"]


def test_a_ta_reads_a_notebook_submission_itself_each_function_linked_to_its_cell(graded):
    folder, out, _ = graded
    page = (out / "erin" / "notebook.html").read_text()
    assert 'id="cell-id=cell-1"' in page and "forward_pass" in page
    report = (out / "erin" / "report.html").read_text()
    assert 'href="notebook.html#cell-id=cell-1"' in report
    assert not (out / "alice" / "notebook.html").exists()  # a .py submission has no notebook to show
    assert "notebook.html" not in (out / "release" / "erin.html").read_text()  # the student has their own


def test_a_notebooks_saved_outputs_and_scripts_never_reach_the_tas_page(tmp_path, solution):
    classroom = tmp_path / "class"
    classroom.mkdir()
    nb = json.loads(notebook(solution))
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "<script>steal()</script>"})
    nb["cells"][1]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<img src=x onerror=steal()>"}}
    ]
    (classroom / "mallory.ipynb").write_text(json.dumps(nb))
    run_batch(classroom, HW, tmp_path / "out", workers=1)
    page = (tmp_path / "out" / "mallory" / "notebook.html").read_text()
    assert "<script>steal" not in page and "onerror" not in page and 'id="cell-id=cell-2"' in page


def test_the_course_gradebook_gathers_every_homeworks_batch(tmp_path, solution, blank, capsys):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "alice.py").write_text(solution)
    (classroom / "bob.py").write_text(blank)
    run_batch(classroom, HW, tmp_path / "hw1", workers=1)
    db = tmp_path / "course.sqlite"
    assert main(["gradebook", "add", str(tmp_path / "hw1"), "--assignment", HW, "--db", str(db)]) == 0
    # The same homework again replaces its rows; a second homework adds a column.
    assert main(["gradebook", "add", str(tmp_path / "hw1"), "--assignment", HW, "--db", str(db)]) == 0
    assert main(["gradebook", "add", str(tmp_path / "hw1"), "--assignment", "hw1_again", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["gradebook", "show", "--db", str(db)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["student"], r[HW], r["hw1_again"], r["total"]) for r in table] == [
        ("alice", "20", "20", "40"),
        ("bob", "0", "0", "0"),
    ]
    assert main(["gradebook", "show", "--db", str(db), "--format", "scores", "--to", str(tmp_path / "s.csv")]) == 0
    assert (tmp_path / "s.csv").read_text() == "id,score\nalice,40\nbob,0\n"
