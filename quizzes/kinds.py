"""Question kinds: what each stores, what players see before the reveal, what they may answer, how it is graded.

A question's `spec` is plain JSON. Each kind checks its spec (`clean`), builds the public
view that goes to phones and the projector before the reveal (`public`: it must never
contain the right answer), turns a player's payload into a normalized answer or refuses
it (`parse`), grades that answer as a fraction of the points (`grade`; None for kinds
without a right answer), and summarizes everyone's answers for the reveal and the
report (`tally`). `display` is drawn once per game: the order in which answers are
shown. Choices are shuffled unless the question pins their order (`shuffle = false`,
for "all of the above" or a scale); ordering items always are. Players answer with the
positions they saw; what is stored, graded and reported is in the author's order, so
the mapping from one to the other never leaves the server before the reveal.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any, ClassVar

from .text import normalize_answer, plain_text, render_inline
from .wordfilter import is_blocked

MIN_CHOICES = 2
MAX_CHOICES = 6
MAX_CHOICE_LENGTH = 120
MAX_TYPED_LENGTH = 75
MAX_WORD_LENGTH = 30
MAX_SLIDER_STEPS = 10_000
TOP_WORDS = 30


class SpecProblem(ValueError):
    """The question is not well formed; `field` names the part at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class AnswerRejected(ValueError):
    """A player's payload is not an answer to this question."""


class QuestionKind:
    name: ClassVar[str]
    label: ClassVar[str]
    # Polls and word clouds have no right answer: no points, no effect on streaks.
    graded: ClassVar[bool] = True
    help: ClassVar[str] = ""

    def clean(self, spec: dict) -> dict:
        raise NotImplementedError

    def display(self, spec: dict, rng: random.Random) -> dict:
        return {}

    def public(self, spec: dict, display: dict) -> dict:
        raise NotImplementedError

    def parse(self, spec: dict, display: dict, payload: Any) -> Any:
        raise NotImplementedError

    def grade(self, spec: dict, display: dict, answer: Any) -> float | None:
        raise NotImplementedError

    def solution(self, spec: dict, display: dict) -> dict:
        """The right answer, shown at the reveal, in the positions the players saw."""
        return {}

    def shown_bars(self, spec: dict, display: dict, bars: list[dict]) -> list[dict]:
        """The tally's bars (kept in the author's order, for reports) in the order players saw the answers."""
        return bars

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        """Bars for the chart: label, count, whether the bar is a right answer, and whether the
        label was written by the instructor (Markdown) or typed by players (plain text only)."""
        raise NotImplementedError

    def describe(self, spec: dict, display: dict, answer: Any) -> str:
        """An answer as a person reads it, in plain text, for the reports' spreadsheets."""
        return str(answer)

    def solution_text(self, spec: dict) -> str:
        return ""


# -- choices ---------------------------------------------------------------------------------


def _clean_choices(spec: dict, *, need_correct: str | None) -> list[dict]:
    raw = spec.get("choices")
    if not isinstance(raw, list):
        raise SpecProblem("choices", "must be a list of choices")
    choices = []
    for number, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise SpecProblem("choices", f"choice {number} must have a text")
        text = item["text"].strip()
        if not text:
            raise SpecProblem("choices", f"choice {number} is empty")
        if len(text) > MAX_CHOICE_LENGTH:
            raise SpecProblem("choices", f"choice {number} is longer than {MAX_CHOICE_LENGTH} characters")
        correct = item.get("correct", False)
        if not isinstance(correct, bool):
            raise SpecProblem("choices", f"choice {number}: `correct` must be true or false")
        choices.append({"text": text, "correct": correct if need_correct else False})
    if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise SpecProblem("choices", f"needs {MIN_CHOICES} to {MAX_CHOICES} choices, not {len(choices)}")
    if len({normalize_answer(choice["text"]) for choice in choices}) != len(choices):
        raise SpecProblem("choices", "two choices have the same text")
    if need_correct and not any(choice["correct"] for choice in choices):
        raise SpecProblem("choices", f"mark {need_correct}")
    return choices


