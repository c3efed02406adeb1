"""What is wrong with a file of an exercise or a course pack: one type, for the pack loader to report.

The exercise checks (graders.engine, the questions' format) and the pack reader (courses.packs)
all say a problem this way; the loader turns a key path into a line when it has the file's text.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where a value sits in a TOML file: ("parts", 1, "answer") is the `answer` of the second [[parts]].
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """Something wrong with `file` (its path in the pack or the exercise folder), at a line or a key path."""

    file: str
    message: str
    line: int | None = None
    key_path: KeyPath = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"
