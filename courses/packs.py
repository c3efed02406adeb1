"""Course packs: a course as a folder of files, loaded idempotently by the stable ids in them.

A pack looks like this (folders and files are ordered by name, so `01-`, `02-` prefixes
set the order):

    course.toml                        id, title, slug, description
    lessons/01-transformers/lesson.toml  id, title, slug, summary
    lessons/01-transformers/lesson.md    the lesson's material (Markdown with $math$)
    lessons/01-transformers/<kind>/...   items of a registered kind: exercises/, quizzes/, ...

Every course, lesson and item carries an `id` in its own file. Students' work hangs on
that id, so renaming or reordering folders keeps it attached. A pack is read whole
first; if anything is wrong, nothing is written and every problem is reported with its
file and line. Adding an item kind means writing an `ItemKind` and registering it from
its app's `ready()`: the loader has no list of kinds of its own.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from django.db import models, transaction
from django.utils.text import slugify

from graders.problems import KeyPath, Problem

# A pack is checked as a whole before any file is parsed: a folder of a million files, a
# gigabyte of lesson text or a link to a file outside the pack is refused up front.
MAX_PACK_FILES = 5000
MAX_PACK_BYTES = 200 * 1024 * 1024
MAX_TEXT_FILE_BYTES = 1024 * 1024

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MISSING = object()


class PackInvalid(Exception):
    """The pack was refused; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class TomlFile:
    """A parsed TOML file that can say on which line a key is, for error messages."""

    def __init__(self, relative_path: str, text: str, data: dict[str, Any]):
        self.path = relative_path
        self.text = text
        self.data = data
        self._lines = _key_lines(text)

    def line_of(self, key_path: KeyPath | str) -> int:
        """The line of the key, or of its nearest enclosing table, or 1."""
        if isinstance(key_path, str):
            key_path = tuple(key_path.split("."))
        path = tuple(key_path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return 1


_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)]


