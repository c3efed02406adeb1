"""What the student reads: messages for code that did not load or failed a test, and values described in words."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable

import numpy as np
import torch

from graders.sandbox import Failure, Limits, ModelRef

from .failures import StudentCodeFailed

# Failures that are resource limits: the verdict's message names them and the test.
LIMIT_KINDS = ("time", "cpu", "memory", "output", "processes", "file_size", "open_files")
MAX_STDOUT_SHOWN = 8192
# What a protocol-breaking reply makes of the whole submission.
CHANNEL_BROKEN = (
    "Your code wrote to the grader's channel, or returned something the grader cannot read ({detail}). "
    "Nothing of this submission can be graded, so it scores 0. Return plain values (tensors, arrays, "
    "numbers, strings, lists) and leave file descriptor 3 alone."
)

# What a failed hidden test shows when no more precise text is given.
HIDDEN_FAILED = "This hidden test failed."
BUDGET_SPENT = "Not run: your code used up this submission's time ({seconds:g} s for all the tests together)."


def spelled_lines(source: str, names: Iterable[str]) -> list[tuple[int, str]]:
    """(line, name) of each use of one of `names` in `source`, in line order.

    A use is an attribute (`F.softmax`, `x.softmax(...)`) or a `from ... import` of the name:
    only to point the student at a line (what ran decides). Code that does not parse has none.
    """
    wanted = set(names)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in wanted:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found.extend((node.lineno, alias.name) for alias in node.names if alias.name in wanted)
    return sorted(found)


def hidden_code_failure(failed: StudentCodeFailed) -> str:
    """What a hidden test says when the student's code raised or hit a limit: never the inputs or traceback."""
    failure = failed.failure
    if failure is not None and failure.kind in LIMIT_KINDS:
        return f"{capitalized(failure.message)} in this hidden test."
    if failure is not None and failure.kind == "exception":
        # Only a built-in exception's name: a class the student named could spell out the inputs.
        name = failure.message.partition(":")[0]
        builtin = getattr(builtins, name, None)
        error = name if isinstance(builtin, type) and issubclass(builtin, BaseException) else "an error"
        return f"Your code raised {error} in this hidden test (its details would show the test's inputs)."
    return "Your code gave this hidden test no answer it could check (the details would show the test's inputs)."


def output_shown(text: str) -> str:
    if len(text) <= MAX_STDOUT_SHOWN:
        return text
    return text[:MAX_STDOUT_SHOWN] + "\n… (output truncated)"


def load_failure_message(failure: Failure, limits: Limits) -> str:
    """What to tell the student when their module did not load."""
    if failure.kind == "syntax":
        return syntax_message(failure)
    if failure.kind == "exception":
        return f"Your code raised an error while loading:\n{failure.traceback or failure.message}"
    if failure.kind == "exit":
        return f"{capitalized(failure.message)} while loading; remove it so the tests can run."
    if failure.kind in LIMIT_KINDS:
        return f"{capitalized(failure.message)} while loading your code."
    if failure.kind == "forbidden":  # only a test with a rule takes pieces away: this reply was forged
        return "Your code ran one of torch's ready-made pieces while loading."
    return f"{capitalized(failure.message)} while loading."


def syntax_message(failure: Failure) -> str:
    """A plain message for a syntax error: the line, what is wrong, what to check."""
    text = failure.text.rstrip("\n")
    message = failure.message
    lowered = message.lower()
    if failure.indentation:
        hint = "check the indentation: the lines of a block must line up (4 spaces per level)"
    elif (
        "never closed" in lowered
        or "unmatched" in lowered
        or "does not match" in lowered
        or _unbalanced(text)
    ):
        hint = "check the parentheses and brackets"
    elif "expected ':'" in lowered:
        hint = "a line starting with def, if, for, while or class must end with a colon"
    elif "unterminated string" in lowered or "unterminated triple-quoted" in lowered:
        hint = "a string is missing its closing quote"
    elif "invalid syntax" in lowered:
        hint = "check the parentheses, colons and quotes on this line and the line before"
    else:
        hint = ""
    head = f"Line {failure.line}: {message}" + (f" — {hint}" if hint else "")
    if text.strip():
        stripped = text.lstrip()
        caret = min(max(failure.column - 1 - (len(text) - len(stripped)), 0), len(stripped))
        head += f"\n    {stripped}\n    {' ' * caret}^"
    return head


def _unbalanced(line: str) -> bool:
    return any(line.count(opening) != line.count(closing) for opening, closing in ("()", "[]", "{}"))


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def short_text(value: object) -> str | None:
    """A value written out in a call description, or None for tensors and big values (named instead)."""
    if isinstance(value, torch.Tensor | np.ndarray | ModelRef | torch.Generator):
        return None
    text = repr(value)
    return text if len(text) <= 40 else None


def shape_words(value: object) -> str:
    if isinstance(value, torch.Tensor | np.ndarray):
        return f"of shape {tuple(value.shape)}"
    if isinstance(value, ModelRef):
        return f"= {value!r}"
    if isinstance(value, torch.Generator):
        return f"= a torch.Generator seeded with {value.initial_seed()}"
    if isinstance(value, list | tuple | dict):
        return f"of length {len(value)}"
    return f"= {kind_of(value)}"


def kind_of(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def expected_kind(returns: type | tuple[type, ...]) -> str:
    kinds = returns if isinstance(returns, tuple) else (returns,)
    words = {
        torch.Tensor: "a tensor",
        np.ndarray: "a numpy array",
        list: "a list",
        int: "an int",
        float: "a float",
    }
    return " or ".join(words.get(kind, f"a {kind.__name__}") for kind in kinds)
