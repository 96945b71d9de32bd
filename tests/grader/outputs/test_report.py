"""The HTML feedback report and the class summary: what a student and a TA read."""

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.outputs import results
from grader.outputs.report import class_summary, html_report, normalise_message
from grader.outputs.results import GradingResult

HW = "hw1_backprop"
BUGS = (
    ('"W": np.outer(delta, x)}', '"W": np.outer(x, delta)}'),
    ("ds3 = (o1 - t[0]) * o1 * (1 - o1)", "ds3 = (o1 - t[0]) * o1"),
)
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class _Structure(HTMLParser):
    """Checks that every element is closed, in order; collects the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == [], (parser.problems, parser.stack)
    return parser


def text_of(page: str) -> str:
    """The page's text, whitespace collapsed (the page is checked to be well-formed first)."""
    return " ".join(" ".join(parse(page).text).split())


def text_of_part(fragment: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, GradingResult]:
    """The hw1 solution, the blank handout and a submission with two bugs, each graded once."""
    folder = tmp_path_factory.mktemp("submissions")
    manifest = manifests.load(HW)
    solution = build_module(manifest, solution=True)
    wrong = solution
    for old, new in BUGS:
        assert old in wrong, f"the solution no longer contains {old!r}"
        wrong = wrong.replace(old, new, 1)
    sources = {"solution": solution, "blank": build_module(manifest, solution=False), "wrong": wrong}
    results = {}
    for name, source in sources.items():
        (folder / name).mkdir()
        path = folder / name / f"{HW}.py"
        path.write_text(source, encoding="utf-8")
        results[name] = grade(path, HW)
    return results


def outcome(
    name="worked::case",
    status="failed",
    score=0.0,
    max_score=1.0,
    visibility="visible",
    functions=("forward_pass",),
    message="",
    details=(),
) -> results.TestResult:
    return results.TestResult(name, score, max_score, status, visibility, list(functions), message, list(details))


def result(tests, errors=(), label="all tests", functions=("forward_pass", "backward_pass"), **extra) -> GradingResult:
    return GradingResult(
        HW,
        "alice/hw1_backprop.py",
        sum(t.score for t in tests),
        sum(t.max_score for t in tests),
        list(tests),
        list(errors),
        label,
        list(functions),
        **extra,
    )


ROWS = [
    {"name": "s1", "student": 0.005, "lecture": "0.005", "matches": True},
    {"name": "h1", "student": 0.7, "lecture": "0.5013", "matches": False},
    {"name": "s2", "student": float("nan"), "lecture": "0.09", "matches": False},
    {"name": "h2", "student": None, "lecture": "0.5225", "matches": False},
]


def worked_rows(page: str) -> list[tuple[str, str]]:
    """(row class, row text) of every row of the worked-example tables."""
    rows = re.findall(r'<tr class="(matches|first|differs)">(.*?)</tr>', page, re.S)
    return [(verdict, " ".join(re.sub(r"<[^>]+>", " ", body).split())) for verdict, body in rows]


def test_a_full_marks_report_shows_the_score_every_function_and_no_failure(graded):
    page = html_report(graded["solution"])
    text = text_of(page)
    assert "20 / 20" in text and "all tests" in text and "All 42 tests passed" in text
    assert "Homework 1: backpropagation by hand" in text
    for function in graded["solution"].functions:
        assert f'id="fn-{function}"' in page and function in text
    assert "failed" not in re.findall(r'class="badge (\w+)"', page)


def test_the_points_table_lists_the_functions_in_the_manifests_order(graded):
    page = html_report(graded["solution"])
    table = page[page.index("Points per function") : page.index("Tests, by function")]
    positions = [table.index(f"<code>{f}</code>") for f in graded["solution"].functions]
    assert positions == sorted(positions)


def test_a_blank_handout_report_says_each_function_is_not_implemented(graded):
    text = text_of(html_report(graded["blank"]))
    assert "0 / 20" in text and "42 of 42 tests did not pass" in text
    for function in graded["blank"].functions:
        assert f"{function} is not implemented yet" in text


def test_a_partly_wrong_report_names_the_broken_functions_and_their_messages(graded):
    wrong = graded["wrong"]
    page = html_report(wrong)
    text = text_of(page)
    assert f"{wrong.score:g} / 20" in text
    assert "in backward_pass, layer_gradients" in text
    assert "expected shape (2, 3), got shape (3, 2)" in text
    # Functions with failures are open, the others folded.
    assert '<details class="function" id="fn-backward_pass" open>' in page
    assert '<details class="function" id="fn-forward_pass">' in page


def test_a_failing_worked_example_marks_the_first_intermediate_that_differs(graded):
    rows = worked_rows(html_report(graded["wrong"]))
    first = [text for verdict, text in rows if verdict == "first"]
    assert len(first) == 1 and first[0].startswith("∂L/∂s3") and "-0.1391" in first[0] and "first to differ" in first[0]
    assert any(verdict == "differs" and text.startswith("∂L/∂w5") for verdict, text in rows)
    assert any(verdict == "matches" and text.startswith("∂L/∂s4") for verdict, text in rows)


