"""Batch checking of answer files (check_answers): one JSON object per line in, one result per line out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from graders.symbolic.equivalence import DEFAULT_TIME_LIMIT, compare
from graders.symbolic.parsing import (
    MathInputError,
    MathSpec,
    names_in,
    spec_problems,
)

_BATCH_KEYS = {"id", "student", "reference", "variables", "assumptions", "expected"}


def check_answer_record(record: dict, *, time_limit: float = DEFAULT_TIME_LIMIT) -> dict:
    """Checks one {"student", "reference", "variables"?, "assumptions"?, "id"?, "expected"?} record.

    Without `variables`, every name in either expression that is not a known function or
    constant is a variable. `assumptions` is "real" (default) or "positive", for all variables.
    With `expected` (true, false or null) the result says whether the outcome matched.
    Raises ValueError for a malformed record.
    """
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(record) - _BATCH_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_BATCH_KEYS))}")
    for key in ("student", "reference"):
        if not isinstance(record.get(key), str):
            raise ValueError(f"`{key}` must be a string")
    assumption = record.get("assumptions", "real")
    if assumption not in ("real", "positive"):
        raise ValueError('`assumptions` must be "real" or "positive"')
    names = record.get("variables")
    if names is None:
        names = names_in(record["student"]) | names_in(record["reference"])
    elif not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("`variables` must be a list of names")
    spec = MathSpec(variables=dict.fromkeys(sorted(names), assumption))
    problems = spec_problems(spec)
    if problems:
        raise ValueError(f"variables: {problems[0][1]}")
    try:
        outcome = compare(record["student"], record["reference"], spec, time_limit=time_limit)
    except MathInputError as error:
        raise ValueError(f"reference: {error}") from None
    result: dict = {} if "id" not in record else {"id": record["id"]}
    result.update(
        equivalent=outcome.equivalent,
        interpreted_as=outcome.interpreted_as,
        message=outcome.message,
        method=outcome.method,
    )
    if "expected" in record:
        if record["expected"] not in (True, False, None):
            raise ValueError("`expected` must be true, false or null")
        result["as_expected"] = outcome.equivalent == record["expected"]
    return result


def check_answers_jsonl(lines: Iterable[str], *, time_limit: float = DEFAULT_TIME_LIMIT) -> Iterator[dict]:
    """One result per non-blank line, with its line number; a malformed line gives {"line", "error"}."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield {"line": number, **check_answer_record(record, time_limit=time_limit)}
        except json.JSONDecodeError as error:
            yield {"line": number, "error": f"not valid JSON: {error.msg} (column {error.colno})"}
        except ValueError as error:
            yield {"line": number, "error": str(error)}
