"""The `kind = "questions"` exercise format: parts as plain data, validated with a key path per problem."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from graders.problems import KeyPath, Problem
from graders.questions.numeric import UnitError, parse_unit
from graders.symbolic import (
    FLOAT_POLICIES,
    FORMS,
    TEST_KINDS,
    AnswerTest,
    MathInputError,
    MathSpec,
    parse,
    spec_problems,
)

PART_TYPES = ("symbolic", "numeric", "choice", "text")
# A part with neither tolerance gets this one: students round.
DEFAULT_RELATIVE_TOLERANCE = 0.01
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")


@dataclass(kw_only=True)
class Part:
    id: str
    type: str
    prompt: str
    points: float
    title: str = ""

    def policy_text(self) -> str:
        """What the student is told about how the answer is judged ("Give an exact answer..."); may be empty."""
        return ""


@dataclass(kw_only=True)
class FeedbackRule:
    """If the answer equals `if_equals`, show `message` and give `points` (0 unless set)."""

    if_equals: str
    message: str
    points: float = 0.0


@dataclass(kw_only=True)
class SymbolicPart(Part):
    """A formula. `test` says how it is compared (and with what tolerance); `forms` are checked on a
    right answer, which then scores `form_credit` of the points if it is not in them (a hint, never "wrong")."""

    answer: str
    math: MathSpec
    feedback: list[FeedbackRule] = field(default_factory=list)
    test: AnswerTest = field(default_factory=AnswerTest)
    forms: list[str] = field(default_factory=list)
    form_credit: float = 1.0

    def policy_text(self) -> str:
        sentences = [_number_policy(self.test, self.math.floats)]
        if self.test.kind == "antiderivative":
            variable = f" with respect to {self.test.variable}" if self.test.variable else ""
            sentences.append(f"Any antiderivative{variable} is right; you may add a constant C.")
        elif self.test.kind == "substitution":
            sentences.append("You may name the variables as you like.")
        sentences.extend(_FORM_POLICIES[form] for form in self.forms)
        return " ".join(sentence for sentence in sentences if sentence)


@dataclass(kw_only=True)
class NumericPart(Part):
    answer: float
    unit: str | None = None
    absolute_tolerance: float = 0.0
    relative_tolerance: float = 0.0
    significant_figures: int = 0

    def policy_text(self) -> str:
        if self.significant_figures:
            return f"Give your answer to {self.significant_figures} significant figures."
        relative = f"{self.relative_tolerance * 100:g}%" if self.relative_tolerance else ""
        absolute = f"±{self.absolute_tolerance:g}" if self.absolute_tolerance else ""
        if relative and absolute:
            return f"Answers within {absolute} or {relative} of the exact value (the larger) are accepted."
        if relative or absolute:
            return f"Answers within {relative or absolute} of the exact value are accepted."
        return "Give the exact value."


_FORM_POLICIES = {
    "expanded": "Expand your answer.",
    "factored": "Factor your answer completely.",
    "simplified": "Simplify your answer.",
    "no_decimals": "Write it without decimals.",
}


def _number_policy(test: AnswerTest, floats: str) -> str:
    if test.significant_figures:
        return f"Numbers in your answer may be rounded to {test.significant_figures} significant figures."
    if test.relative_tolerance or test.absolute_tolerance:
        allowed = [f"{test.relative_tolerance * 100:g}%"] if test.relative_tolerance else []
        allowed += [f"±{test.absolute_tolerance:g}"] if test.absolute_tolerance else []
        return f"Numbers in your answer may be rounded: within {' or '.join(allowed)} is accepted."
    if floats == "refuse":
        return "Give an exact answer: no decimals (write 1/3, sqrt(2) or pi)."
    if floats == "machine":
        return "Decimals are computed in floating point, as on a calculator."
    return "Give an exact answer: a decimal counts as the exact number it writes (0.333 is not 1/3)."


@dataclass(kw_only=True)
class ChoiceOption:
    id: str
    text: str
    # Fraction of the part's points this option adds when picked (negative for a wrong pick).
    weight: float
    feedback: str = ""


@dataclass(kw_only=True)
class ChoicePart(Part):
    options: list[ChoiceOption]
    multiple: bool = False
    shuffle: bool = True


@dataclass(kw_only=True)
class Criterion:
    id: str
    criterion: str
    points: float


@dataclass(kw_only=True)
class TextPart(Part):
    rubric: list[Criterion] = field(default_factory=list)


@dataclass
class QuestionsSpec:
    parts: list[Part]

    @property
    def max_score(self) -> float:
        return sum(part.points for part in self.parts)

    def part(self, part_id: str) -> Part:
        for part in self.parts:
            if part.id == part_id:
                return part
        raise KeyError(part_id)


class QuestionsError(ValueError):
    """An invalid questions exercise; `problems` lists every problem found, each at its key path in exercise.toml."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{'.'.join(map(str, problem.key_path))}: {problem.message}" for problem in problems)
        )