def test_nan_and_missing_student_values_show_in_the_worked_example_table():
    page = html_report(result([outcome(message="forward_pass: h1, s2, h2 do not match", details=ROWS)]))
    rows = worked_rows(page)
    assert [verdict for verdict, _ in rows] == ["matches", "first", "differs", "differs"]
    assert "0.7" in rows[1][1] and "nan" in rows[2][1] and "missing" in rows[3][1]
    parse(page)


def test_student_text_is_escaped_never_markup():
    attack = "<script>alert(1)</script>"
    tests = [outcome(message=f"expected 1.0, got {attack}")]
    page = html_report(
        GradingResult(HW, f"{attack}.py", 0, 1, tests, [f"cell 3: {attack}"], "all tests", ["forward_pass"])
    )
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    text = text_of(page)
    assert f"got {attack}" in text and f"{attack}.py" in text and f"cell 3: {attack}" in text


def test_worked_example_values_are_escaped():
    attack = "<img src=x onerror=alert(1)>"
    page = html_report(
        result([outcome(details=[{"name": attack, "student": attack, "lecture": attack, "matches": False}])])
    )
    assert "<img" not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") == 3


def test_a_hidden_test_shows_its_verdict_and_message_only():
    hidden = outcome(
        name="random::secret[0]",
        visibility="hidden",
        message="backward_pass['s1']: wrong value: got 0.5",
        details=[{"name": "s1", "student": 0.5, "lecture": "0.1234567", "matches": False}],
    )
    page = html_report(result([hidden]))
    text = text_of(page)
    assert "random::secret[0]" in text and "hidden" in text and "failed" in text and "wrong value: got 0.5" in text
    assert "0.1234567" not in page and worked_rows(page) == []


def test_a_visible_only_result_is_labelled_visible_tests_never_all_tests():
    page = html_report(result([outcome(status="passed", score=1.0)], label="visible tests"))
    text = text_of(page)
    assert "visible tests" in text and "all tests" not in text and "not your grade" in text


def test_errors_timeouts_and_protections_off_are_shown():
    tests = [
        outcome(status="timeout", message="forward_pass ran for more than 2 s and was stopped"),
        outcome(
            name="worked::other",
            status="error",
            functions=("backward_pass",),
            message="backward_pass raised ZeroDivisionError: division by zero",
        ),
    ]
    page = html_report(
        result(
            tests,
            errors=["cell 4: SyntaxError: invalid syntax (line 2)"],
            protections_off=["network namespace (unshare failed)"],
        )
    )
    text = text_of(page)
    assert "cell 4: SyntaxError: invalid syntax (line 2)" in text
    assert "ran for more than 2 s" in text and "ZeroDivisionError" in text
    assert 'class="badge timeout"' in page and 'class="badge error"' in page
    assert "network namespace (unshare failed)" in text


def test_a_result_without_tests_still_renders():
    text = text_of(html_report(result([], errors=["the submission could not be read: empty file"])))
    assert "0 / 0" in text and "No tests were run" in text and "could not be read" in text


def test_a_test_charged_to_one_function_names_the_others_it_uses():
    page = html_report(result([outcome(functions=("backward_pass", "forward_pass"))]))
    assert "charged to <code>backward_pass</code>, also uses <code>forward_pass</code>" in page


def test_the_real_reports_are_well_formed(graded):
    for outcome in graded.values():
        structure = parse(html_report(outcome))
        assert [tag for tag, _ in structure.tags if tag in ("script", "link", "img")] == []


def test_numbers_in_messages_are_normalised_but_names_keep_their_digits():
    assert (
        normalise_message("backward_pass['s1']: got -0.0034, relative error 1.50e-01")
        == "backward_pass['s1']: got #, relative error #"
    )
    assert normalise_message("got nan") == normalise_message("got 0.5")


@pytest.fixture(scope="module")
def class_page(graded) -> str:
    return class_summary([("carol", graded["wrong"]), ("alice", graded["solution"]), ("bob", graded["blank"])])


def test_the_class_summary_counts_students_and_their_mean_and_median(class_page, graded):
    text = text_of(class_page)
    mean = (20 + 0 + graded["wrong"].score) / 3
    assert "3 students" in text and f"{round(mean, 3):g} mean of 20" in text
    assert f"{graded['wrong'].score:g} median of 20" in text
    counts = [int(c) for c in re.findall(r"<title>(\d+) students scored", class_page)]
    assert sum(counts) == 3 and counts[0] == 1 and counts[-1] == 1


def test_the_class_summary_shows_pass_rates_hardest_first(class_page):
    functions = class_page[class_page.index("Pass rate per function") : class_page.index("Pass rate per test")]
    names = re.findall(r"<td><code>(\w+)</code></td>", functions)
    assert set(names[:2]) == {"backward_pass", "layer_gradients"}
    assert "1 / 3 (33%)" in functions and "2 / 3 (67%)" in functions
    tests = class_page[class_page.index("Pass rate per test") : class_page.index("Most common test failures")]
    assert tests.index("layer_gradients_have_the_parameters_shapes") < tests.index(
        "forward_pass_reproduces_the_lecture"
    )


