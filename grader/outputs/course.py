"""The course gradebook: every homework's batch results in one table, per student and homework.

    grader gradebook add <batch out folder> --assignment <hw> [--db FILE|URL]
    grader gradebook show [--db FILE|URL] [--to FILE] [--format wide|scores]

The table lives in a database: a SQLite file in the course folder (``course.sqlite`` by default), or
a server several TAs share, named by a SQLAlchemy URL (``postgresql+psycopg://ta@host/course``),
given as ``--db`` or, to keep passwords off command lines, in ``$NN_GRADER_GRADEBOOK_DB``. It holds
one row per student and homework: ``student, name, email, assignment, score, max_score, final``
(the score after any late penalty) and when it was added. Adding a homework's batch again replaces
that homework's rows at once, so the table always holds each homework's latest batch, however many
TAs add at the same moment. ``show`` writes the wide table (a column per homework and the total) or
``id,score`` totals, both as CSV, text students chose guarded against spreadsheet formulas as in
every gradebook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from grader.errors import UserError
from grader.outputs import formatting

DATABASE_VARIABLE = "NN_GRADER_GRADEBOOK_DB"
DEFAULT_DATABASE = "course.sqlite"
SQLITE_WAIT_SECONDS = 60  # how long an add waits for another TA's to finish before giving up
ADVISORY_LOCK = 0x6E6E5F6772616465  # PostgreSQL's lock key for the gradebook ("nn_grade"); any fixed number would do
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL"}

SCORES = sa.Table(
    "scores",
    sa.MetaData(),
    sa.Column("student", sa.String(255), primary_key=True),  # keys get a length: some servers (MySQL) need one
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("assignment", sa.String(255), primary_key=True),
    sa.Column("score", sa.Double, nullable=False),
    sa.Column("max_score", sa.Double, nullable=False),
    sa.Column("final", sa.Double, nullable=False),
    sa.Column("added_at", sa.Text, nullable=False),  # ISO 8601, UTC
)


def database(given: str | None = None) -> sa.URL:
    """The gradebook's URL: ``given`` (``--db``), else ``$NN_GRADER_GRADEBOOK_DB``, else ``course.sqlite``.

    A path with no ``://`` in it is a SQLite file, so SQLite and a server take the same code path.
    """
    name = given or os.environ.get(DATABASE_VARIABLE) or DEFAULT_DATABASE
    if "://" not in name:
        return sa.URL.create("sqlite", database=name)
    try:
        return sa.make_url(name)
    except (ArgumentError, ValueError):
        hidden = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", name)  # unparsed, SQLAlchemy cannot hide the password
        raise UserError(
            f"{hidden} is not a database URL: write a SQLite file's path, sqlite:///FILE or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
        ) from None


def shown(url: sa.URL) -> str:
    """How messages name the gradebook: a SQLite file by its path, any other by its URL without the password."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return url.database
    return url.render_as_string(hide_password=True)