def _clean_shuffle(spec: dict) -> dict:
    """`shuffle = false` pins the order of the choices; shuffling is the default, so only a pin is stored."""
    shuffle = spec.get("shuffle", True)
    if not isinstance(shuffle, bool):
        raise SpecProblem("shuffle", "must be true or false")
    return {} if shuffle else {"shuffle": False}


def _public_choices(texts: list[str]) -> list[dict]:
    return [{"id": index, "text": text, "html": render_inline(text)} for index, text in enumerate(texts)]


def shown_order(display: dict, count: int) -> list[int]:
    """The author's index of the choice shown at each position (games from before shuffling have none)."""
    order = display.get("order")
    return order if isinstance(order, list) and len(order) == count else list(range(count))


def _choice_id(payload: Any, count: int) -> int:
    if isinstance(payload, dict):
        payload = payload.get("choice")
    if not isinstance(payload, int) or isinstance(payload, bool) or not 0 <= payload < count:
        raise AnswerRejected("pick one of the answers")
    return payload


class SingleChoice(QuestionKind):
    name = "single"
    label = "Single choice"
    help = "Players pick one answer. Mark every answer that counts as right (usually one)."

    def clean(self, spec: dict) -> dict:
        return {"choices": _clean_choices(spec, need_correct="at least one choice as correct"), **_clean_shuffle(spec)}

    def texts(self, spec: dict) -> list[str]:
        return [choice["text"] for choice in spec["choices"]]

    def correct_ids(self, spec: dict) -> list[int]:
        return [index for index, choice in enumerate(spec["choices"]) if choice["correct"]]

    def display(self, spec: dict, rng: random.Random) -> dict:
        order = list(range(len(self.texts(spec))))
        if spec.get("shuffle", True):
            rng.shuffle(order)
        return {"order": order}

    def public(self, spec: dict, display: dict) -> dict:
        texts = self.texts(spec)
        return {"choices": _public_choices([texts[index] for index in shown_order(display, len(texts))])}

    def parse(self, spec: dict, display: dict, payload: Any) -> int:
        count = len(self.texts(spec))
        return shown_order(display, count)[_choice_id(payload, count)]

    def grade(self, spec: dict, display: dict, answer: int) -> float:
        return 1.0 if answer in self.correct_ids(spec) else 0.0

    def solution(self, spec: dict, display: dict) -> dict:
        correct = set(self.correct_ids(spec))
        order = shown_order(display, len(self.texts(spec)))
        return {"correct": [shown for shown, index in enumerate(order) if index in correct]}

    def shown_bars(self, spec: dict, display: dict, bars: list[dict]) -> list[dict]:
        if len(bars) != len(self.texts(spec)):
            return bars
        return [bars[index] for index in shown_order(display, len(bars))]

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        counts = Counter(answers)
        correct = set(self.correct_ids(spec)) if self.graded else set()
        return [
            {"label": text, "count": counts.get(index, 0), "correct": index in correct, "authored": True}
            for index, text in enumerate(self.texts(spec))
        ]

    def describe(self, spec: dict, display: dict, answer: int) -> str:
        return plain_text(self.texts(spec)[answer])

    def solution_text(self, spec: dict) -> str:
        return " / ".join(self.texts(spec)[index] for index in self.correct_ids(spec))


class TrueFalse(SingleChoice):
    name = "true_false"
    label = "True or false"
    help = "Players answer True or False."

    def clean(self, spec: dict) -> dict:
        answer = spec.get("answer")
        if not isinstance(answer, bool):
            raise SpecProblem("answer", "must be true or false")
        return {"answer": answer}

    def texts(self, spec: dict) -> list[str]:
        return ["True", "False"]

    def display(self, spec: dict, rng: random.Random) -> dict:
        return {}  # True, then False: always where players expect them

    def correct_ids(self, spec: dict) -> list[int]:
        return [0] if spec["answer"] else [1]