_COMMON_KEYS = {"id", "type", "prompt", "points", "title"}
_MATH_KEYS = {"variables", "definitions", "aliases", "functions", "allow_floats", "floats"}
_TOLERANCE_KEYS = {"absolute_tolerance", "relative_tolerance", "significant_figures"}
_PART_KEYS = {
    "symbolic": _COMMON_KEYS | _MATH_KEYS | _TOLERANCE_KEYS
    | {"answer", "feedback", "test", "variable", "form", "form_credit"},
    "numeric": _COMMON_KEYS | _TOLERANCE_KEYS | {"answer", "unit"},
    "choice": _COMMON_KEYS | {"options", "multiple", "shuffle"},
    "text": _COMMON_KEYS | {"rubric"},
}


class _Checker:
    """Collects problems while reading the data, so that an author sees all of them at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem("exercise.toml", message, key_path=tuple(path)))

    def unknown_keys(self, table: dict, allowed: set[str], path: KeyPath) -> None:
        for key in table:
            if key not in allowed:
                self.add((*path, key), f"unknown key `{key}`{_suggestion(key, allowed)}")

    def string(self, table: dict, key: str, path: KeyPath, *, required: bool = True) -> str:
        value = table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add((*path, key), f"`{key}` must be a non-empty string")
            return ""
        return value

    def number(self, table: dict, key: str, path: KeyPath, default: float | None = None) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.add((*path, key), f"`{key}` must be a number")
            return 0.0
        return float(value)

    def boolean(self, table: dict, key: str, path: KeyPath, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.add((*path, key), f"`{key}` must be true or false")
            return default
        return value

    def tables(self, table: dict, key: str, path: KeyPath) -> list[dict]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.add((*path, key), f"`{key}` must be a list of tables ([[{key}]])")
            return []
        return value

    def identifier(self, table: dict, path: KeyPath, seen: set[str], what: str) -> str:
        value = self.string(table, "id", path)
        if value and not _ID.match(value):
            self.add((*path, "id"), f"{what} id `{value}` may only use letters, digits, _ and -")
        elif value in seen:
            self.add((*path, "id"), f"{what} id `{value}` is used twice")
        seen.add(value)
        return value


def _suggestion(key: str, allowed: set[str]) -> str:
    # "tolerence" is far from "relative_tolerance" as a whole but close to its last word.
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    if not close:
        close = sorted(name for name in allowed if difflib.get_close_matches(key, name.split("_"), n=1))
    if close:
        return "; did you mean " + " or ".join(f"`{name}`" for name in close) + "?"
    return f"; allowed: {', '.join(sorted(allowed))}"


def load_questions(data: dict[str, Any]) -> QuestionsSpec:
    """Reads a parsed exercise.toml of kind "questions"; raises QuestionsError with every problem.

    Key paths name the place of each problem, e.g. ("parts", 2, "options", 0, "weight"), so
    the course-pack loader can turn them into "file, line, problem". Top-level keys other than
    `kind`, `math` and `parts` belong to the loader and are not checked here.
    """
    checker = _Checker()
    if data.get("kind", "questions") != "questions":
        checker.add(("kind",), f'this reader handles kind = "questions", not {data.get("kind")!r}')
    shared = _math_table(data.get("math", {}), ("math",), checker)
    for relative_path, message in spec_problems(_merged_spec(shared, {})):
        checker.add(("math", *relative_path), message)
    raw_parts = data.get("parts")
    if not isinstance(raw_parts, list) or not raw_parts:
        checker.add(("parts",), "an exercise needs at least one [[parts]] entry")
        raw_parts = []
    parts: list[Part] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_parts):
        path: KeyPath = ("parts", index)
        if not isinstance(raw, dict):
            checker.add(path, "each part must be a table ([[parts]])")
            continue
        part = _read_part(raw, path, shared, seen, checker, number=index + 1)
        if part is not None:
            parts.append(part)
    if checker.problems:
        raise QuestionsError(checker.problems)
    return QuestionsSpec(parts=parts)


def _math_table(table: Any, path: KeyPath, checker: _Checker) -> dict:
    if not isinstance(table, dict):
        checker.add(path, "`math` must be a table")
        return {}
    checker.unknown_keys(table, _MATH_KEYS, path)
    shapes = {"variables": dict, "definitions": dict, "aliases": dict, "functions": list}
    cleaned: dict = {}
    for key, shape in shapes.items():
        value = table.get(key, shape())
        if not isinstance(value, shape):
            checker.add((*path, key), f"`{key}` must be a {'table' if shape is dict else 'list'}")
            value = shape()
        cleaned[key] = value
    # `allow_floats = false` is the older spelling of `floats = "refuse"`.
    if "allow_floats" in table:
        cleaned["floats"] = "exact" if checker.boolean(table, "allow_floats", path, True) else "refuse"
    if "floats" in table:
        if table["floats"] not in FLOAT_POLICIES:
            checker.add((*path, "floats"), f"`floats` must be one of {', '.join(map(repr, FLOAT_POLICIES))}")
        elif "allow_floats" in table and cleaned["floats"] != table["floats"]:
            checker.add((*path, "floats"), "`floats` and `allow_floats` disagree; keep only `floats`")
        else:
            cleaned["floats"] = table["floats"]
    for name, text in cleaned["definitions"].items():
        if not isinstance(text, str):
            checker.add((*path, "definitions", name), "a definition is an expression in a string")
            cleaned["definitions"] = {}
            break
    return cleaned


def _merged_spec(shared: dict, own: dict) -> MathSpec:
    return MathSpec(
        variables={**shared.get("variables", {}), **own.get("variables", {})},
        definitions={**shared.get("definitions", {}), **own.get("definitions", {})},
        aliases={**shared.get("aliases", {}), **own.get("aliases", {})},
        functions=[*shared.get("functions", []), *own.get("functions", [])],
        floats=own.get("floats", shared.get("floats", "exact")),
    )


def _read_part(
    raw: dict, path: KeyPath, shared: dict, seen: set[str], checker: _Checker, *, number: int
) -> Part | None:
    part_type = raw.get("type")
    if part_type not in PART_TYPES:
        checker.add((*path, "type"), f"`type` must be one of {', '.join(PART_TYPES)}")
        return None
    checker.unknown_keys(raw, _PART_KEYS[part_type], path)
    common = {
        "id": checker.identifier(raw, path, seen, "part"),
        "type": part_type,
        "prompt": checker.string(raw, "prompt", path),
        "points": checker.number(raw, "points", path),
        "title": checker.string(raw, "title", path, required=False) or f"Part {number}",
    }
    if common["points"] <= 0 and "points" in raw:
        checker.add((*path, "points"), "`points` must be more than 0")
    readers = {"symbolic": _symbolic, "numeric": _numeric, "choice": _choice, "text": _text}
    return readers[part_type](raw, path, common, shared, checker)


def _symbolic(raw: dict, path: KeyPath, common: dict, shared: dict, checker: _Checker) -> Part:
    before = len(checker.problems)
    own = _math_table({key: raw[key] for key in _MATH_KEYS if key in raw}, path, checker)
    spec = _merged_spec(shared, own)
    problems = spec_problems(spec)
    for relative_path, message in problems:
        section = relative_path[0]
        name = relative_path[1] if len(relative_path) > 1 else None
        # Problems with names from [math] were reported there, once.
        if section in raw and (name is None or isinstance(name, int) or name in raw[section]):
            checker.add((*path, *relative_path), message)
    usable = len(checker.problems) == before and not problems
    answer = checker.string(raw, "answer", path)
    if answer and usable:
        _check_expression(answer, spec, (*path, "answer"), checker)
    rules = []
    for index, rule in enumerate(checker.tables(raw, "feedback", path)):
        rule_path = (*path, "feedback", index)
        checker.unknown_keys(rule, {"if_equals", "message", "points"}, rule_path)
        if_equals = checker.string(rule, "if_equals", rule_path)
        if if_equals and usable:
            _check_expression(if_equals, spec, (*rule_path, "if_equals"), checker)
        points = checker.number(rule, "points", rule_path, default=0.0)
        if not 0 <= points <= common["points"]:
            checker.add(
                (*rule_path, "points"), f"`points` must be between 0 and the part's {common['points']:g}"
            )
        rules.append(
            FeedbackRule(
                if_equals=if_equals, message=checker.string(rule, "message", rule_path), points=points
            )
        )
    kind = raw.get("test", "equivalent")
    if kind not in TEST_KINDS:
        checker.add((*path, "test"), f"`test` must be one of {', '.join(TEST_KINDS)}")
        kind = "equivalent"
    variable = checker.string(raw, "variable", path, required=False)
    if variable and kind != "antiderivative":
        checker.add((*path, "variable"), '`variable` is the variable of integration of `test = "antiderivative"`')
    elif variable and usable and variable not in spec.variables:
        declared = ", ".join(spec.variables) or "none"
        checker.add((*path, "variable"), f"`{variable}` is not a declared variable (declared: {declared})")
    test = AnswerTest(kind=kind, variable=variable, **_tolerances(raw, path, checker, default_relative=0.0))
    forms = raw.get("form", [])
    forms = [forms] if isinstance(forms, str) else forms
    if not isinstance(forms, list) or not all(isinstance(form, str) and form in FORMS for form in forms):
        checker.add((*path, "form"), f"`form` must be one of {', '.join(FORMS)}, or a list of them")
        forms = []
    form_credit = checker.number(raw, "form_credit", path, default=1.0)
    if not 0 <= form_credit <= 1:
        checker.add((*path, "form_credit"), "`form_credit` is a fraction of the points, from 0 to 1")
    if "form_credit" in raw and not forms:
        checker.add((*path, "form_credit"), "`form_credit` needs a `form` to check")
    return SymbolicPart(
        **common, answer=answer, math=spec, feedback=rules, test=test, forms=forms, form_credit=form_credit
    )


def _tolerances(raw: dict, path: KeyPath, checker: _Checker, *, default_relative: float) -> dict:
    """relative_tolerance, absolute_tolerance and significant_figures, checked; the relative
    tolerance defaults to `default_relative` only when none of them is given."""
    given = _TOLERANCE_KEYS & set(raw)
    tolerances: dict = {}
    for key in ("absolute_tolerance", "relative_tolerance"):
        default = default_relative if key == "relative_tolerance" and not given else 0.0
        tolerances[key] = checker.number(raw, key, path, default=default)
        if tolerances[key] < 0:
            checker.add((*path, key), f"`{key}` cannot be negative")
    figures = raw.get("significant_figures", 0)
    if isinstance(figures, bool) or not isinstance(figures, int) or not 0 <= figures <= 15:
        checker.add((*path, "significant_figures"), "`significant_figures` must be a whole number from 1 to 15")
        figures = 0
    elif figures and given - {"significant_figures"}:
        checker.add((*path, "significant_figures"), "give either `significant_figures` or a tolerance, not both")
    tolerances["significant_figures"] = figures
    return tolerances


def _check_expression(text: str, spec: MathSpec, path: KeyPath, checker: _Checker) -> None:
    try:
        parse(text, spec)
    except MathInputError as error:
        checker.add(path, str(error))


def _numeric(raw: dict, path: KeyPath, common: dict, shared: dict, checker: _Checker) -> Part:
    unit = raw.get("unit")
    if unit is not None:
        try:
            parse_unit(unit if isinstance(unit, str) else "")
        except UnitError as error:
            checker.add((*path, "unit"), str(error))
    tolerances = _tolerances(raw, path, checker, default_relative=DEFAULT_RELATIVE_TOLERANCE)
    return NumericPart(**common, answer=checker.number(raw, "answer", path), unit=unit, **tolerances)


def _choice(raw: dict, path: KeyPath, common: dict, shared: dict, checker: _Checker) -> Part:
    multiple = checker.boolean(raw, "multiple", path, False)
    shuffle = checker.boolean(raw, "shuffle", path, True)
    raw_options = checker.tables(raw, "options", path)
    if len(raw_options) < 2:
        checker.add((*path, "options"), "a choice needs at least two options")
    correct_count = sum(option.get("correct") is True for option in raw_options)
    options: list[ChoiceOption] = []
    seen: set[str] = set()
    for index, option in enumerate(raw_options):
        option_path = (*path, "options", index)
        checker.unknown_keys(option, {"id", "text", "correct", "weight", "feedback"}, option_path)
        if "correct" in option and "weight" in option:
            checker.add(option_path, "give either `correct` or `weight`, not both")
        correct = checker.boolean(option, "correct", option_path, False)
        if "weight" in option:
            weight = checker.number(option, "weight", option_path)
        elif not multiple:
            weight = 1.0 if correct else 0.0
        else:
            # By default a wrong pick cancels a right one.
            share = 1.0 / max(correct_count, 1)
            weight = share if correct else -share
        if not -1 <= weight <= 1:
            checker.add((*option_path, "weight"), "`weight` must be between -1 and 1")
        options.append(
            ChoiceOption(
                id=checker.identifier(option, option_path, seen, "option"),
                text=checker.string(option, "text", option_path),
                weight=weight,
                feedback=checker.string(option, "feedback", option_path, required=False),
            )
        )
    if len(options) >= 2:
        if not multiple and max(option.weight for option in options) != 1:
            checker.add((*path, "options"), "one option must be correct (or have weight 1)")
        positive = sum(option.weight for option in options if option.weight > 0)
        if multiple and not math.isclose(positive, 1.0):
            checker.add((*path, "options"), f"the positive weights must add up to 1, not {positive:g}")
    return ChoicePart(**common, options=options, multiple=multiple, shuffle=shuffle)


def _text(raw: dict, path: KeyPath, common: dict, shared: dict, checker: _Checker) -> Part:
    rubric: list[Criterion] = []
    seen: set[str] = set()
    for index, item in enumerate(checker.tables(raw, "rubric", path)):
        item_path = (*path, "rubric", index)
        checker.unknown_keys(item, {"id", "criterion", "points"}, item_path)
        rubric.append(
            Criterion(
                id=checker.identifier(item, item_path, seen, "criterion"),
                criterion=checker.string(item, "criterion", item_path),
                points=checker.number(item, "points", item_path),
            )
        )
    total = sum(criterion.points for criterion in rubric)
    if rubric and not math.isclose(total, common["points"]):
        checker.add(
            (*path, "rubric"), f"the rubric's points add up to {total:g}, not the part's {common['points']:g}"
        )
    return TextPart(**common, rubric=rubric)