def test_the_class_summary_merges_failure_messages_that_differ_only_in_numbers(class_page):
    messages = text_of_part(
        class_page[class_page.index("Most common test failures") : class_page.index("<h2>Students")]
    )
    assert "backward_pass['s1']: wrong value: got #, relative error #" in messages
    assert messages.count("wrong value: got #") == 1
    assert "is not implemented yet" in messages


def test_the_class_summary_links_every_students_report(class_page):
    links = [attrs["href"] for tag, attrs in parse(class_page).tags if tag == "a"]
    assert links == ["alice/report.html", "bob/report.html", "carol/report.html"]


def test_the_class_summary_escapes_student_ids_and_flags_submission_problems():
    broken = result([outcome(message="forward_pass could not be called")], errors=["cell 2: SyntaxError <here>"])
    page = class_summary([("<b>mallory</b>", broken)], title="hw1 & friends")
    assert "<b>" not in page and "&lt;b&gt;mallory&lt;/b&gt;" in page and "hw1 &amp; friends" in page
    assert "%3Cb%3Emallory%3C/b%3E/report.html" in page
    assert "cell 2: SyntaxError &lt;here&gt;" in page
    parse(page)


def test_an_empty_class_summary_renders():
    page = class_summary([])
    assert "No students" in text_of(page)
    parse(page)


def test_grade_writes_the_html_report(graded, tmp_path):
    from grader.cli import main

    submission = Path(graded["wrong"].submission)
    out = tmp_path / "report.html"
    assert main(["grade", str(submission), "--assignment", HW, "--html", str(out)]) == 0
    assert "first to differ" in out.read_text(encoding="utf-8")


TRAJECTORY = {"title": "Adam: loss per step", "x_label": "step", "y_label": "loss",
              "series": {"yours <b>": [3.0, 2.0, 1.5, float("nan")], "reference": [3.0, 1.8, 1.1, 0.7]}}  # fmt: skip


def test_a_visible_tests_curves_are_drawn_as_inline_svg_with_text_escaped():
    drawn = outcome(name="optim::adam", details=())
    drawn.plots = [TRAJECTORY]
    page = html_report(result([drawn]))
    assert page.count("<svg") == 1 and page.count("<polyline") == 2
    assert "yours &lt;b&gt;" in page and "yours <b>" not in page
    assert "<script" not in page


def test_a_hidden_tests_curves_are_never_drawn():
    hidden = outcome(name="optim::adam_hidden", visibility="hidden")
    hidden.plots = [TRAJECTORY]
    assert "<svg" not in html_report(result([hidden]))


def test_a_plot_with_nothing_finite_draws_nothing():
    from grader.outputs.plots import svg

    assert svg({"title": "empty", "series": {"yours": [float("nan")], "reference": []}}) == ""
    assert svg({"title": "flat", "series": {"yours": [1.0, 1.0]}}).count("<polyline") == 1


def test_the_class_summary_lists_what_did_not_load_apart_and_counts_as_the_terminal_does():
    failed = outcome(status="error", message="forward_pass could not be tested: hw1_backprop.py did not load")
    unloaded = result([failed], errors=["hw1_backprop.py: SyntaxError: '(' was never closed (line 3)\n> 3 | s1 = ("])
    wrong = result([outcome(message="forward_pass: wrong value")], errors=["cell 4: a warning"])
    page = class_summary([("ann", unloaded), ("ben", wrong)])
    text = text_of(page)
    assert "1 could not be loaded" in text and "1 loaded, with other problems" in text
    loaded_part = text_of_part(page[page.index("Could not be loaded") : page.index("Most common test failures")])
    assert "ann" in loaded_part and "SyntaxError: '(' was never closed (line 3)" in loaded_part
    failures = text_of_part(page[page.index("Most common test failures") : page.index("<h2>Students")])
    assert "wrong value" in failures and "did not load" not in failures


def test_one_test_passing_is_said_in_the_singular(capsys):
    from grader.outputs.summary import print_summary

    only = result([outcome(status="passed", score=1.0)], functions=("forward_pass",))
    print_summary(only)
    assert "the one test passed" in capsys.readouterr().out
    assert "The one test passed." in text_of(html_report(only)) and "1 tests" not in text_of(html_report(only))


def test_a_reason_shared_by_a_functions_tests_is_said_once(capsys):
    """A file that did not load fails every test for one reason: each function says it once, not per test."""
    from grader.outputs.summary import print_summary

    reason = "forward_pass could not be tested: hw1_backprop.py did not load (SyntaxError ...)"
    tests = [outcome(name=f"random::forward_pass[{n}]", status="error", message=reason) for n in range(3)]
    other = outcome(name="random::backward_pass[0]", status="error", functions=("backward_pass",), message="other")
    failed = result([*tests, other])
    print_summary(failed)
    text = capsys.readouterr().out
    assert text.count(reason) == 1 and text.count("(the same as above)") == 2 and "other" in text
    page = text_of(html_report(failed))
    assert page.count(reason) == 1 and page.count("(the same as above)") == 2