def _key_lines(text: str) -> dict[KeyPath, int]:
    """Map key paths such as ("parts", 1, "answer") to the line they are written on."""
    lines: dict[KeyPath, int] = {}
    array_counts: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_multiline = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if match := _ARRAY_TABLE.match(raw):
            names = _split_dotted(match.group(1))
            table = (*_resolve(names[:-1], array_counts), names[-1])
            index = array_counts.get(table, -1) + 1
            array_counts[table] = index
            table = (*table, index)
            lines.setdefault(table[:-1], number)
            lines.setdefault(table, number)
        elif match := _TABLE.match(raw):
            table = _resolve(_split_dotted(match.group(1)), array_counts)
            lines.setdefault(table, number)
        elif match := _KEY.match(raw):
            key_path = table + tuple(_split_dotted(match.group(1)))
            lines.setdefault(key_path, number)
            rest = raw[match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _resolve(names: list[str], array_counts: dict[KeyPath, int]) -> KeyPath:
    """Turn `parts.feedback` into ("parts", 2, "feedback") when `parts` is an array of tables."""
    path: KeyPath = ()
    for name in names:
        path = (*path, name)
        if path in array_counts:
            path = (*path, array_counts[path])
    return path


class PackReader:
    """Reads a pack's files and collects every problem instead of stopping at the first."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self._ids: dict[str, str] = {}

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(self, where: Path | str | TomlFile, message: str, line: int | None = None) -> None:
        if isinstance(where, TomlFile):
            where = where.path
        elif isinstance(where, Path):
            where = self.relative(where)
        self.problems.append(Problem(where, message, line))

    def key_problem(self, toml: TomlFile, key_path: KeyPath | str, message: str) -> None:
        self.problem(toml, message, toml.line_of(key_path))

    def read_text(self, path: Path) -> str | None:
        if not path.is_file():
            self.problem(path, "file is missing")
            return None
        if path.stat().st_size > MAX_TEXT_FILE_BYTES:
            self.problem(path, f"is larger than {MAX_TEXT_FILE_BYTES // 1024} KB: split it, or move data out of it")
            return None
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            line = path.read_bytes()[: error.start].count(b"\n") + 1
            self.problem(path, "is not valid UTF-8 text", line)
            return None

    def read_toml(self, path: Path) -> TomlFile | None:
        text = self.read_text(path)
        if text is None:
            return None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            line = None
            if match := re.search(r"\(at line (\d+), column \d+\)", message):
                line = int(match.group(1))
                message = message[: match.start()].strip()
            elif "end of document" in message:
                line = text.count("\n") + 1
            self.problem(path, f"is not valid TOML: {message}", line)
            return None
        return TomlFile(self.relative(path), text, data)

    def value(
        self,
        toml: TomlFile,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = MISSING,
        *,
        table: dict[str, Any] | None = None,
        key_path: KeyPath | None = None,
    ) -> Any:
        """A typed value from the file (or from one of its tables), or a problem and None."""
        source = toml.data if table is None else table
        key_path = key_path or (key,)
        if key not in source:
            if default is MISSING:
                self.key_problem(toml, key_path[:-1], f"missing required key `{'.'.join(map(str, key_path))}`")
                return None
            return default
        value = source[key]
        # bool is an int in Python; a `points = true` is still a mistake.
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(_type_name(k) for k in kinds)
            self.key_problem(toml, key_path, f"`{key}` must be {names}, not {_type_name(type(value))}")
            return None
        if isinstance(value, str) and str in kinds and not value.strip() and default is MISSING:
            self.key_problem(toml, key_path, f"`{key}` must not be empty")
            return None
        return value

    def unknown_keys(self, toml: TomlFile, known: set[str], table: dict | None = None, prefix: KeyPath = ()) -> None:
        for key in (toml.data if table is None else table):
            if key not in known:
                self.key_problem(
                    toml, (*prefix, key), f"unknown key `{key}` (expected one of: {', '.join(sorted(known))})"
                )

    def claim_id(self, toml: TomlFile, key_path: KeyPath = ("id",), table: dict | None = None) -> str | None:
        """The item's stable id, checked for form and for uniqueness across the whole pack."""
        source = toml.data if table is None else table
        item_id = self.value(toml, str(key_path[-1]), str, table=source, key_path=key_path)
        if item_id is None:
            return None
        if not ID_PATTERN.match(item_id):
            self.key_problem(
                toml, key_path, f"id {item_id!r} must be 3-64 letters, digits, '.', '_', ':' or '-' (a UUID is ideal)"
            )
            return None
        if item_id in self._ids:
            self.key_problem(toml, key_path, f"id {item_id!r} is already used by {self._ids[item_id]}")
            return None
        self._ids[item_id] = f"{toml.path}:{toml.line_of(key_path)}"
        return item_id


def _type_name(kind: type) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
            dict: "a table"}.get(kind, kind.__name__)


class ItemKind:
    """One kind of item a lesson can hold, read from the lesson's folder named `folder`.

    Subclasses read their folder (reporting problems through the reader), optionally
    verify what they read (e.g. run an exercise's tests), and save items keyed by their
    pack id, which is unique within a course.
    """

    folder: ClassVar[str]

    def read(self, reader: PackReader, folder: Path) -> list[Any]:
        raise NotImplementedError

    def verify(self, reader: PackReader, items: list[Any]) -> None:
        """Checks too slow or too deep for `read`; problems go to the reader."""

    def save(self, lesson: Any, items: list[Any]) -> Counter:
        """Create or update the items under `lesson`; count what was created/updated/unchanged."""
        raise NotImplementedError

    def retire(self, course: Any, kept_ids: set[str]) -> int:
        """Archive this kind's items of `course` that left the pack; return how many."""
        raise NotImplementedError


ITEM_KINDS: dict[str, ItemKind] = {}


def register_item_kind(kind: ItemKind) -> None:
    ITEM_KINDS[kind.folder] = kind


@dataclass
class LessonSource:
    pack_id: str
    title: str
    slug: str
    summary: str
    body: str
    position: int
    items: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class CourseSource:
    pack_id: str
    title: str
    slug: str
    description: str
    lessons: list[LessonSource]


