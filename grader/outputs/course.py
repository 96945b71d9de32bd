"""The course gradebook: every homework's batch results in one table, per student and homework.

    grader gradebook add <batch out folder> --assignment <hw> [--db course.sqlite]
    grader gradebook show [--db course.sqlite] [--to FILE] [--format wide|scores]

A SQLite database (the standard library's; a file in the course folder, ``course.sqlite`` by
default) holds one row per student and homework: ``student, name, email, assignment, score,
max_score, final`` (the score after any late penalty) and when it was added. Adding a homework's
batch again replaces that homework's rows, so the table always holds each homework's latest batch.
``show`` writes the wide table (a column per homework and the total) or ``id,score`` totals, both
as CSV, text students chose guarded against spreadsheet formulas as in every gradebook.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from grader.errors import UserError
from grader.outputs import formatting

DEFAULT_DATABASE = Path("course.sqlite")
SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    student TEXT NOT NULL, name TEXT, email TEXT, assignment TEXT NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, final REAL NOT NULL, added_at TEXT NOT NULL,
    PRIMARY KEY (student, assignment)
)
"""


def add(database: Path, gradebook: Path, assignment: str) -> int:
    """Put the rows of a batch's ``gradebook.csv`` into ``database`` for ``assignment``; returns how many."""
    import pandas as pd

    try:
        book = pd.read_csv(gradebook, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as error:
        raise UserError(f"{gradebook} cannot be read as a gradebook ({error}): run grader batch first") from None
    if not {"student", "name", "email", "total", "max"} <= set(book.columns):
        raise UserError(f"{gradebook} is not a grader batch gradebook (it lacks student, total or max)")
    final = book["final"] if "final" in book.columns else book["total"]
    added = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [
        (r.student, r.name, r.email, assignment, float(r.total), float(r.max), float(f), added)
        for r, f in zip(book.itertuples(), final)
    ]
    with closing(_connect(database)) as db, db:  # one transaction: the homework's old rows go as the new come
        db.execute("DELETE FROM scores WHERE assignment = ?", (assignment,))
        db.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def show(database: Path, kind: str = "wide") -> str:
    """The course table as CSV: ``wide`` (a column per homework, the total) or ``scores`` (``id,score`` totals)."""
    import pandas as pd

    with closing(_connect(database)) as db:
        frame = pd.read_sql_query("SELECT student, name, email, assignment, final FROM scores", db)
    if frame.empty:
        raise UserError(f"{database} holds no results yet: add a batch with grader gradebook add")
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


def _connect(database: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(database)
        db.execute(SCHEMA)
    except sqlite3.Error as error:
        raise UserError(f"{database} cannot be used as the course gradebook ({error})") from None
    return db
