"""`manage.py check_answers FILE.jsonl`: batch-check symbolic answers, one JSON verdict per line."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from graders.symbolic import DEFAULT_TIME_LIMIT, check_answers_jsonl


class Command(BaseCommand):
    help = (
        "Checks symbolic answers without an exercise. Each line of FILE is a JSON object with "
        '"student", "reference", and optionally "variables" and "functions" (names; inferred when '
        'left out), "assumptions" ("real", "positive"... for all variables, or {name: assumption}), '
        '"floats" ("exact", "refuse", "machine"), "relative_tolerance", "absolute_tolerance", '
        '"significant_figures", "test" ("equivalent", "antiderivative", "substitution"), "variable" '
        '(of integration), "form" ("expanded", "factored", "simplified", "no_decimals", or a list), "id" '
        'and "expected" (true, false or null). Prints one JSON result per line; exits with an error if a '
        "line was malformed or an expectation was not met."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .jsonl file, or - for standard input")
        parser.add_argument(
            "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds allowed per answer"
        )

    def handle(self, *args, file: Path, time_limit: float, **options) -> None:
        if str(file) == "-":
            lines = sys.stdin.read().splitlines()
        else:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except OSError as error:
                raise CommandError(f"cannot read {file}: {error.strerror}") from None
        failures = 0
        for result in check_answers_jsonl(lines, time_limit=time_limit):
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            failures += "error" in result or result.get("as_expected") is False
        if failures:
            raise CommandError(f"{failures} line(s) were malformed or did not match `expected`")
