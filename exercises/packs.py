"""The `exercises/` folder of a lesson in a course pack: one folder per exercise.

    exercises/01-softmax/
        exercise.toml   id, title, slug, kind ("code" or "questions"), [policy], [limits] or [[parts]]
        statement.md    what the student reads
        starter.py      code: what the editor starts with
        solution.py     code: the reference solution (never shown to students, never in the sandbox)
        tests.py        code: the trusted tests (see graders/code.py)
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.text import slugify

from courses.packs import SLUG_PATTERN, ItemKind, PackReader, TomlFile, upsert
from graders import engine
from graders.problems import Problem

from .models import Exercise

# `math` is the questions parts' shared math (variables, definitions, aliases), as in graders.questions.
EXERCISE_KEYS = {"id", "title", "slug", "kind", "policy", "limits", "parts", "math"}
POLICY_KEYS = {"attempts", "cooldown_seconds", "due", "late", "counts"}
REQUIRED_FILES = {"code": ("statement.md", "starter.py", "solution.py", "tests.py"), "questions": ("statement.md",)}
MAX_FILE_BYTES = 512 * 1024


@dataclass
class ExerciseSource:
    pack_id: str
    title: str
    slug: str
    kind: str
    position: int
    files: dict[str, str]
    policy: dict[str, Any]
    folder: Path
    toml: TomlFile


def report(reader: PackReader, folder: Path, toml: TomlFile, problem: Problem) -> None:
    line = problem.line
    if line is None and problem.key_path and problem.file == "exercise.toml":
        line = toml.line_of(problem.key_path)
    reader.problem(folder / problem.file, problem.message, line)


class ExerciseKind(ItemKind):
    folder = "exercises"

    def read(self, reader: PackReader, folder: Path) -> list[ExerciseSource]:
        exercises = []
        slugs: dict[str, str] = {}
        children = sorted(child for child in folder.iterdir() if not child.name.startswith("."))
        for position, child in enumerate(children, start=1):
            if not child.is_dir():
                reader.problem(child, "unexpected file: each exercise is a folder holding exercise.toml")
                continue
            exercise = self._read_one(reader, child, position)
            if exercise is None:
                continue
            if exercise.slug in slugs:
                reader.key_problem(
                    exercise.toml, "slug", f"slug {exercise.slug!r} is also used by {slugs[exercise.slug]}"
                )
            slugs[exercise.slug] = reader.relative(child)
            exercises.append(exercise)
        return exercises

    def _read_one(self, reader: PackReader, folder: Path, position: int) -> ExerciseSource | None:
        toml = reader.read_toml(folder / "exercise.toml")
        if toml is None:
            return None
        before = len(reader.problems)
        reader.unknown_keys(toml, EXERCISE_KEYS)
        pack_id = reader.claim_id(toml)
        title = reader.value(toml, "title", str)
        slug = reader.value(toml, "slug", str, slugify(re.sub(r"^\d+[-_ ]*", "", folder.name)))
        if slug and not SLUG_PATTERN.match(slug):
            reader.key_problem(toml, "slug", f"slug {slug!r} must be lower-case letters, digits and dashes")
        kind = reader.value(toml, "kind", str)
        if kind is not None and kind not in REQUIRED_FILES:
            reader.key_problem(toml, "kind", f"kind {kind!r} is not one of: {', '.join(REQUIRED_FILES)}")
            kind = None
        policy = self._read_policy(reader, toml)
        files = {"exercise.toml": toml.text}
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name == "exercise.toml" or path.name == "__pycache__":
                continue
            if not path.is_file():
                reader.problem(path, "unexpected folder inside an exercise")
            elif path.stat().st_size > MAX_FILE_BYTES:
                reader.problem(path, f"is larger than {MAX_FILE_BYTES // 1024} KB")
            elif (text := reader.read_text(path)) is not None:
                files[path.name] = text
        if kind is not None:
            for name in REQUIRED_FILES[kind]:
                if name not in files and (folder / name).exists() is False:
                    reader.problem(folder / name, f"file is missing (a {kind} exercise needs it)")
        if len(reader.problems) > before or None in (pack_id, title, slug, kind):
            return None
        for problem in engine.inspect(files).problems:
            report(reader, folder, toml, problem)
        if len(reader.problems) > before:
            return None
        return ExerciseSource(pack_id, title, slug, kind, position, files, policy, folder, toml)

    def _read_policy(self, reader: PackReader, toml: TomlFile) -> dict[str, Any]:
        table = toml.data.get("policy", {})
        if not isinstance(table, dict):
            reader.key_problem(toml, "policy", "`policy` must be a table: [policy]")
            return {}
        reader.unknown_keys(toml, POLICY_KEYS, table, ("policy",))
        attempts = reader.value(toml, "attempts", int, None, table=table, key_path=("policy", "attempts"))
        if attempts is not None and attempts < 1:
            reader.key_problem(toml, "policy.attempts", "`attempts` must be at least 1 (leave it out for no limit)")
        cooldown = reader.value(toml, "cooldown_seconds", int, 0, table=table, key_path=("policy", "cooldown_seconds"))
        if cooldown is not None and cooldown < 0:
            reader.key_problem(toml, "policy.cooldown_seconds", "`cooldown_seconds` cannot be negative")
        due = reader.value(toml, "due", dt.datetime, None, table=table, key_path=("policy", "due"))
        if due is not None and due.tzinfo is None:
            reader.key_problem(
                toml, "policy.due", "`due` needs a time zone offset, e.g. 2026-12-15T23:59:00+01:00"
            )
            due = None
        late = reader.value(toml, "late", list, [], table=table, key_path=("policy", "late"))
        windows = []
        for index, window in enumerate(late or []):
            path = ("policy", "late")
            if not isinstance(window, dict) or set(window) != {"days", "credit"}:
                reader.key_problem(toml, path, f"late window {index + 1} must look like {{ days = 2, credit = 0.8 }}")
                continue
            days, credit = window["days"], window["credit"]
            if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
                reader.key_problem(toml, path, f"late window {index + 1}: `days` must be a positive number")
            elif not isinstance(credit, int | float) or isinstance(credit, bool) or not 0 <= credit <= 1:
                reader.key_problem(toml, path, f"late window {index + 1}: `credit` must be between 0 and 1")
            else:
                windows.append({"days": days, "credit": float(credit)})
        if windows and due is None:
            reader.key_problem(toml, "policy.late", "late windows need a `due` date")
        counts = reader.value(toml, "counts", str, "best", table=table, key_path=("policy", "counts"))
        if counts not in (None, "best", "last"):
            reader.key_problem(toml, "policy.counts", f"`counts` must be \"best\" or \"last\", not {counts!r}")
        return {
            "max_attempts": attempts,
            "cooldown_seconds": cooldown or 0,
            "due_at": due,
            "late_windows": windows,
            "score_policy": counts if counts in ("best", "last") else "best",
        }

    def verify(self, reader: PackReader, items: list[ExerciseSource]) -> None:
        """Test the tests: the reference solution must score full marks and the starter code less."""
        for exercise in items:
            for problem in engine.test_the_tests(exercise.files):
                report(reader, exercise.folder, exercise.toml, problem)

    def save(self, lesson: Any, items: list[ExerciseSource]) -> Counter:
        counts: Counter = Counter()
        for exercise in items:
            info = engine.inspect(exercise.files)
            _obj, state = upsert(
                Exercise,
                {"course": lesson.course, "pack_id": exercise.pack_id},
                {
                    "lesson": lesson,
                    "slug": exercise.slug,
                    "title": exercise.title,
                    "kind": exercise.kind,
                    "position": exercise.position,
                    "statement": exercise.files.get("statement.md", ""),
                    "starter_code": exercise.files.get("starter.py", ""),
                    "max_score": info.max_score,
                    "files": exercise.files,
                    "version": info.version,
                    "archived": False,
                    **exercise.policy,
                },
            )
            counts[state] += 1
        return counts

    def retire(self, course: Any, kept_ids: set[str]) -> int:
        return Exercise.objects.filter(course=course, archived=False).exclude(pack_id__in=kept_ids).update(
            archived=True
        )
