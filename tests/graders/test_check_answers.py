"""check_answers: a JSON-lines file of answer tests, checked line by line, and the command around it."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from graders.symbolic import check_answers_jsonl

ANSWER_TESTS = Path(__file__).parents[1] / "data" / "check_answers.jsonl"


def test_every_answer_test_in_the_fixture_has_its_expected_outcome():
    lines = ANSWER_TESTS.read_text(encoding="utf-8").splitlines()
    results = list(check_answers_jsonl(lines))
    assert len(results) == len(lines) >= 40
    mismatched = [result for result in results if not result.get("as_expected")]
    assert mismatched == []
    expectations = [json.loads(line)["expected"] for line in lines]
    assert True in expectations
    assert False in expectations


def test_a_result_has_the_verdict_the_interpretation_and_the_line():
    line = json.dumps({"id": "sign", "student": "1 - x", "reference": "x - 1"})
    assert list(check_answers_jsonl([line])) == [
        {
            "line": 1,
            "id": "sign",
            "equivalent": False,
            "interpreted_as": "1 - x",
            "message": "",
            "method": "numeric",
        }
    ]


def test_declared_variables_and_assumptions_are_used():
    line = json.dumps({"student": "x", "reference": "sqrt(x^2)", "variables": ["x"], "assumptions": "positive"})
    assert next(check_answers_jsonl([line]))["equivalent"] is True
    line = json.dumps({"student": "x + q", "reference": "x", "variables": ["x"]})
    result = next(check_answers_jsonl([line]))
    assert (result["equivalent"], result["method"], result["message"]) == (
        None, "invalid", "unknown name `q`; you can use x"
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ("[1, 2]", "each line must be a JSON object"),
        ('{"student": "x"}', "`reference` must be a string"),
        (
            '{"student": "x", "reference": "x", "assumption": "real"}',
            "unknown key(s) assumption; allowed: absolute_tolerance, assumptions, expected, floats, form, functions, "
            "id, reference, relative_tolerance, significant_figures, student, test, variable, variables",
        ),
        (
            '{"student": "x", "reference": "x", "assumptions": "complex"}',
            "assumptions: unknown assumption `complex`; use one of real, positive, negative, nonnegative, nonzero, "
            "integer, natural",
        ),
        (
            '{"student": "x", "reference": "x +"}',
            "reference: the expression ends with `+`: something is missing after it",
        ),
        ('{"student": "x", "reference": "x", "variables": "x"}', "`variables` must be a list of names"),
        ('{"student": "x", "reference": "x", "expected": "yes"}', "`expected` must be true, false or null"),
    ],
)
def test_a_malformed_line_gives_an_error_for_that_line_and_the_next_is_checked(line, error):
    good = json.dumps({"student": "2x", "reference": "x + x"})
    results = list(check_answers_jsonl([line, "", good]))
    assert results[0] == {"line": 1, "error": error}
    assert results[1]["line"] == 3
    assert results[1]["equivalent"] is True


def test_the_command_prints_one_json_line_per_answer(tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"student": "2x", "reference": "x+x", "expected": True}) + "\n" + "oops\n",
        encoding="utf-8",
    )
    output = StringIO()
    with pytest.raises(CommandError, match=r"1 line\(s\) were malformed"):
        call_command("check_answers", str(answers), stdout=output)
    printed = [json.loads(line) for line in output.getvalue().splitlines()]
    assert printed[0]["as_expected"] is True
    assert printed[1]["line"] == 2
    assert printed[1]["error"].startswith("not valid JSON")


def test_the_command_succeeds_when_every_expectation_holds(tmp_path):
    answers = tmp_path / "answers.jsonl"
    records = [
        {"student": "2x", "reference": "x+x", "expected": True},
        {"student": "x-1", "reference": "1-x", "expected": False},
    ]
    answers.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    output = StringIO()
    call_command("check_answers", str(answers), stdout=output)
    assert [json.loads(line)["as_expected"] for line in output.getvalue().splitlines()] == [True, True]


def test_the_command_reads_standard_input_for_a_dash(monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps({"student": "2x", "reference": "x+x"}) + "\n"))
    output = StringIO()
    call_command("check_answers", "-", stdout=output)
    assert json.loads(output.getvalue())["equivalent"] is True


def test_the_command_reports_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("check_answers", str(tmp_path / "missing.jsonl"))


def test_the_checkers_import_without_django():
    code = (
        "import sys, graders.symbolic, graders.questions, content.nlp2llm.reference; "
        "assert not any(name.startswith('django') for name in sys.modules), 'django was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_a_record_may_set_the_float_policy_the_answer_test_and_the_form():
    lines = [
        json.dumps({"student": "0.1 + 0.2", "reference": "0.3", "floats": "machine"}),
        json.dumps({"student": "x^2/2 + C", "reference": "x^2/2", "test": "antiderivative"}),
        json.dumps({"student": "3.14", "reference": "pi", "significant_figures": 3}),
        json.dumps({"student": "(x + 1)^2", "reference": "x^2 + 2x + 1", "form": "expanded", "expected": False}),
        json.dumps({"student": "sqrt(x^2)", "reference": "x", "assumptions": {"x": "positive"}}),
        json.dumps({"student": "g(x) + g(x)", "reference": "2 g(x)", "variables": ["x"], "functions": ["g"]}),
    ]
    machine, antiderivative, rounded, expanded, positive, function = check_answers_jsonl(lines)
    assert machine["equivalent"] is False
    assert antiderivative["equivalent"] is True
    assert rounded["equivalent"] is True
    assert (expanded["equivalent"], expanded["form_problems"], expanded["as_expected"]) == (True, ["expanded"], True)
    assert positive["equivalent"] is True
    assert function["equivalent"] is True


def test_a_record_may_name_the_variable_of_integration():
    lines = [
        json.dumps({"student": "a x^2/2 + a", "reference": "a x^2/2", "test": "antiderivative", "variable": "x"}),
        json.dumps({"student": "x^2/2", "reference": "x^2/2 + C", "test": "antiderivative"}),
    ]
    assert [result["equivalent"] for result in check_answers_jsonl(lines)] == [True, True]


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ({"floats": "approximate"}, "`floats` must be one of exact, refuse, machine"),
        ({"variable": "x"}, '`variable` is the variable of integration of `"test": "antiderivative"`'),
        ({"test": "antiderivative", "variable": "t"}, "`variable`: `t` is not one of the variables (x)"),
        ({"test": "close"}, "`test` must be one of equivalent, antiderivative, substitution"),
        ({"form": "tidy"}, "`form` must be one of expanded, factored, simplified, no_decimals, or a list of them"),
        ({"relative_tolerance": -1}, "`relative_tolerance` must be a number, 0 or more"),
        ({"significant_figures": 0.5}, "`significant_figures` must be a whole number from 1 to 15"),
        (
            {"assumptions": ["real"]},
            "`assumptions` must be one assumption for all variables, or a table of them by name",
        ),
        ({"functions": "f"}, "`functions` must be a list of names"),
    ],
)
def test_a_malformed_option_names_what_is_allowed(record, error):
    line = json.dumps({"student": "x", "reference": "x", **record})
    assert list(check_answers_jsonl([line])) == [{"line": 1, "error": error}]
