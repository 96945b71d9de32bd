"""Grade a class: every submission in a folder, in parallel, into a gradebook and one report per student.

Stages: ``discover`` (the submissions) → ``fingerprint`` (what to regrade) → ``run`` (the pool).

    grader batch <folder> --assignment <hw> --out <dir> [--workers N]

``<folder>`` holds one ``.py``/``.ipynb`` file or one sub-folder per student
(the student id is the file's stem or the folder's name), or it is a
Gradescope "export submissions" folder: ``submission_metadata.yml`` at its
top, one ``submission_<id>/`` folder per submission, and the submitters'
names, emails and student ids in the metadata (the id is the first
submitter's sid, else their email).

Written, each file atomically:

- ``<dir>/<student>/report.html`` then ``<dir>/<student>/result.json``, as
  each submission finishes, so a killed batch keeps what it had done. The
  JSON is the ``grader grade --json`` result plus a ``fingerprint``;
- ``<dir>/gradebook.csv``: one row per student (per submitter, for group
  submissions): ``student, name, email, submission``, one column per test
  (its points), one per student function (its points), ``total``, ``max``,
  ``errors``;
- ``<dir>/summary.html``: the class view.

Re-running the same command reuses every result whose fingerprint is
unchanged: the submission's bytes, the homework id, and the homework's
manifest, tests and the reference engine the expected values come from. A
changed submission or changed tests regrade; nothing else does.

The homework itself is checked once before anyone is graded (a bad manifest
or tests that do not collect stop the batch with a message); after that one
broken submission never stops it: whatever happens, it gets a result.
"""

from grader.batch.discover import discover, read_gradescope_metadata, safe_name
from grader.batch.run import run_batch

__all__ = ["discover", "read_gradescope_metadata", "run_batch", "safe_name"]