class Poll(SingleChoice):
    name = "poll"
    label = "Poll"
    graded = False
    help = "Players pick one answer; there is no right answer and no points."

    def clean(self, spec: dict) -> dict:
        return {"choices": _clean_choices(spec, need_correct=None), **_clean_shuffle(spec)}

    def correct_ids(self, spec: dict) -> list[int]:
        return []

    def grade(self, spec: dict, display: dict, answer: int) -> None:
        return None

    def solution_text(self, spec: dict) -> str:
        return ""


class MultipleChoice(SingleChoice):
    name = "multiple"
    label = "Multiple choice"
    help = (
        "Players select every answer they think is right. Points are partial: "
        "(right picks - wrong picks) / right answers, never below zero."
    )

    def parse(self, spec: dict, display: dict, payload: Any) -> list[int]:
        if isinstance(payload, dict):
            payload = payload.get("choices")
        count = len(self.texts(spec))
        if (
            not isinstance(payload, list)
            or not payload
            or len(payload) > count
            or any(not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < count for item in payload)
            or len(set(payload)) != len(payload)
        ):
            raise AnswerRejected("select one or more of the answers")
        order = shown_order(display, count)
        return sorted(order[shown] for shown in payload)

    def grade(self, spec: dict, display: dict, answer: list[int]) -> float:
        correct = set(self.correct_ids(spec))
        right = len(correct.intersection(answer))
        wrong = len(answer) - right
        return max(0, right - wrong) / len(correct)

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        return super().tally(spec, display, [choice for answer in answers for choice in answer])

    def describe(self, spec: dict, display: dict, answer: list[int]) -> str:
        texts = self.texts(spec)
        return " + ".join(plain_text(texts[index]) for index in answer)


# -- typed answers -----------------------------------------------------------------------------


def _text_payload(payload: Any, max_length: int, what: str) -> str:
    if isinstance(payload, dict):
        payload = payload.get("text")
    if not isinstance(payload, str) or not payload.strip():
        raise AnswerRejected(f"type {what}")
    if len(payload) > max_length:
        raise AnswerRejected(f"keep it under {max_length} characters")
    return " ".join(payload.split())


class TypeAnswer(QuestionKind):
    name = "type_answer"
    label = "Type the answer"
    help = "Players type a short answer. List every accepted spelling; case and accents are ignored."

    def clean(self, spec: dict) -> dict:
        accepted = spec.get("accepted")
        if isinstance(accepted, str):
            accepted = [accepted]
        if not isinstance(accepted, list) or not accepted:
            raise SpecProblem("accepted", "list at least one accepted answer")
        cleaned = []
        for item in accepted:
            if not isinstance(item, str) or not normalize_answer(item):
                raise SpecProblem("accepted", "accepted answers must be non-empty text")
            if len(item) > MAX_TYPED_LENGTH:
                raise SpecProblem("accepted", f"an accepted answer is longer than {MAX_TYPED_LENGTH} characters")
            if item.strip() not in cleaned:
                cleaned.append(item.strip())
        return {"accepted": cleaned}

    def public(self, spec: dict, display: dict) -> dict:
        return {"max_length": MAX_TYPED_LENGTH}

    def parse(self, spec: dict, display: dict, payload: Any) -> str:
        return _text_payload(payload, MAX_TYPED_LENGTH, "an answer")

    def grade(self, spec: dict, display: dict, answer: str) -> float:
        accepted = {normalize_answer(item) for item in spec["accepted"]}
        return 1.0 if normalize_answer(answer) in accepted else 0.0

    def solution(self, spec: dict, display: dict) -> dict:
        return {"accepted": spec["accepted"]}

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        counts = Counter(normalize_answer(answer) for answer in answers)
        bars, seen = [], set()
        for item in spec["accepted"]:
            key = normalize_answer(item)
            if key not in seen:
                seen.add(key)
                bars.append({"label": item, "count": counts.pop(key, 0), "correct": True, "authored": True})
        wrong = [(text, count) for text, count in counts.most_common() if not is_blocked(text)]
        return bars + [{"label": text, "count": count, "correct": False, "authored": False}
                       for text, count in wrong[:5]]

    def solution_text(self, spec: dict) -> str:
        return " / ".join(spec["accepted"])


