"""Resource limits of one sandboxed submission, with defaults and the exercise.toml `[limits]` table."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    """What one submission may use. `wall_seconds` applies to each call; the rest to the whole sandbox.

    `submission_seconds` is the wall-clock budget of the whole grading (every call, every restart
    of a sandbox, and the grader's own decoding and comparing); 0 means 3 x `wall_seconds`.
    """

    cpu_seconds: float = 10.0
    wall_seconds: float = 5.0
    submission_seconds: float = 0.0
    memory_mb: int = 512
    processes: int = 16
    file_size_mb: int = 8
    open_files: int = 64
    output_kb: int = 64

    @classmethod
    def from_table(cls, table: dict) -> Limits:
        """Limits from an exercise.toml `[limits]` table; unknown keys and bad values raise ValueError."""
        known = {field.name: field.type for field in fields(cls)}
        values = {}
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"unknown limit {key!r} in [limits]; known limits: {', '.join(known)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"limit {key} must be a positive number, not {value!r}")
            values[key] = float(value) if known[key] == "float" else int(value)
        return replace(cls(), **values)

    @property
    def budget_seconds(self) -> float:
        """The submission's whole wall-clock budget."""
        return self.submission_seconds or 3 * self.wall_seconds

    def within(self, ceiling: Limits) -> bool:
        """True if no limit is above the ceiling the sandbox was started with."""
        return all(getattr(self, field.name) <= getattr(ceiling, field.name) for field in fields(self))


# What warm sandboxes are started with: an exercise can lower limits, never raise them past this.
CEILING = Limits(
    cpu_seconds=120.0,
    wall_seconds=120.0,
    submission_seconds=600.0,
    memory_mb=4096,
    processes=64,
    file_size_mb=64,
    open_files=256,
    output_kb=1024,
)