COURSE_KEYS = {"id", "title", "slug", "description"}
LESSON_KEYS = {"id", "title", "slug", "summary"}


def read_pack(root: Path, *, verify: bool = True) -> CourseSource:
    """Read and validate a whole pack; raise PackInvalid with every problem found.

    `verify=False` skips the item kinds' deep checks (running exercises' tests in the
    sandbox), for a machine that cannot sandbox: loading is safe there, grading is not.
    """
    root = Path(root)
    reader = PackReader(root)
    if not root.is_dir():
        raise PackInvalid([Problem(str(root), "is not a folder")])
    check_pack_size(reader)
    course_toml = reader.read_toml(root / "course.toml")
    course = None
    if course_toml:
        reader.unknown_keys(course_toml, COURSE_KEYS)
        course_id = reader.claim_id(course_toml)
        title = reader.value(course_toml, "title", str)
        slug = reader.value(course_toml, "slug", str)
        if slug is not None and not SLUG_PATTERN.match(slug):
            reader.key_problem(course_toml, "slug", f"slug {slug!r} must be lower-case letters, digits and dashes")
        description = reader.value(course_toml, "description", str, "")
        course = CourseSource(course_id, title, slug, description, [])

    lessons_dir = root / "lessons"
    if not lessons_dir.is_dir():
        reader.problem(lessons_dir, "folder is missing: a pack needs at least one lesson")
    else:
        slugs: dict[str, str] = {}
        folders = sorted(p for p in lessons_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        for position, folder in enumerate(folders, start=1):
            lesson = _read_lesson(reader, folder, position)
            if lesson and course:
                if lesson.slug in slugs:
                    reader.problem(folder / "lesson.toml", f"slug {lesson.slug!r} is also used by {slugs[lesson.slug]}")
                slugs[lesson.slug] = reader.relative(folder)
                course.lessons.append(lesson)

    if verify and not reader.problems:
        for kind in ITEM_KINDS.values():
            kind.verify(reader, [item for lesson in course.lessons for item in lesson.items.get(kind.folder, [])])
    if reader.problems:
        raise PackInvalid(reader.problems)
    return course


def check_pack_size(reader: PackReader) -> None:
    """Refuse, before parsing anything, a pack with too many files, too many bytes, or a link
    that leads outside it (a pack from a repository must not read the machine's other files)."""
    root = reader.root.resolve()
    count = 0
    total = 0
    for folder, subfolders, files in os.walk(reader.root):
        for name in subfolders + files:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                reader.problem(path, "is a link to something outside the pack; copy the file into the pack instead")
        subfolders[:] = [name for name in subfolders if not (Path(folder) / name).is_symlink()]
        for name in files:
            path = Path(folder) / name
            count += 1
            total += path.stat().st_size if path.exists() else 0
        if count > MAX_PACK_FILES:
            reader.problem(".", f"the pack holds more than {MAX_PACK_FILES} files; is this the right folder?")
            break
    if total > MAX_PACK_BYTES:
        reader.problem(".", f"the pack's files add up to {total:,} bytes, more than the "
                            f"{MAX_PACK_BYTES // (1024 * 1024)} MB ({MAX_PACK_BYTES:,} bytes) that is read: "
                            "move large data out of the pack")
    if reader.problems:
        raise PackInvalid(reader.problems)


def _read_lesson(reader: PackReader, folder: Path, position: int) -> LessonSource | None:
    toml = reader.read_toml(folder / "lesson.toml")
    body = reader.read_text(folder / "lesson.md")
    items: dict[str, list[Any]] = {}
    for child in sorted(folder.iterdir()):
        if child.name.startswith(".") or child.name in ("lesson.toml", "lesson.md"):
            continue
        kind = ITEM_KINDS.get(child.name) if child.is_dir() else None
        if kind is None:
            allowed = ", ".join(f"{name}/" for name in sorted(ITEM_KINDS)) or "none yet"
            reader.problem(
                child, f"unexpected {'folder' if child.is_dir() else 'file'}: a lesson holds lesson.toml, "
                f"lesson.md and item folders ({allowed})"
            )
            continue
        items[kind.folder] = kind.read(reader, child)
    if toml is None or body is None:
        return None
    reader.unknown_keys(toml, LESSON_KEYS)
    lesson_id = reader.claim_id(toml)
    title = reader.value(toml, "title", str)
    default_slug = slugify(re.sub(r"^\d+[-_ ]*", "", folder.name))
    slug = reader.value(toml, "slug", str, default_slug)
    if slug is not None and not SLUG_PATTERN.match(slug):
        reader.key_problem(toml, "slug", f"slug {slug!r} must be lower-case letters, digits and dashes")
    summary = reader.value(toml, "summary", str, "")
    if None in (lesson_id, title, slug, summary):
        return None
    return LessonSource(lesson_id, title, slug, summary, body, position, items)


def upsert(model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    """Create or update one row; say whether it was `created`, `updated` or `unchanged`."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.save()
        return obj, "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save()
    return obj, "updated"


@dataclass
class LoadReport:
    course: Any
    counts: dict[str, Counter]
    written: bool

    def lines(self) -> list[str]:
        lines = []
        for what, counter in self.counts.items():
            parts = [f"{counter[state]} {state}" for state in ("created", "updated", "unchanged", "archived", "checked")
                     if counter[state]]
            lines.append(f"{what}: {', '.join(parts) or 'none'}")
        return lines


def load_pack(root: Path, *, check_only: bool = False, owner: Any = None, verify: bool = True) -> LoadReport:
    """Read a pack and, unless `check_only`, write it to the database in one transaction."""
    from .models import Course, Lesson, Membership

    source = read_pack(Path(root), verify=verify)
    counts: dict[str, Counter] = {"course": Counter(), "lessons": Counter()}
    for folder in ITEM_KINDS:
        counts[folder] = Counter()
    if check_only:
        counts["course"]["checked"] += 1
        counts["lessons"]["checked"] += len(source.lessons)
        for lesson in source.lessons:
            for folder, items in lesson.items.items():
                counts[folder]["checked"] += len(items)
        return LoadReport(None, counts, written=False)

    taken = Course.objects.filter(slug=source.slug).exclude(pack_id=source.pack_id).first()
    if taken:
        raise PackInvalid([Problem("course.toml", f"slug {source.slug!r} is taken by the course "
                                             f"{taken.title!r}; choose another slug")])
    with transaction.atomic():
        course, state = upsert(
            Course,
            {"pack_id": source.pack_id},
            {"title": source.title, "slug": source.slug, "description": source.description},
        )
        counts["course"][state] += 1
        if owner is not None:
            Membership.objects.update_or_create(
                user=owner, course=course, defaults={"role": Membership.Role.INSTRUCTOR}
            )
            if course.created_by is None:
                course.created_by = owner
                course.save(update_fields=["created_by"])
        kept_lessons = set()
        kept_items: dict[str, set[str]] = {folder: set() for folder in ITEM_KINDS}
        for lesson_source in source.lessons:
            lesson, state = upsert(
                Lesson,
                {"course": course, "pack_id": lesson_source.pack_id},
                {
                    "title": lesson_source.title,
                    "slug": lesson_source.slug,
                    "summary": lesson_source.summary,
                    "body": lesson_source.body,
                    "position": lesson_source.position,
                    "archived": False,
                },
            )
            counts["lessons"][state] += 1
            kept_lessons.add(lesson_source.pack_id)
            for folder, kind in ITEM_KINDS.items():
                items = lesson_source.items.get(folder, [])
                counts[folder].update(kind.save(lesson, items))
                kept_items[folder].update(item.pack_id for item in items)
        gone = course.lessons.filter(archived=False).exclude(pack_id__in=kept_lessons).exclude(pack_id=None)
        counts["lessons"]["archived"] += gone.update(archived=True)
        for folder, kind in ITEM_KINDS.items():
            counts[folder]["archived"] += kind.retire(course, kept_items[folder])
    # Unary plus drops the zero counts, so a report lists only what happened.
    return LoadReport(course, {what: +counter for what, counter in counts.items()}, written=True)
