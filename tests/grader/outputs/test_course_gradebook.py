"""The course gradebook: a SQLite file or a server TAs share, the same commands, several TAs adding at once.

Every command runs as a TA runs it, ``python -m grader.cli gradebook ...`` in a process of its own.
The PostgreSQL tests start a throwaway cluster on a unix socket in a temporary folder; without the
server's programs (initdb, pg_ctl) or the driver (psycopg) they are skipped.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.outputs import course
from grader.paths import PROJECT_ROOT

PASSWORD = "s3cret-pw"
# The grader command, held at a gate until every TA's process is ready, so their adds meet.
GATED = """
import pathlib, sys, time
import pandas, grader.outputs.course
from grader.cli import main
pathlib.Path(sys.argv[1] + ".ready").touch()
while not pathlib.Path(sys.argv[1]).exists():
    time.sleep(0.002)
sys.exit(main(sys.argv[2:]))
"""


def write_batch(folder: Path, scores: dict[str, float]) -> Path:
    """A batch output folder whose ``gradebook.csv`` gives each student ``scores[student]`` out of 20."""
    folder.mkdir(parents=True)
    with open(folder / "gradebook.csv", "w", newline="", encoding="utf-8") as handle:
        book = csv.writer(handle)
        book.writerow(["student", "name", "email", "t1", "total", "max"])
        book.writerows(
            [student, student.title(), f"{student}@uni.edu", score, score, 20] for student, score in scores.items()
        )
    return folder


def environment(gradebook_variable: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != course.DATABASE_VARIABLE}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if gradebook_variable is not None:
        env[course.DATABASE_VARIABLE] = gradebook_variable
    return env


def grader(*args: str, cwd: Path, variable: str | None = None) -> subprocess.CompletedProcess:
    """``grader`` as a TA runs it, in ``cwd``, with ``$NN_GRADER_GRADEBOOK_DB`` set to ``variable`` (or unset)."""
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment(variable),
    )


def show(database: str, cwd: Path) -> dict[str, dict[str, str]]:
    """The course table, a row per student."""
    done = grader("gradebook", "show", "--db", database, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return {row["student"]: row for row in csv.DictReader(io.StringIO(done.stdout))}


def rows_per_homework(database: str) -> dict[str, int]:
    """How many rows each homework has in the database itself: duplicates would show here."""
    engine = sa.create_engine(course.database(database))
    with engine.connect() as connection:
        counted = connection.execute(sa.select(course.SCORES.c.assignment, sa.func.count()).group_by("assignment"))
        found = dict(counted.all())
    engine.dispose()
    return found


def failed_with(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one-line message of a command that failed on bad input (status 2, no traceback)."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr
    return done.stderr


@pytest.fixture(scope="session")
def postgres_sockets():
    """A throwaway PostgreSQL cluster listening only on a unix socket; yields the socket's folder, then stops it.

    Its superuser ``grader`` logs in without a password; the role ``ta`` needs one (PASSWORD).
    """
    pytest.importorskip("psycopg", reason="the PostgreSQL tests need its driver: pip install 'psycopg[binary]'")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("the PostgreSQL tests need the server's programs initdb and pg_ctl on PATH")
    as_server = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []  # the server refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    if as_server:
        os.chown(root, pwd.getpwnam("nobody").pw_uid, -1)
    data, sockets = root / "data", root / "sockets"
    try:
        quiet = {"check": True, "capture_output": True, "timeout": 120}
        subprocess.run(
            [*as_server, initdb, "-D", data, "-U", "grader", "--auth=trust", "--no-locale", "-E", "UTF8"], **quiet
        )
        hba = data / "pg_hba.conf"
        hba.write_text("local all ta scram-sha-256\n" + hba.read_text())
        subprocess.run([*as_server, "mkdir", sockets], **quiet)
        options = f"-k {sockets} -c listen_addresses=''"
        subprocess.run(
            [*as_server, pg_ctl, "-D", data, "-l", root / "server.log", "-w", "-o", options, "start"], **quiet
        )
        import psycopg

        with psycopg.connect(host=str(sockets), user="grader", dbname="postgres", autocommit=True) as admin:
            admin.execute(f"CREATE ROLE ta LOGIN PASSWORD '{PASSWORD}'")
        yield sockets
    finally:
        subprocess.run(
            [*as_server, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_sockets) -> str:
    """The URL of a new, empty database on the throwaway cluster."""
    import psycopg

    name = f"gradebook_{uuid.uuid4().hex}"
    with psycopg.connect(host=str(postgres_sockets), user="grader", dbname="postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://grader@/{name}?host={postgres_sockets}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """What a TA gives ``--db``: a SQLite file's path, or a PostgreSQL server's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "course.sqlite")
    return request.getfixturevalue("postgres_database")


