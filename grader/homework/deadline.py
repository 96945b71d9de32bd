"""A homework's late policy, as its manifest states it (``[deadline]``)::

    [deadline]
    due = 2026-10-02T23:59:00-04:00   # a TOML date-time with its time zone
    grace_minutes = 15                # late by less than this counts as on time
    penalty_per_day = 0.10            # the fraction of the score taken per started day late
    # penalty_per_hour = 0.01         # ... or per started hour (give one of the two)
    max_penalty = 0.5                 # never more than this

The batch applies it (grader/batch/lateness.py); the raw score is never changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from grader.errors import UserError


@dataclass(frozen=True)
class LatePolicy:
    due: datetime
    grace: timedelta = timedelta(0)
    per_day: float = 0.0
    per_hour: float = 0.0
    cap: float = 1.0

    def describe(self) -> str:
        rate = f"{self.per_day:.0%} per started day" if self.per_day else f"{self.per_hour:.0%} per started hour"
        grace = f", after {self.grace.total_seconds() / 60:g} minutes' grace" if self.grace else ""
        return f"due {self.due.isoformat(' ', 'minutes')}{grace}; {rate} late, at most {self.cap:.0%}"

    def penalty(self, submitted: datetime, due: datetime | None = None) -> tuple[float, float]:
        """(hours late, the fraction of the score taken) for a submission at ``submitted``."""
        due = due or self.due
        late = submitted - due
        if late <= self.grace:
            return 0.0, 0.0
        hours = late.total_seconds() / 3600
        started = math.ceil(hours / 24) * self.per_day if self.per_day else math.ceil(hours) * self.per_hour
        return hours, min(self.cap, started)


def read_policy(table: dict, path: Path) -> LatePolicy:
    """The ``[deadline]`` table of the manifest at ``path`` as a :class:`LatePolicy`."""
    known = {"due", "grace_minutes", "penalty_per_day", "penalty_per_hour", "max_penalty"}
    if set(table) - known:
        raise UserError(f"{path}: unknown [deadline] keys {sorted(set(table) - known)}; known: {sorted(known)}")
    if "due" not in table:
        raise UserError(f"{path}: [deadline] needs due = <date-time with time zone>, e.g. 2026-10-02T23:59:00-04:00")
    numbers = {key: table.get(key, 0.0) for key in known - {"due"}}
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in numbers.values()):
        raise UserError(f"{path}: [deadline] grace_minutes, penalties and max_penalty must be numbers ≥ 0")
    if bool(numbers["penalty_per_day"]) == bool(numbers["penalty_per_hour"]):
        raise UserError(f"{path}: [deadline] gives penalty_per_day or penalty_per_hour (one of the two)")
    return LatePolicy(
        due=aware(table["due"], f"{path}: [deadline] due"),
        grace=timedelta(minutes=numbers["grace_minutes"]),
        per_day=float(numbers["penalty_per_day"]),
        per_hour=float(numbers["penalty_per_hour"]),
        cap=float(table.get("max_penalty", 1.0)),
    )


def aware(value, where: str) -> datetime:
    """A time with its time zone, from an ISO 8601 text or a datetime; a time without one is refused."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(f"{where}: {value!r} is not a time (write 2026-10-02T23:59:00-04:00)") from None
    if moment.tzinfo is None:
        raise UserError(f"{where}: {value!r} has no time zone: write it with one, e.g. 2026-10-02T23:59:00-04:00")
    return moment
