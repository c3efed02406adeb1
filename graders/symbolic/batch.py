"""Batch checking of answer files (check_answers): one JSON object per line in, one result per line out."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator

from graders.symbolic.equivalence import DEFAULT_TIME_LIMIT, TEST_KINDS, AnswerTest, compare, forms_of
from graders.symbolic.forms import FORMS
from graders.symbolic.parsing import (
    ASSUMPTIONS,
    FLOAT_POLICIES,
    MathInputError,
    MathSpec,
    infer_names,
    name_key,
    spec_problems,
)

_BATCH_KEYS = {
    "id", "student", "reference", "variables", "functions", "assumptions", "floats", "test", "form",
    "relative_tolerance", "absolute_tolerance", "significant_figures", "variable", "expected",
}  # fmt: skip


def record_spec(record: dict) -> MathSpec:
    """The MathSpec a record's answers are read with: its variables, functions, assumptions and floats."""
    assumptions = record.get("assumptions", "real")
    if isinstance(assumptions, str):
        if assumptions not in ASSUMPTIONS:
            raise ValueError(f"assumptions: unknown assumption `{assumptions}`; use one of {', '.join(ASSUMPTIONS)}")
    elif not isinstance(assumptions, dict) or not all(isinstance(value, str) for value in assumptions.values()):
        raise ValueError("`assumptions` must be one assumption for all variables, or a table of them by name")
    names = record.get("variables")
    functions = record.get("functions")
    inferred_variables, inferred_functions = infer_names(record["student"], record["reference"])
    # A name only the student calls is not a function: signum(-3) must be read as the sign
    # function or refused, never taken for an undefined f and judged.
    inferred_functions &= infer_names(record["reference"])[1]
    # Names nobody declared are told apart by their spelling alone: x1 is not x_1 (as CAS graders
    # read them). Declared names are matched as in a pack, where z1 is the declared z_1.
    exact_names = names is None
    key = (lambda name: name) if exact_names else name_key
    if names is None:
        names = sorted(inferred_variables - set(functions or []))
    elif not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("`variables` must be a list of names")
    if functions is None:
        taken = {key(name) for name in names}
        functions = sorted(name for name in inferred_functions if key(name) not in taken)
    elif not isinstance(functions, list) or not all(isinstance(name, str) for name in functions):
        raise ValueError("`functions` must be a list of names")
    floats = record.get("floats", "exact")
    if floats not in FLOAT_POLICIES:
        raise ValueError(f"`floats` must be one of {', '.join(FLOAT_POLICIES)}")

    def assumption_of(name: str) -> str:
        return assumptions if isinstance(assumptions, str) else assumptions.get(name, "real")

    spec = MathSpec(variables={name: assumption_of(name) for name in names}, functions=functions, floats=floats,
                    exact_names=exact_names)
    problems = spec_problems(spec)
    if problems:
        path, message = problems[0]
        key = "assumptions" if message.startswith("unknown assumption") else path[0]
        raise ValueError(f"{key}: {message}")
    return spec


def _record_test(record: dict, spec: MathSpec) -> AnswerTest:
    kind = record.get("test", "equivalent")
    if kind not in TEST_KINDS:
        raise ValueError(f"`test` must be one of {', '.join(TEST_KINDS)}")
    variable = record.get("variable", "")
    if variable and kind != "antiderivative":
        raise ValueError('`variable` is the variable of integration of `"test": "antiderivative"`')
    if variable and name_key(variable) not in {name_key(name) for name in spec.variables}:
        raise ValueError(f"`variable`: `{variable}` is not one of the variables ({', '.join(spec.variables)})")
    tolerances = {}
    for key in ("relative_tolerance", "absolute_tolerance"):
        value = record.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"`{key}` must be a number, 0 or more")
        tolerances[key] = float(value)
    figures = record.get("significant_figures", 0)
    if isinstance(figures, bool) or not isinstance(figures, int) or not 0 <= figures <= 15:
        raise ValueError("`significant_figures` must be a whole number from 1 to 15")
    return AnswerTest(kind=kind, variable=variable, significant_figures=figures, **tolerances)


def _record_forms(record: dict) -> list[str]:
    forms = record.get("form", [])
    forms = [forms] if isinstance(forms, str) else forms
    if not isinstance(forms, list) or not all(form in FORMS for form in forms):
        raise ValueError(f"`form` must be one of {', '.join(FORMS)}, or a list of them")
    return forms


def check_answer_record(record: dict, *, time_limit: float = DEFAULT_TIME_LIMIT) -> dict:
    """Checks one {"student", "reference", ...} record; see the check_answers command for the keys.

    Without `variables`, every name in either expression that is not a known function or
    constant is a variable, told apart by its exact spelling (x1 and x_1 are two); without
    `functions`, a name the reference calls and that is always followed by `(` is a function
    (`f(x)`), and any other call of an unknown name is refused. `assumptions` is one assumption ("real" by default,
    "positive"...) for all variables, or a table {name: assumption}. `variable` names the
    variable of integration of an antiderivative. With `expected` (true, false or null) the
    result says whether the outcome matched; with `form`, "passed" needs the form too. An
    unreadable student answer gives equivalent null, method "invalid" and the reason.
    Raises ValueError for a malformed record (an unreadable reference included).
    """
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(record) - _BATCH_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_BATCH_KEYS))}")
    for key in ("student", "reference"):
        if not isinstance(record.get(key), str):
            raise ValueError(f"`{key}` must be a string")
    spec = record_spec(record)
    test = _record_test(record, spec)
    forms = _record_forms(record)
    try:
        outcome = compare(record["student"], record["reference"], spec, time_limit=time_limit, test=test)
    except MathInputError as error:
        raise ValueError(f"reference: {error}") from None
    result: dict = {} if "id" not in record else {"id": record["id"]}
    result.update(
        equivalent=outcome.equivalent,
        interpreted_as=outcome.interpreted_as,
        message=outcome.message,
        method=outcome.method,
    )
    passed = outcome.equivalent
    if forms:
        missing = forms_of(record["student"], spec, forms, time_limit=time_limit) if outcome.equivalent else []
        result["form_problems"] = missing
        if outcome.equivalent:
            passed = None if missing is None else not missing
    if "expected" in record:
        if record["expected"] not in (True, False, None):
            raise ValueError("`expected` must be true, false or null")
        result["as_expected"] = passed == record["expected"]
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