# -- slider ------------------------------------------------------------------------------------


def _number(spec: dict, key: str, default: Any = None) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecProblem(key, "must be a number")
    return value


def _on_grid(value: float, start: float, step: float) -> bool:
    steps = (value - start) / step
    return abs(steps - round(steps)) < 1e-6


def _tidy(value: float) -> int | float:
    """12.0 -> 12, so that numbers print as people write them."""
    value = round(value, 9)
    return int(value) if value == int(value) else value


class Slider(QuestionKind):
    name = "slider"
    label = "Numeric slider"
    help = "Players slide to a number. Answers within the tolerance of the right value are right."

    def clean(self, spec: dict) -> dict:
        low, high = _number(spec, "min"), _number(spec, "max")
        step = _number(spec, "step", 1)
        answer = _number(spec, "answer")
        tolerance = _number(spec, "tolerance", 0)
        unit = spec.get("unit", "")
        if not isinstance(unit, str) or len(unit) > 20:
            raise SpecProblem("unit", "must be text of at most 20 characters")
        if low >= high:
            raise SpecProblem("max", "must be larger than min")
        if step <= 0:
            raise SpecProblem("step", "must be positive")
        if (high - low) / step > MAX_SLIDER_STEPS:
            raise SpecProblem("step", f"makes more than {MAX_SLIDER_STEPS} positions; use a larger step")
        if not _on_grid(high, low, step):
            raise SpecProblem("max", "must be min plus a whole number of steps")
        if not low <= answer <= high:
            raise SpecProblem("answer", "must be between min and max")
        if not _on_grid(answer, low, step):
            raise SpecProblem("answer", "must be reachable with the step")
        if tolerance < 0:
            raise SpecProblem("tolerance", "must be zero or more")
        return {"min": _tidy(low), "max": _tidy(high), "step": _tidy(step), "answer": _tidy(answer),
                "tolerance": _tidy(tolerance), "unit": unit.strip()}

    def public(self, spec: dict, display: dict) -> dict:
        return {"min": spec["min"], "max": spec["max"], "step": spec["step"], "unit": spec["unit"]}

    def parse(self, spec: dict, display: dict, payload: Any) -> int | float:
        if isinstance(payload, dict):
            payload = payload.get("value")
        if isinstance(payload, bool) or not isinstance(payload, int | float) or not math.isfinite(payload):
            raise AnswerRejected("choose a number on the slider")
        if not spec["min"] <= payload <= spec["max"] or not _on_grid(payload, spec["min"], spec["step"]):
            raise AnswerRejected(f"choose a number from {spec['min']} to {spec['max']} in steps of {spec['step']}")
        return _tidy(payload)

    def grade(self, spec: dict, display: dict, answer: float) -> float:
        return 1.0 if abs(answer - spec["answer"]) <= spec["tolerance"] + 1e-9 else 0.0

    def solution(self, spec: dict, display: dict) -> dict:
        return {"answer": spec["answer"], "tolerance": spec["tolerance"]}

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        counts = Counter(answers)
        top = sorted(counts.most_common(12))
        return [{"label": f"{value}{spec['unit'] and ' ' + spec['unit']}", "count": count,
                 "correct": self.grade(spec, display, value) == 1.0, "authored": False} for value, count in top]

    def describe(self, spec: dict, display: dict, answer: float) -> str:
        return f"{answer}{spec['unit'] and ' ' + spec['unit']}"

    def solution_text(self, spec: dict) -> str:
        tolerance = f" ± {spec['tolerance']}" if spec["tolerance"] else ""
        return f"{spec['answer']}{tolerance}{spec['unit'] and ' ' + spec['unit']}"


