"""`grader demo`, the README's first command: a homework's whole life in one run."""

import subprocess
import sys


def test_the_demo_builds_grades_the_samples_and_says_where_the_reports_are(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DIFFERS" not in run.stdout
    for sample in ("correct.py", "partly_wrong.py", "broken_syntax.py", "malicious.py", "notebook_with_errors.ipynb"):
        assert sample in run.stdout
    graded = tmp_path / "graded"
    assert (graded / "summary.html").is_file() and (graded / "gradebook.csv").is_file()
    assert (graded / "malicious" / "report.html").is_file()
    assert (tmp_path / "dist" / "hw1_backprop" / "student" / "check_hw1_backprop.py").is_file()
    assert (tmp_path / "dist" / "hw1_backprop" / "autograder.zip").is_file()