def test_adding_a_homework_again_replaces_its_rows_and_show_totals_each_student(database, tmp_path):
    write_batch(tmp_path / "hw1-first", {"alice": 20, "bob": 5})
    write_batch(tmp_path / "hw1-again", {"alice": 18, "carol": 10})  # bob's submission withdrawn, carol's late
    write_batch(tmp_path / "hw2", {"alice": 10, "bob": 7.5})
    for batch, homework in (("hw1-first", "hw1"), ("hw1-again", "hw1"), ("hw2", "hw2")):
        done = grader(
            "gradebook", "add", str(tmp_path / batch), "--assignment", homework, "--db", database, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith(f": {homework}: 2 students\n")
    table = show(database, tmp_path)
    assert [(r["student"], r["name"], r["hw1"], r["hw2"], r["total"]) for r in table.values()] == [
        ("alice", "Alice", "18", "10", "28"),
        ("bob", "Bob", "", "7.5", "7.5"),
        ("carol", "Carol", "10", "", "10"),
    ]
    scores = tmp_path / "scores.csv"
    done = grader("gradebook", "show", "--db", database, "--format", "scores", "--to", str(scores), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores.read_text() == "id,score\nalice,28\nbob,7.5\ncarol,10\n"


def test_tas_adding_at_the_same_moment_lose_duplicate_and_clash_on_nothing(database, tmp_path):
    # Five TAs replace one homework, each with a batch of its own (TA k: k + 2 students, each scoring k);
    # five others add a homework each.
    same = {k: write_batch(tmp_path / f"same-{k}", {f"s{i}": k for i in range(k + 2)}) for k in range(5)}
    other = {f"hw{k}": write_batch(tmp_path / f"hw{k}", {f"s{i}": i for i in range(6)}) for k in range(5)}
    adds = [(folder, "same") for folder in same.values()] + [(folder, hw) for hw, folder in other.items()]
    gate = tmp_path / "gate"
    tas = [
        subprocess.Popen(
            [sys.executable, "-c", GATED, f"{gate}-{n}", "gradebook", "add", str(folder), "-a", hw, "--db", database],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=environment(),
        )
        for n, (folder, hw) in enumerate(adds)
    ]
    deadline = time.monotonic() + 120
    while not all(Path(f"{gate}-{n}.ready").exists() for n in range(len(tas))) and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(len(tas)):
        Path(f"{gate}-{n}").touch()
    for ta in tas:
        _, errors = ta.communicate(timeout=120)
        assert ta.returncode == 0, errors

    table = show(database, tmp_path)
    winner = int(table["s0"]["same"])  # the last TA to replace the homework: all its rows, no one else's
    assert {student for student, row in table.items() if row["same"]} == {f"s{i}" for i in range(winner + 2)}
    assert {row["same"] for row in table.values() if row["same"]} == {str(winner)}
    for hw in other:
        assert [row[hw] for row in table.values()] == [str(i) for i in range(6)]
    assert rows_per_homework(database) == {"same": winner + 2} | {hw: 6 for hw in other}


def test_a_file_path_and_a_sqlite_url_name_the_same_gradebook(tmp_path):
    path = tmp_path / "course.sqlite"
    write_batch(tmp_path / "hw1", {"alice": 20})
    write_batch(tmp_path / "hw2", {"alice": 15})
    assert (
        grader("gradebook", "add", str(tmp_path / "hw1"), "-a", "hw1", "--db", str(path), cwd=tmp_path).returncode == 0
    )
    url = f"sqlite:///{path}"
    done = grader("gradebook", "add", str(tmp_path / "hw2"), "-a", "hw2", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{path}: hw2: 1 students\n"
    assert show(url, tmp_path)["alice"]["total"] == show(str(path), tmp_path)["alice"]["total"] == "35"


def test_the_gradebook_is_course_sqlite_unless_the_variable_or_db_names_another(tmp_path):
    write_batch(tmp_path / "hw1", {"alice": 20})
    add = ("gradebook", "add", str(tmp_path / "hw1"), "-a", "hw1")
    assert grader(*add, cwd=tmp_path).stdout == "course.sqlite: hw1: 1 students\n"
    assert (tmp_path / "course.sqlite").is_file()

    shared = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    assert grader(*add, cwd=tmp_path, variable=shared).returncode == 0
    assert (tmp_path / "shared.sqlite").is_file()
    assert grader("gradebook", "show", cwd=tmp_path, variable=shared).stdout.startswith("student,name,email,hw1,total")

    mine = str(tmp_path / "mine.sqlite")  # --db wins over the variable
    assert grader(*add, "--db", mine, cwd=tmp_path, variable=f"sqlite:///{tmp_path / 'unused.sqlite'}").returncode == 0
    assert Path(mine).is_file() and not (tmp_path / "unused.sqlite").exists()


def test_a_gradebook_with_no_results_or_that_is_no_database_is_a_message(tmp_path):
    failed_with(grader("gradebook", "show", cwd=tmp_path), "course.sqlite holds no results yet: add a batch")
    write_batch(tmp_path / "hw1", {"alice": 20})
    done = grader("gradebook", "add", str(tmp_path / "hw1"), "-a", "hw1", "--db", str(tmp_path), cwd=tmp_path)
    failed_with(done, f"{tmp_path} cannot be used as the course gradebook (unable to open database file)")


@pytest.mark.parametrize(
    "url, message",
    [
        (f"postgresql://ta:{PASSWORD}@db.example:port/course", "is not a database URL: write a SQLite file's path"),
        (f"nosuchdb://ta:{PASSWORD}@db.example/course", "unknown kind of database 'nosuchdb'"),
    ],
    ids=["malformed", "unknown-kind"],
)
@pytest.mark.parametrize("given_as", ["--db", "variable"])
def test_a_url_that_cannot_work_is_a_message_without_the_password(tmp_path, url, message, given_as):
    arguments, variable = (["--db", url], None) if given_as == "--db" else ([], url)
    printed = failed_with(grader("gradebook", "show", *arguments, cwd=tmp_path, variable=variable), "ta:***@", message)
    assert PASSWORD not in printed


def test_an_unreachable_server_is_a_message_without_the_password(tmp_path):
    pytest.importorskip("psycopg", reason="without the driver the message is the missing driver's")
    url = f"postgresql+psycopg://ta:{PASSWORD}@127.0.0.1:1/course"  # nothing listens on port 1
    printed = failed_with(
        grader("gradebook", "show", cwd=tmp_path, variable=url),
        "postgresql+psycopg://ta:***@127.0.0.1:1/course cannot be used as the course gradebook",
        "Connection refused",
    )
    assert PASSWORD not in printed


def test_a_missing_driver_names_the_package_to_install(tmp_path):
    if importlib.util.find_spec("psycopg2") is not None:
        pytest.skip("psycopg2 is installed here")
    url = f"postgresql+psycopg2://ta:{PASSWORD}@db.example/course"
    printed = failed_with(
        grader("gradebook", "show", "--db", url, cwd=tmp_path),
        "postgresql+psycopg2://ta:***@db.example/course needs the Python package psycopg2-binary",
        "pip install 'psycopg2-binary'",
    )
    assert PASSWORD not in printed


def test_a_wrong_password_is_a_message_without_the_password(tmp_path, postgres_sockets):
    url = f"postgresql+psycopg://ta:wrong-{PASSWORD}@/postgres?host={postgres_sockets}"
    printed = failed_with(
        grader("gradebook", "show", cwd=tmp_path, variable=url),
        "postgresql+psycopg://ta:***@/postgres",
        'password authentication failed for user "ta"',
    )
    assert PASSWORD not in printed
