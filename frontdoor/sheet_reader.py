"""Read the first sheet of an uploaded .xlsx in a child process, on a budget of time and memory.

openpyxl loops where the caller cannot look at a clock (the shared strings, every cell of a
row) and keeps what it reads in memory, so a crafted workbook within every size limit could
still hold a web process for minutes or fill its memory. The child (this file, run as a
script with `python -I`, a scrubbed environment: no Django, no project code, no secrets) limits
itself before it reads a byte: address space (RLIMIT_AS), CPU seconds, no files written. An
interval timer stops the parse between two Python steps when the time is up; where openpyxl is
inside C for long (expat on a deeply nested part), the CPU limit ends the process, and the
parent kills it if it has not answered soon after. It refuses a cell longer than the limit
before any text is copied or normalised, and sends back plain JSON: the rows, or why the file
was refused.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class SheetLimits:
    max_rows: int  # rows read from the top; a value in the row after them is refused
    max_columns: int  # columns read from the left; a value in the column after them is refused
    max_cell_characters: int
    max_total_characters: int
    seconds: float
    memory_bytes: int


class SheetRefused(ValueError):
    """The sheet is over a limit; the message says which, where, and the limit."""


class SheetUnreadable(ValueError):
    """The file could not be read as a workbook at all."""


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def read_first_sheet(data: bytes, limits: SheetLimits) -> list[list]:
    """The first sheet's rows (str, int, float, bool or None in each cell), read by a child process."""
    wall = limits.seconds + 2  # the interpreter's start and openpyxl's import
    try:
        finished = subprocess.run(
            [sys.executable, "-I", str(Path(__file__).resolve()), json.dumps(asdict(limits))],
            input=data, capture_output=True, timeout=wall, check=False,
            env={"LC_ALL": "C.UTF-8"}, cwd="/",  # nothing of the site's settings or secrets
        )
    except subprocess.TimeoutExpired:
        raise SheetRefused(_stopped(limits)) from None
    try:
        answer = json.loads(finished.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if finished.returncode < 0 and -finished.returncode in (_signal("SIGXCPU"), _signal("SIGKILL")):
            raise SheetRefused(_stopped(limits))
        if finished.stderr.rstrip().endswith(b"MemoryError"):
            # Out of memory again while handling it (its message needs memory too): the limit, not damage.
            raise SheetRefused(_too_big(limits))
        raise SheetUnreadable("the reader stopped without an answer")
    if "refused" in answer:
        raise SheetRefused(str(answer["refused"]))
    if "unreadable" in answer:
        raise SheetUnreadable(str(answer["unreadable"]))
    return answer["rows"]


def _signal(name: str) -> int:
    import signal

    return int(getattr(signal, name))


def _too_slow(limits: SheetLimits) -> str:
    return f"reading it took more than {limits.seconds:g} s, so it was stopped"


def _too_big(limits: SheetLimits) -> str:
    return f"reading it needed more than {limits.memory_bytes // MB} MB of memory, so it was stopped"


def _stopped(limits: SheetLimits) -> str:
    """Killed from outside: by then it was out of time, or had spent it waiting for memory."""
    return (f"reading it took more than {limits.seconds:g} s (or more than {limits.memory_bytes // MB} MB of "
            "memory), so it was stopped")


# -- the child --------------------------------------------------------------------------------


class _TimeUp(BaseException):
    """Not an Exception: openpyxl's own `except Exception` must not turn it into a damaged file."""


def _limit_self(limits: SheetLimits) -> None:
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = math.ceil(limits.seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    def time_up(_signum, _frame):
        raise _TimeUp

    signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, limits.seconds)


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # a date, a time: their text is all a question could use


def _read(data: bytes, limits: SheetLimits) -> dict:
    from io import BytesIO

    from openpyxl import load_workbook

    workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            return {"unreadable": "the workbook has no sheet"}
        sheet = workbook.worksheets[0]
        rows, total = [], 0
        for number, row in enumerate(sheet.iter_rows(max_row=limits.max_rows + 1, max_col=limits.max_columns + 1,
                                                     values_only=True), start=1):
            for column, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                where = f"{column_letter(column)}{number}"
                if number > limits.max_rows:
                    return {"refused": f"row {number} holds something (cell {where}); at most {limits.max_rows} "
                                       "rows are read"}
                if column > limits.max_columns:
                    return {"refused": f"column {column_letter(column)} holds something (cell {where}); at most "
                                       f"{limits.max_columns} columns (A to {column_letter(limits.max_columns)}) "
                                       "are read"}
                if isinstance(value, str):
                    if len(value) > limits.max_cell_characters:
                        return {"refused": f"cell {where} holds {len(value):,} characters; a cell may hold at most "
                                           f"{limits.max_cell_characters:,}"}
                    total += len(value)
                    if total > limits.max_total_characters:
                        return {"refused": f"its cells hold more than {limits.max_total_characters:,} characters "
                                           f"of text (by cell {where})"}
            if number <= limits.max_rows:
                rows.append([_plain(value) for value in row[:limits.max_columns]])
        return {"rows": rows}
    finally:
        workbook.close()


def _child() -> None:
    limits = SheetLimits(**json.loads(sys.argv[1]))
    import openpyxl  # noqa: F401  (imported before the budget starts)

    _limit_self(limits)
    try:
        answer = _read(sys.stdin.buffer.read(), limits)
    except _TimeUp:
        answer = {"refused": _too_slow(limits)}
    except MemoryError:
        answer = {"refused": _too_big(limits)}
    except zlib.error as error:  # Z_MEM_ERROR (-4) is zlib's MemoryError; other codes, damaged data
        answer = {"refused": _too_big(limits)} if "Error -4 " in str(error) else {"unreadable": str(error)}
    except RecursionError:
        answer = {"refused": "its XML is nested too deeply"}
    except Exception as error:  # anything a damaged or crafted file makes openpyxl raise
        answer = {"unreadable": f"{type(error).__name__}: {error}"[:300]}
    import signal

    signal.setitimer(signal.ITIMER_REAL, 0)
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _child()
