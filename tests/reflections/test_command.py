"""`manage.py reflection_themes FILE.csv`: the themes of any CSV of answers, without touching the database."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).resolve().parents[1] / "data" / "transformers_reflections.csv"


def run(*args) -> str:
    out = StringIO()
    call_command("reflection_themes", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.fixture
def struggles(tmp_path) -> Path:
    lines = [line for line in DATA.read_text(encoding="utf-8").splitlines() if line.startswith("struggled,")]
    path = tmp_path / "struggles.csv"
    path.write_text("prompt,theme,answer\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_it_prints_each_theme_and_each_rows_theme(struggles):
    # No `db` fixture: pytest-django fails the test if the command touches the database.
    out = run(struggles)
    assert out.startswith("67 answers in ")
    assert "1. " in out
    assert "answers)" in out
    assert "   - " in out
    rows = [line for line in out.splitlines() if line.startswith("  row ")]
    assert len(rows) == 67
    assert rows[0].startswith("  row 2: theme ")


def test_json_output_has_labels_sizes_representatives_and_rows(struggles):
    report = json.loads(run(struggles, "--json"))
    assert report["answers"] == 67
    assert report["column"] == "answer"
    assert sum(theme["size"] for theme in report["themes"]) == 67
    # Topics largest first, then "Nothing unclear" and "Other" (each at most once), in that order.
    kinds = [theme["kind"] for theme in report["themes"]]
    assert kinds == sorted(kinds, key=["topic", "all_clear", "other"].index)
    assert kinds.count("all_clear") <= 1
    assert kinds.count("other") <= 1
    sizes = [theme["size"] for theme in report["themes"] if theme["kind"] == "topic"]
    assert sizes == sorted(sizes, reverse=True)
    for theme in report["themes"]:
        assert theme["label"]
        assert 1 <= len(theme["representative_answers"]) <= 3
        assert len(theme["rows"]) == theme["size"]
    assert [row["row"] for row in report["rows"]] == list(range(2, 69))
    assert {row["theme"] for row in report["rows"]} == {theme["theme"] for theme in report["themes"]}


def test_another_column_can_be_chosen(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("Reflection;Name\nteacher forcing;A\nsoftmax;B\n", encoding="utf-8")
    report = json.loads(run(path, "--column", "reflection", "--json"))
    assert report["answers"] == 2
    assert len(report["themes"]) == 1


def test_a_missing_column_is_a_clear_error(struggles):
    with pytest.raises(CommandError, match="there is no column “text”; the file's columns are: “prompt”, “theme”, "
                                           "“answer” \\(choose the column with --column\\)"):
        run(struggles, "--column", "text")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "nope.csv")


def test_a_file_that_is_not_csv_text_is_a_clear_error(tmp_path):
    path = tmp_path / "answers.xlsx"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(CommandError, match="holds binary data, not CSV text"):
        run(path)
