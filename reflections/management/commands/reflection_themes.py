"""`manage.py reflection_themes FILE.csv`: the themes of any CSV of answers, printed; the database is not touched."""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reflections import clustering
from reflections.csvfiles import CsvProblem, read_answers
from reflections.embeddings import EmbeddingModelMissing, embed


class Command(BaseCommand):
    help = (
        "Group the answers in a CSV file into themes and print each theme's label, size and representative "
        "answers, and each row's theme. Reads only the file: nothing is written to the database."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a CSV file with a header row (UTF-8; comma, semicolon or tab)")
        parser.add_argument("--column", default="answer", help="the column holding the answers (default: answer)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON instead of text")

    def handle(self, file: Path, column: str, as_json: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            answers = read_answers(file.read_bytes(), column)
        except CsvProblem as problem:
            raise CommandError(f"{file}: {problem} (choose the column with --column)"
                               if "no column" in str(problem) else f"{file}: {problem}") from None
        texts = [row.text for row in answers.rows]
        started = time.perf_counter()
        try:
            vectors = embed(texts)
        except EmbeddingModelMissing as missing:
            raise CommandError(str(missing)) from None
        themes = clustering.find_themes(texts, vectors)
        seconds = time.perf_counter() - started
        theme_of = {index: number for number, theme in enumerate(themes, start=1) for index in theme.members}
        if as_json:
            self.stdout.write(self._json(file, answers, themes, theme_of, seconds))
        else:
            self._text(file, answers, themes, theme_of, seconds)

    def _json(self, file, answers, themes, theme_of, seconds) -> str:
        report = {
            "file": str(file),
            "column": answers.column,
            "answers": len(answers.rows),
            "empty_rows": answers.empty_rows,
            "seconds": round(seconds, 3),
            "themes": [
                {
                    "theme": number,
                    "label": theme.label,
                    "kind": theme.kind,
                    "size": theme.size,
                    "representative_answers": [answers.rows[i].text for i in theme.representatives],
                    "rows": [answers.rows[i].row for i in theme.members],
                }
                for number, theme in enumerate(themes, start=1)
            ],
            "rows": [
                {"row": row.row, "answer": row.text, "theme": theme_of[index],
                 "label": themes[theme_of[index] - 1].label}
                for index, row in enumerate(answers.rows)
            ],
        }
        return json.dumps(report, ensure_ascii=False, indent=2)

    def _text(self, file, answers, themes, theme_of, seconds) -> None:
        write = self.stdout.write
        write(f"{len(answers.rows)} answers in {len(themes)} themes "
              f"(column “{answers.column}” of {file}, {seconds:.1f} s)")
        if answers.empty_rows:
            write(f"Skipped {len(answers.empty_rows)} rows with an empty answer: "
                  + ", ".join(str(row) for row in answers.empty_rows))
        for number, theme in enumerate(themes, start=1):
            write("")
            write(f"{number}. {theme.label} ({theme.size} answer{'s' if theme.size != 1 else ''})")
            for index in theme.representatives:
                write(f"   - {answers.rows[index].text}")
        write("")
        write("Rows:")
        for index, row in enumerate(answers.rows):
            number = theme_of[index]
            write(f"  row {row.row}: theme {number} ({themes[number - 1].label})")
