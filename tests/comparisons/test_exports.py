"""The class table exported as CSV and as Markdown."""

import csv
import io

import pytest

from comparisons import exports, services
from tests.reflections.conftest import add_students


@pytest.fixture
def filled(cast, table_open):
    window, openness = table_open.criteria
    sara = services.pick_model(table_open.homework, cast.student, table_open.models[0])
    services.save_row(sara, {window.pk: ("128k | 16k out", "https://platform.openai.com/docs/models(gpt-4o)"),
                             openness.pk: ("=1+1", "https://openai.com/")})
    classmate = add_students(cast, 1)[0]
    other = services.pick_model(table_open.homework, classmate, table_open.models[1])
    services.save_row(other, {window.pk: ("32k tokens <b>", "https://huggingface.co/OpenLLM-France")})
    entry = sara.entries.get(criterion=window)
    services.review_entry(entry, by=cast.instructor, status="verified", comment="Checked against the docs")
    return table_open


def test_csv_has_one_line_per_value_with_source_and_contributor(filled):
    rows = list(csv.DictReader(io.StringIO(exports.table_csv(filled.homework, with_comments=True))))
    assert [(r["model"], r["criterion"], r["contributor"], r["status"]) for r in rows] == [
        ("GPT-4o", "Context window", "Sara Student", "Verified"),
        ("GPT-4o", "Openness", "Sara Student", "Not reviewed yet"),
        ("Lucie", "Context window", "Student Number0", "Not reviewed yet"),
    ]
    assert rows[0]["comment"] == "Checked against the docs"
    assert rows[1]["value"] == "'=1+1"  # never a formula in a spreadsheet


def test_students_csv_leaves_out_the_staffs_comments(filled):
    rows = list(csv.DictReader(io.StringIO(exports.table_csv(filled.homework, with_comments=False))))
    assert "comment" not in rows[0]


def test_markdown_is_a_table_of_models_by_criteria(filled):
    text = exports.table_markdown(filled.homework)
    lines = text.splitlines()
    assert lines[0] == "# Compare LLMs"
    assert lines[2] == "| Model | Context window | Openness |"
    assert lines[3] == "|---|---|---|"
    gpt = next(line for line in lines if line.startswith("| GPT-4o"))
    assert gpt.count(" | ") == 2  # the pipe inside the value is escaped, not a new column
    assert "128k \\| 16k out ([source](<https://platform.openai.com/docs/models%28gpt-4o%29>)) — Sara Student ✓" in gpt
    lucie = next(line for line in lines if line.startswith("| Lucie"))
    assert "32k tokens \\<b\\>" in lucie
    assert lucie.endswith("|   |")
    assert "- GPT-4o: Sara Student" in lines
    assert "- DeepSeek-V3: nobody yet" in lines
    assert "## Criteria" in lines


def test_the_downloads_are_attachments(client, cast, filled):
    client.force_login(cast.instructor)
    csv_response = client.get(filled.url + "export.csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    md_response = client.get(filled.url + "export.md")
    assert md_response["Content-Type"].startswith("text/markdown")
    assert md_response.content.decode().startswith("# Compare LLMs")
