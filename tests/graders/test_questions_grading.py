"""Grading questions: the seed exercise end to end, feedback rules, partial credit, shuffling and reviews."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from graders.questions import (
    Review,
    ReviewError,
    apply_review,
    grade_questions,
    load_questions,
    shuffled_options,
)
from graders.verdict import TestOutcome, Verdict

SEED_EXERCISE = Path(__file__).parent / "fixtures" / "softmax_cross_entropy" / "exercise.toml"


@pytest.fixture(scope="module")
def seed():
    return load_questions(tomllib.loads(SEED_EXERCISE.read_text(encoding="utf-8")))


def by_part(verdict):
    return {outcome.name: outcome for outcome in verdict.tests}


CORRECT = {
    "dL_dz1": "yhat_1 - 1",
    "direction_z1": "decreasing",
    "dL_dz2": "exp(z_2)/(exp(z_1)+exp(z_2)+exp(z_3))",
    "direction_z2": "increasing",
    "dL_dz3": "ŷ₃",
    "direction_z3": "increasing",
}


def test_a_correct_submission_gets_every_point(seed):
    verdict = grade_questions(seed, CORRECT)
    assert (verdict.status, verdict.score, verdict.max_score) == ("graded", 9, 9)
    outcomes = by_part(verdict)
    assert list(outcomes) == list(CORRECT)
    assert all(outcome.passed and outcome.message == "Correct." for outcome in outcomes.values())
    assert outcomes["dL_dz1"].interpreted_as == r"\hat{y}_{1} - 1"
    assert outcomes["dL_dz2"].interpreted_as == r"\frac{e^{z_{2}}}{e^{z_{1}} + e^{z_{2}} + e^{z_{3}}}"


def test_answers_in_terms_of_the_logits_are_recognised(seed):
    verdict = grade_questions(seed, {"dL_dz1": "-(exp(z2) + exp(z3))/(exp(z1) + exp(z2) + exp(z3))"})
    assert by_part(verdict)["dL_dz1"].points == 2


def test_known_mistakes_get_their_feedback_and_partial_points(seed):
    outcomes = by_part(grade_questions(seed, {"dL_dz1": "1 - yhat_1", "dL_dz2": "-p_2"}))
    assert outcomes["dL_dz1"].points == 1
    assert not outcomes["dL_dz1"].passed
    assert outcomes["dL_dz1"].message.startswith("Check the sign")
    assert outcomes["dL_dz2"].message.startswith("Check the sign")
    forgot = by_part(grade_questions(seed, {"dL_dz1": "yhat_1"}))["dL_dz1"]
    assert (forgot.points, forgot.message) == (
        1,
        "Almost: you forgot the -1 that comes from differentiating log(e^{z₁}).",
    )


def test_an_unknown_mistake_is_just_incorrect(seed):
    outcome = by_part(grade_questions(seed, {"dL_dz1": "yhat_2 - 1"}))["dL_dz1"]
    assert (outcome.points, outcome.message) == (0, "Incorrect.")
    assert outcome.interpreted_as == r"\hat{y}_{2} - 1"


def test_missing_blank_and_unreadable_answers_score_zero_with_a_message(seed):
    verdict = grade_questions(seed, {"dL_dz1": "   ", "dL_dz2": "yhat_2 +", "dL_dz3": "0.5", "direction_z1": ""})
    outcomes = by_part(verdict)
    assert verdict.score == 0
    assert outcomes["dL_dz1"].message == "No answer was given."
    assert outcomes["direction_z1"].message == "No answer was given."
    assert outcomes["direction_z3"].message == "No answer was given."
    assert outcomes["dL_dz2"].message == (
        "Could not read your answer: the expression ends with `+`: something is missing after it"
    )
    assert "decimal numbers like `0.5` are not accepted" in outcomes["dL_dz3"].message


def test_choice_feedback_is_shown_for_the_picked_option(seed):
    outcome = by_part(grade_questions(seed, {"direction_z1": "increasing"}))["direction_z1"]
    assert (outcome.points, outcome.message) == (0, "Incorrect. ŷ₁ \u2212 1 < 0 since ŷ₁ < 1.")


def test_the_verdict_survives_json(seed):
    verdict = grade_questions(seed, CORRECT)
    assert Verdict.from_dict(verdict.to_dict()) == verdict


MULTIPLE = load_questions(
    {
        "kind": "questions",
        "parts": [
            {
                "id": "encoders",
                "type": "choice",
                "prompt": "Which models are encoder-decoder models?",
                "points": 4,
                "multiple": True,
                "options": [
                    {"id": "t5", "text": "T5", "correct": True},
                    {"id": "bart", "text": "BART", "correct": True},
                    {"id": "gpt", "text": "GPT-2"},
                    {"id": "bert", "text": "BERT", "feedback": "BERT is encoder-only."},
                ],
            },
            {
                "id": "weighted",
                "type": "choice",
                "prompt": "?",
                "points": 2,
                "options": [
                    {"id": "best", "text": "A", "weight": 1},
                    {"id": "half", "text": "B", "weight": 0.5},
                    {"id": "bad", "text": "C", "weight": -1},
                ],
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("picked", "points"),
    [
        ("t5, bart", 4),
        (["bart", "t5"], 4),
        ("t5", 2),
        ("t5 bart gpt", 2),
        ("t5 gpt", 0),
        ("gpt bert", 0),
        ("t5 t5", 2),
    ],
)
def test_multiple_choice_gives_partial_credit_floored_at_zero(picked, points):
    assert by_part(grade_questions(MULTIPLE, {"encoders": picked}))["encoders"].points == points


def test_single_choice_weights_give_partial_credit():
    assert by_part(grade_questions(MULTIPLE, {"weighted": "half"}))["weighted"].points == 1
    assert by_part(grade_questions(MULTIPLE, {"weighted": "bad"}))["weighted"].points == 0
    assert by_part(grade_questions(MULTIPLE, {"weighted": "best, half"}))["weighted"].message == (
        "Choose only one option."
    )


def test_an_unknown_option_is_reported_not_crashed_on():
    outcome = by_part(grade_questions(MULTIPLE, {"encoders": "t5, llama"}))["encoders"]
    assert (outcome.points, outcome.message) == (0, "Unknown option `llama`; choose among the options shown.")


def test_picked_option_feedback_follows_the_grade():
    outcome = by_part(grade_questions(MULTIPLE, {"encoders": "t5 bert"}))["encoders"]
    assert outcome.message == "Incorrect. BERT is encoder-only."


def test_shuffling_is_deterministic_per_seed_and_differs_between_seeds():
    part = MULTIPLE.parts[0]
    orders = {seed: [option.id for option in shuffled_options(part, seed)] for seed in range(30)}
    assert orders[7] == [option.id for option in shuffled_options(part, 7)]
    assert all(sorted(order) == ["bart", "bert", "gpt", "t5"] for order in orders.values())
    assert len({tuple(order) for order in orders.values()}) > 5


def test_shuffle_false_keeps_the_authors_order(seed):
    part = seed.parts[1]
    assert [option.id for option in shuffled_options(part, 12345)] == ["increasing", "decreasing"]


TEXT = load_questions(
    {
        "kind": "questions",
        "parts": [
            {"id": "value", "type": "numeric", "prompt": "?", "points": 1, "answer": 0.5},
            {
                "id": "why",
                "type": "text",
                "prompt": "Explain the difference between inference and training.",
                "points": 3,
                "rubric": [
                    {"id": "teacher_forcing", "criterion": "Mentions teacher forcing", "points": 2},
                    {"id": "loop", "criterion": "Describes the decoding loop", "points": 1},
                ],
            },
            {"id": "free", "type": "text", "prompt": "Anything else?", "points": 1},
        ],
    }
)


def test_text_answers_wait_for_a_person():
    verdict = grade_questions(TEXT, {"value": "1/2", "why": "At training time...", "free": ""})
    outcomes = by_part(verdict)
    assert verdict.status == "needs_review"
    assert verdict.summary == "Waiting for a person to grade this answer."
    assert verdict.score == 1
    assert outcomes["why"].needs_review
    assert outcomes["why"].message == "Waiting for a person to grade this part."
    # A blank text answer needs nobody: it scores 0.
    assert not outcomes["free"].needs_review


def test_a_rubric_review_gives_the_final_verdict():
    verdict = grade_questions(TEXT, {"value": "0.5", "why": "At training time...", "free": ""})
    reviewed = apply_review(
        TEXT, verdict, {"why": Review(marks={"teacher_forcing": 2, "loop": 0.5}, comment="Good start.")}
    )
    outcome = by_part(reviewed)["why"]
    assert (reviewed.status, reviewed.score, outcome.points, outcome.passed) == ("graded", 3.5, 2.5, False)
    assert outcome.message == "Mentions teacher forcing: 2/2\nDescribes the decoding loop: 0.5/1\nGood start."
    assert by_part(verdict)["why"].needs_review, "the original verdict is left as it was"


def test_a_part_without_rubric_is_reviewed_with_points():
    verdict = grade_questions(TEXT, {"why": "x", "free": "Attention!"})
    reviewed = apply_review(
        TEXT,
        verdict,
        {"why": Review(marks={"teacher_forcing": 0, "loop": 0}), "free": Review(points=1, comment="Thanks")},
    )
    assert reviewed.status == "graded"
    assert by_part(reviewed)["free"].message == "Thanks"


def test_a_partial_review_keeps_the_verdict_waiting():
    verdict = grade_questions(TEXT, {"why": "x", "free": "y"})
    reviewed = apply_review(TEXT, verdict, {"free": Review(points=1)})
    assert reviewed.status == "needs_review"


@pytest.mark.parametrize(
    ("reviews", "message"),
    [
        ({"nope": Review(points=1)}, "this exercise has no part `nope`"),
        ({"why": Review(marks={"teacher_forcing": 2})}, "part `why`: criterion `loop` has no mark"),
        (
            {"why": Review(marks={"teacher_forcing": 3, "loop": 0})},
            "criterion `teacher_forcing` takes 0 to 2 points, not 3",
        ),
        (
            {"why": Review(marks={"teacher_forcing": 1, "loop": 0, "style": 1})},
            "part `why` has no criterion `style`",
        ),
        ({"free": Review(points=2)}, "part `free` takes 0 to 1 points"),
    ],
)
def test_an_impossible_review_is_refused(reviews, message):
    verdict = grade_questions(TEXT, {"why": "x", "free": "y"})
    with pytest.raises(ReviewError) as error:
        apply_review(TEXT, verdict, reviews)
    assert str(error.value) == message


def test_numeric_parts_are_graded_with_their_tolerance_and_unit():
    spec = load_questions(
        {
            "kind": "questions",
            "parts": [
                {"id": "latency", "type": "numeric", "prompt": "?", "points": 2, "answer": 3.2, "unit": "ms"},
            ],
        }
    )
    assert grade_questions(spec, {"latency": "0.0032 s"}).score == 2
    outcome = by_part(grade_questions(spec, {"latency": "3.2"}))["latency"]
    assert (outcome.points, outcome.message) == (
        0,
        "Could not read your answer: give a unit, for example `3.2 ms`",
    )


def test_undecidable_math_waits_for_a_person_instead_of_being_marked_wrong():
    spec = load_questions(
        {
            "kind": "questions",
            # An undefined function has no value at a random point: only sympy could decide, too slowly.
            "math": {"variables": {"x": "real"}, "functions": ["f"]},
            "parts": [{"id": "tan", "type": "symbolic", "prompt": "?", "points": 1, "answer": "f(x) tan(5x)"}],
        }
    )
    answer = "f(x) (tan(x)^5 - 10*tan(x)^3 + 5*tan(x))/(5*tan(x)^4 - 10*tan(x)^2 + 1)"
    verdict = grade_questions(spec, {"tan": answer}, time_limit=0.3)
    outcome = by_part(verdict)["tan"]
    assert verdict.status == "needs_review"
    assert outcome.needs_review
    assert outcome.message.startswith("Your answer could not be checked; try a simpler form.")
    reviewed = apply_review(spec, verdict, {"tan": Review(points=1, comment="Correct, checked by hand.")})
    assert (reviewed.status, reviewed.score) == ("graded", 1)


def symbolic_part(**options):
    part = {"id": "f", "type": "symbolic", "prompt": "?", "points": 2, "variables": {"x": "real"}, **options}
    return load_questions({"kind": "questions", "parts": [part]})


def grade_one(spec, answer):
    return by_part(grade_questions(spec, {"f": answer}))["f"]


def test_a_right_answer_not_in_the_asked_form_keeps_its_points_and_gets_a_hint():
    spec = symbolic_part(answer="x^2 + 2x + 1", form="expanded")
    unexpanded = grade_one(spec, "(x + 1)^2")
    assert (unexpanded.points, unexpanded.passed) == (2, True)
    assert unexpanded.message == "Your answer is right. Now expand it: multiply out every bracket."
    expanded = grade_one(spec, "1 + 2x + x^2")
    assert (expanded.points, expanded.message) == (2, "Correct.")


def test_form_credit_decides_what_a_right_value_in_another_form_is_worth():
    spec = symbolic_part(answer="(x - 1)(x + 1)", form="factored", form_credit=0.5)
    outcome = grade_one(spec, "x^2 - 1")
    assert (outcome.points, outcome.passed) == (1, False)
    assert outcome.message == "Your answer is right. Now factor it completely."
    # A wrong value is wrong whatever its form.
    assert grade_one(spec, "(x - 1)(x + 2)").points == 0


def test_an_antiderivative_is_right_up_to_a_constant():
    spec = symbolic_part(answer="x^3/3 + sin(x)", test="antiderivative")
    for answer in ("x^3/3 + sin(x)", "x^3/3 + sin(x) + C", "(x^3 + 3 sin(x) + 7)/3", "x^3/3 + sin(x) + c"):
        assert grade_one(spec, answer).points == 2, answer
    assert grade_one(spec, "x^3/3 + sin(x) + C x").points == 0
    assert grade_one(spec, "x^2 + cos(x)").points == 0


def test_an_answer_that_is_nowhere_real_is_wrong_and_says_why_without_a_review():
    outcome = grade_one(symbolic_part(answer="x^2"), "sqrt(-1) x")
    why = "Your answer is not a real number anywhere: it takes the square root of a negative number."
    assert (outcome.points, outcome.needs_review, outcome.message) == (0, False, f"Incorrect. {why}")


def test_an_answer_with_no_value_scores_nothing_says_why_and_waits_for_nobody():
    outcome = grade_one(symbolic_part(answer="x^2"), "1/0")
    message = "Your answer has no value: it divides by zero. Check the denominators."
    assert (outcome.points, outcome.needs_review, outcome.message) == (0, False, message)


def test_an_antiderivative_part_may_name_its_variable_and_keep_a_constant_in_its_key():
    spec = symbolic_part(answer="a x^2/2 + C", variables={"x": "real", "a": "real", "C": "real"},
                         test="antiderivative", variable="x")  # fmt: skip
    assert spec.parts[0].policy_text() == (
        "Give an exact answer: a decimal counts as the exact number it writes (0.333 is not 1/3). "
        "Any antiderivative with respect to x is right; you may add a constant C."
    )
    for answer in ("a x^2/2", "a x^2/2 + K", "a (x^2 + 1)/2", "a x^2/2 + a^2"):
        assert grade_one(spec, answer).points == 2, answer
    assert grade_one(spec, "a x^2").points == 0


def test_a_substitution_equivalent_answer_is_right_and_says_which_names_it_read():
    spec = symbolic_part(answer="x^2 + 1", test="substitution")
    outcome = grade_one(spec, "t^2 + 1")
    assert (outcome.points, outcome.message) == (2, "Correct. Right, reading t as x.")
    assert grade_one(spec, "t^2 + 2").points == 0


def test_a_tolerance_accepts_rounded_numbers_in_a_formula():
    spec = symbolic_part(answer="sqrt(2) x", significant_figures=3)
    assert grade_one(spec, "1.41 x").points == 2
    assert grade_one(spec, "1.4142 x").points == 2
    # In a formula, a number may be off by what rounding to 3 figures can change (0.5%), not more.
    assert grade_one(spec, "1.43 x").points == 0
    exact = symbolic_part(answer="sqrt(2) x")
    assert grade_one(exact, "1.41 x").points == 0


def test_numeric_parts_may_ask_for_significant_figures():
    spec = load_questions(
        {"kind": "questions", "parts": [
            {"id": "f", "type": "numeric", "prompt": "?", "points": 1, "answer": 0.6931471805599453,
             "significant_figures": 3},
        ]}
    )  # fmt: skip
    assert grade_one(spec, "0.693").points == 1
    assert grade_one(spec, "0.694").points == 0
    outcome = grade_one(spec, "0.69315")
    assert (outcome.points, outcome.message) == (
        1, "Correct. Next time give it to 3 significant figures, as asked: 0.693."
    )  # fmt: skip


@pytest.mark.parametrize(
    ("options", "policy"),
    [
        ({}, "Give an exact answer: a decimal counts as the exact number it writes (0.333 is not 1/3)."),
        ({"floats": "refuse"}, "Give an exact answer: no decimals (write 1/3, sqrt(2) or pi)."),
        ({"floats": "machine"}, "Decimals are computed in floating point, as on a calculator."),
        ({"significant_figures": 3}, "Numbers in your answer may be rounded to 3 significant figures."),
        ({"relative_tolerance": 0.01}, "Numbers in your answer may be rounded: within 1% is accepted."),
        (
            {"test": "antiderivative", "form": "simplified"},
            "Give an exact answer: a decimal counts as the exact number it writes (0.333 is not 1/3). "
            "Any antiderivative is right; you may add a constant C. Simplify your answer.",
        ),
    ],
)
def test_a_symbolic_part_tells_the_student_how_it_is_judged(options, policy):
    assert symbolic_part(answer="x", **options).parts[0].policy_text() == policy


def test_a_numeric_part_tells_the_student_its_tolerance():
    def policy(**options):
        part = {"id": "n", "type": "numeric", "prompt": "?", "points": 1, "answer": 2.0, **options}
        return load_questions({"kind": "questions", "parts": [part]}).parts[0].policy_text()

    assert policy() == "Answers within 1% of the exact value are accepted."
    assert policy(absolute_tolerance=0.05) == "Answers within ±0.05 of the exact value are accepted."
    assert policy(significant_figures=2) == "Give your answer to 2 significant figures."


def test_the_live_preview_reads_the_names_the_answer_test_allows():
    from graders import engine

    files = {
        "exercise.toml": 'kind = "questions"\n[[parts]]\nid = "F"\ntype = "symbolic"\nprompt = "?"\npoints = 1\n'
        'answer = "x^2/2"\ntest = "antiderivative"\nvariables = { x = "real" }\n',
        "statement.md": "?",
    }
    assert engine.interpret(files, "F", "x^2/2 + C").latex == r"\frac{x^{2}}{2} + C"
    assert engine.interpret(files, "F", "x^2/2 + D").error.startswith("unknown name `D`")


def test_a_verdict_as_a_dict_is_what_dataclasses_gives():
    verdict = Verdict(
        "graded", 2.5, 4, tests=[
            TestOutcome("a", "A", True, 1, 1, message="ok", stdout="printed", interpreted_as=r"\frac{1}{2}"),
            TestOutcome("b", "B", False, 0, 3, visible=False, needs_review=True),
        ], message="m", stdout="s", duration_ms=12, exercise_version="v", infrastructure=False,
    )
    assert verdict.to_dict() == dataclasses.asdict(verdict)
    assert list(verdict.to_dict()) == list(dataclasses.asdict(verdict))
    assert Verdict.from_dict(verdict.to_dict()) == verdict