# -- ordering ----------------------------------------------------------------------------------


class Ordering(QuestionKind):
    name = "ordering"
    label = "Put in order"
    help = "Players put the items in order. Write them in the right order; players see them shuffled."

    def clean(self, spec: dict) -> dict:
        items = _clean_choices({"choices": spec.get("items")}, need_correct=None) if isinstance(
            spec.get("items"), list) else None
        if items is None:
            raise SpecProblem("items", "must be a list of items in the right order")
        return {"items": [item["text"] for item in items]}

    def display(self, spec: dict, rng: random.Random) -> dict:
        count = len(spec["items"])
        order = list(range(count))
        # Shown in the right order, the question would answer itself.
        while order == sorted(order):
            rng.shuffle(order)
        return {"order": order}

    def public(self, spec: dict, display: dict) -> dict:
        return {"items": _public_choices([spec["items"][index] for index in display["order"]])}

    def parse(self, spec: dict, display: dict, payload: Any) -> list[int]:
        if isinstance(payload, dict):
            payload = payload.get("order")
        count = len(spec["items"])
        if (not isinstance(payload, list) or any(not isinstance(item, int) or isinstance(item, bool)
                                                 for item in payload) or sorted(payload) != list(range(count))):
            raise AnswerRejected("put every item in a position")
        return payload

    def grade(self, spec: dict, display: dict, answer: list[int]) -> float:
        return 1.0 if [display["order"][shown] for shown in answer] == list(range(len(spec["items"]))) else 0.0

    def solution(self, spec: dict, display: dict) -> dict:
        shown_position = {item: shown for shown, item in enumerate(display["order"])}
        return {"order": [shown_position[item] for item in range(len(spec["items"]))]}

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        right = sum(1 for answer in answers if self.grade(spec, display, answer) == 1.0)
        return [{"label": "Right order", "count": right, "correct": True, "authored": False},
                {"label": "Another order", "count": len(answers) - right, "correct": False, "authored": False}]

    def describe(self, spec: dict, display: dict, answer: list[int]) -> str:
        return " → ".join(plain_text(spec["items"][display["order"][shown]]) for shown in answer)

    def solution_text(self, spec: dict) -> str:
        return " → ".join(spec["items"])


# -- word cloud --------------------------------------------------------------------------------


class WordCloud(QuestionKind):
    name = "word_cloud"
    label = "Word cloud"
    graded = False
    help = "Players type a word or two; the reveal shows the most frequent answers. No points."

    def clean(self, spec: dict) -> dict:
        return {}

    def public(self, spec: dict, display: dict) -> dict:
        return {"max_length": MAX_WORD_LENGTH}

    def parse(self, spec: dict, display: dict, payload: Any) -> str:
        return _text_payload(payload, MAX_WORD_LENGTH, "a word")

    def grade(self, spec: dict, display: dict, answer: str) -> None:
        return None

    def tally(self, spec: dict, display: dict, answers: list[Any]) -> list[dict]:
        counts = Counter(normalize_answer(answer) for answer in answers)
        words = [(word, count) for word, count in counts.most_common() if word and not is_blocked(word)]
        return [{"label": word, "count": count, "correct": False, "authored": False}
                for word, count in words[:TOP_WORDS]]


KINDS: dict[str, QuestionKind] = {
    kind.name: kind
    for kind in (SingleChoice(), MultipleChoice(), TrueFalse(), TypeAnswer(), Slider(), Ordering(), Poll(), WordCloud())
}
KIND_CHOICES = [(name, kind.label) for name, kind in KINDS.items()]
