"""`manage.py grade EXERCISE_DIR FILE [--json]`: grade a file against an exercise folder, through the sandbox."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from graders import engine
from graders.code import exercise_files


class Command(BaseCommand):
    help = "Grade FILE (code, or the answers as JSON) against the exercise in EXERCISE_DIR, as a worker would."

    def add_arguments(self, parser):
        parser.add_argument("exercise", type=Path, help="an exercise folder of a course pack")
        parser.add_argument("file", help="the answer to grade: a .py file, or JSON {part id: answer}; - for stdin")
        parser.add_argument("--json", action="store_true", help="print the verdict as one JSON object")

    def handle(self, exercise: Path, file: str, **options):
        if not (exercise / "exercise.toml").is_file():
            raise CommandError(f"{exercise} is not an exercise folder (it has no exercise.toml)")
        files = exercise_files(exercise)
        answer = self._read(file)
        info = engine.inspect(files)
        if info.problems:
            problems = "\n".join(f"{problem.file}: {problem.message}" for problem in info.problems)
            raise CommandError(f"the exercise is invalid:\n{problems}")
        if info.kind == "questions":
            answer = self._as_answers(answer, files)
        try:
            verdict = engine.grade_answer(files, answer)
        except engine.GradingUnavailable as unavailable:
            raise CommandError(f"cannot grade: the sandbox is unavailable ({unavailable})") from None
        finally:
            engine.close_sandbox_pool()
        if options["json"]:
            self.stdout.write(json.dumps(_summary(verdict)))
        else:
            self._print(verdict)

    def _read(self, file: str) -> str:
        if file == "-":
            return sys.stdin.read()
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text") from None

    def _as_answers(self, text: str, files) -> str:
        """JSON answers as they are; plain text is the answer to a one-part exercise."""
        try:
            answers = json.loads(text)
        except ValueError:
            answers = None
        if isinstance(answers, dict):
            return text
        parts = engine.questions_spec(files).parts
        if len(parts) != 1:
            raise CommandError(
                "this exercise has several parts: give the answers as JSON, e.g. "
                + json.dumps({part.id: "..." for part in parts})
            )
        return json.dumps({parts[0].id: text.strip()})

    def _print(self, verdict) -> None:
        style = self.style.SUCCESS if verdict.status == "graded" and verdict.score >= verdict.max_score else (
            self.style.WARNING if verdict.status == "graded" else self.style.ERROR)
        self.stdout.write(style(f"{verdict.status}: {verdict.score:g} / {verdict.max_score:g} "
                                f"({verdict.duration_ms} ms) — {verdict.summary}"))
        if verdict.message:
            self.stdout.write(verdict.message)
        for test in verdict.tests:
            mark = "PASS" if test.passed else "FAIL"
            hidden = " (hidden)" if not test.visible else ""
            self.stdout.write(f"  {mark} {test.title}{hidden}: {test.points:g}/{test.max_points:g}")
            for line in test.message.splitlines():
                self.stdout.write(f"       {line}")



def _summary(verdict) -> dict:
    return {
        "status": verdict.status,
        "score": verdict.score,
        "max_score": verdict.max_score,
        "summary": verdict.summary,
        "message": verdict.message,
        "tests": [
            {"name": t.name, "title": t.title, "passed": t.passed, "points": t.points, "max_points": t.max_points,
             "visible": t.visible, "message": t.message, "interpreted_as": t.interpreted_as}
            for t in verdict.tests
        ],
        "duration_ms": verdict.duration_ms,
        "exercise_version": verdict.exercise_version,
    }