def add(url: sa.URL, gradebook: Path, assignment: str) -> int:
    """Put the rows of a batch's ``gradebook.csv`` into the gradebook for ``assignment``; returns how many."""
    import pandas as pd

    try:
        book = pd.read_csv(gradebook, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as error:
        raise UserError(f"{gradebook} cannot be read as a gradebook ({error}): run grader batch first") from None
    if not {"student", "name", "email", "total", "max"} <= set(book.columns):
        raise UserError(f"{gradebook} is not a grader batch gradebook (it lacks student, total or max)")
    final = book["final"] if "final" in book.columns else book["total"]
    added = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [  # in the order of SCORES's columns
        (r.student, r.name, r.email, assignment, float(r.total), float(r.max), float(f), added)
        for r, f in zip(book.itertuples(), final)
    ]
    with _transaction(url) as connection:  # one transaction: the homework's old rows go as the new come
        _take_turns(connection)
        SCORES.create(connection, checkfirst=True)
        connection.execute(sa.delete(SCORES).where(SCORES.c.assignment == assignment))
        if rows:
            connection.execute(sa.insert(SCORES), [dict(zip(SCORES.columns.keys(), row)) for row in rows])
    return len(rows)


def show(url: sa.URL, kind: str = "wide") -> str:
    """The course table as CSV: ``wide`` (a column per homework, the total) or ``scores`` (``id,score`` totals)."""
    import pandas as pd

    columns = ("student", "name", "email", "assignment", "final")
    with _transaction(url) as connection:
        found = sa.inspect(connection).has_table(SCORES.name)
        rows = connection.execute(sa.select(*(SCORES.c[c] for c in columns))).all() if found else []
    if not rows:
        raise UserError(f"{shown(url)} holds no results yet: add a batch with grader gradebook add")
    frame = pd.DataFrame(rows, columns=columns)
    wide = frame.pivot_table(index=["student", "name", "email"], columns="assignment", values="final", aggfunc="first")
    wide["total"] = wide.sum(axis=1)
    wide = wide.reset_index()
    if kind == "scores":
        return pd.DataFrame({"id": wide["student"], "score": wide["total"].map(formatting.points)}).to_csv(index=False)
    if kind != "wide":
        raise UserError(f"unknown format {kind!r}: choose wide or scores")
    numbers = [column for column in wide.columns if column not in ("student", "name", "email")]
    wide[numbers] = wide[numbers].apply(lambda column: column.map(lambda v: "" if pd.isna(v) else formatting.points(v)))
    return wide.to_csv(index=False)


@contextmanager
def _transaction(url: sa.URL) -> Iterator[sa.Connection]:
    """One transaction on the gradebook, committed if the block ends well; the database's errors become messages."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    except SQLAlchemyError as error:  # an unreachable server, a wrong password, a locked or unreadable file...
        words = " ".join(str(getattr(error, "orig", None) or error).split())
        if url.password:
            words = words.replace(str(url.password), "***")
        raise UserError(f"{shown(url)} cannot be used as the course gradebook ({words})") from None
    finally:
        engine.dispose()


def _engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url`` that keeps no connection open after use; a missing driver is named with its package."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = sa.create_engine(url, poolclass=sa.NullPool, connect_args={"timeout": SQLITE_WAIT_SECONDS})
            sa.event.listen(engine, "connect", _leave_transactions_to_sqlalchemy)
            sa.event.listen(engine, "begin", _begin_immediate)
            return engine
        if url.get_backend_name() == "postgresql":
            return sa.create_engine(url, poolclass=sa.NullPool)
        return sa.create_engine(url, poolclass=sa.NullPool, isolation_level="SERIALIZABLE")  # see _take_turns
    except NoSuchModuleError:
        raise UserError(
            f"{shown(url)}: unknown kind of database {url.drivername!r}: write a SQLite file's path, "
            "sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
        ) from None
    except ImportError:
        package = DRIVER_PACKAGES.get(url.get_driver_name(), url.get_driver_name())
        raise UserError(
            f"{shown(url)} needs the Python package {package}, not installed: pip install '{package}'"
        ) from None


def _take_turns(connection: sa.Connection) -> None:
    """Make TAs adding at the same moment take turns, so none loses, duplicates or clashes on a row.

    Under PostgreSQL's default isolation, READ COMMITTED, two transactions replacing one homework
    would each delete the rows committed when it started, then both insert the same keys: the second
    fails on the primary key. A transaction-scoped advisory lock makes the second wait until the
    first commits, and then it sees the first's rows; it also guards creating the table, which
    CREATE TABLE IF NOT EXISTS does not make safe between two sessions. SQLite needs nothing here:
    each of its transactions begins with BEGIN IMMEDIATE (:func:`_begin_immediate`), which takes the
    file's write lock before the first read. Other servers run SERIALIZABLE (:func:`_engine`): one of
    two clashing adds fails with the server's message and can be run again.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


def _leave_transactions_to_sqlalchemy(dbapi_connection, _record) -> None:
    # Python's sqlite3 would begin its own (deferred) transactions; SQLAlchemy's recipe turns that off.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: sa.Connection) -> None:
    # A deferred BEGIN lets two writers both read, then one fails to upgrade its lock; IMMEDIATE waits instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
