"""``grader demo``: the whole life of a homework in one command, on hw1.

1. build hw1's handouts, the students' checker and the sample submissions;
2. batch-grade the samples (correct, partly wrong, broken, malicious, a
   notebook with errors) as a TA would grade a class;
3. print each sample's score beside the one ``samples.toml`` promises, and
   where the gradebook and the reports are.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.authoring.build import build_homework
from grader.batch.run import run_batch
from grader.homework import manifest as manifests
from grader.homework import samples

HW = "hw1_backprop"


def run_demo(out: Path) -> int:
    out = Path(out).resolve()
    manifest = manifests.load(HW)
    print(f"1. building {manifest.id} ({manifest.title}) into {out / 'dist'}")
    written = build_homework(manifest, out / "dist")
    samples_folder = written["samples"]
    print(f"   student handout  {written['student_module'].parent}")
    print(f"   solution         {written['solution_module'].parent}")
    print(f"   samples          {samples_folder}\n")

    graded = out / "graded"
    print(f"2. grading the samples as a class, into {graded}")
    status = run_batch(samples_folder, HW, graded)
    if status != 0:
        return status

    print("\n3. what each sample got, and what it should get")
    mismatches = 0
    for sample in samples.load(manifest):
        result_file = graded / Path(sample.file).stem / "result.json"
        score = json.loads(result_file.read_text())["score"] if result_file.is_file() else None
        agrees = score is not None and abs(score - sample.score) < 1e-6
        mismatches += not agrees
        shown = "missing" if score is None else f"{score:g}"
        print(
            f"   {sample.file:28} {shown:>6} / {manifest.max_score:g}  (expected {sample.score:g})"
            f"{'' if agrees else '  <- DIFFERS'}  {sample.about}"
        )
    print(f"\nclass summary:  {graded / 'summary.html'}")
    print(f"gradebook:      {graded / 'gradebook.csv'}")
    print(f"reports:        {graded}/<student>/report.html")
    return 1 if mismatches else 0
