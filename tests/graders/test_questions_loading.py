"""exercise.toml of kind "questions": the seed exercise loads, and every mistake is named by its key path."""

import tomllib
from pathlib import Path

import pytest

from graders.questions import ChoicePart, NumericPart, QuestionsError, SymbolicPart, TextPart, load_questions

SEED_EXERCISE = Path(__file__).parent / "fixtures" / "softmax_cross_entropy" / "exercise.toml"


def seed_data():
    return tomllib.loads(SEED_EXERCISE.read_text(encoding="utf-8"))


def problems_of(data):
    with pytest.raises(QuestionsError) as error:
        load_questions(data)
    return {problem.key_path: problem.message for problem in error.value.problems}


def minimal(**part):
    return {"kind": "questions", "parts": [{"id": "p", "prompt": "?", "points": 1, **part}]}


def test_the_seed_exercise_loads():
    spec = load_questions(seed_data())
    assert [part.id for part in spec.parts] == [
        "dL_dz1",
        "direction_z1",
        "dL_dz2",
        "direction_z2",
        "dL_dz3",
        "direction_z3",
    ]
    assert spec.max_score == 9
    first = spec.parts[0]
    assert isinstance(first, SymbolicPart)
    assert first.math.variables == {"z_1": "real", "z_2": "real", "z_3": "real"}
    assert [rule.if_equals for rule in first.feedback] == ["1 - yhat_1", "yhat_1"]
    assert isinstance(spec.parts[1], ChoicePart)
    assert [option.weight for option in spec.parts[1].options] == [0.0, 1.0]


def test_every_part_type_loads_with_its_defaults():
    data = {
        "kind": "questions",
        "parts": [
            {"id": "n", "type": "numeric", "prompt": "?", "points": 1, "answer": 3.2, "unit": "ms"},
            {
                "id": "m",
                "type": "choice",
                "prompt": "?",
                "points": 2,
                "multiple": True,
                "options": [
                    {"id": "a", "text": "A", "correct": True},
                    {"id": "b", "text": "B", "correct": True},
                    {"id": "c", "text": "C"},
                ],
            },
            {
                "id": "t",
                "type": "text",
                "prompt": "?",
                "points": 3,
                "rubric": [
                    {"id": "idea", "criterion": "Has the idea", "points": 2},
                    {"id": "clarity", "criterion": "Is clear", "points": 1},
                ],
            },
        ],
    }
    numeric, choice, text = load_questions(data).parts
    assert isinstance(numeric, NumericPart)
    assert (numeric.relative_tolerance, numeric.absolute_tolerance) == (0.01, 0.0)
    assert [option.weight for option in choice.options] == [0.5, 0.5, -0.5]
    assert isinstance(text, TextPart)
    assert [criterion.points for criterion in text.rubric] == [2, 1]
    assert [part.title for part in (numeric, choice, text)] == ["Part 1", "Part 2", "Part 3"]


def test_problems_name_the_part_and_key():
    data = seed_data()
    data["parts"][0]["answer"] = "yhat_1 - "
    data["parts"][0]["feedback"][1]["if_equals"] = "q"
    data["parts"][0]["feedback"][0]["points"] = 5
    data["parts"][1]["options"][1]["weight"] = 2
    data["parts"][2]["tolerence"] = 0.1
    data["parts"][3]["id"] = "direction_z1"
    problems = problems_of(data)
    assert problems == {
        ("parts", 0, "answer"): "the expression ends with `-`: something is missing after it",
        ("parts", 0, "feedback", 1, "if_equals"): (
            "unknown name `q`; you can use z_1, z_2, z_3, yhat_1, yhat_2, yhat_3"
        ),
        ("parts", 0, "feedback", 0, "points"): "`points` must be between 0 and the part's 2",
        ("parts", 1, "options", 1): "give either `correct` or `weight`, not both",
        ("parts", 1, "options", 1, "weight"): "`weight` must be between -1 and 1",
        ("parts", 1, "options"): "one option must be correct (or have weight 1)",
        ("parts", 2, "tolerence"): (
            "unknown key `tolerence`; did you mean `absolute_tolerance` or `relative_tolerance`?"
        ),
        ("parts", 3, "id"): "part id `direction_z1` is used twice",
    }


def test_unknown_keys_get_a_suggestion():
    problems = problems_of(minimal(type="numeric", answer=1, tolerence=0.1))
    assert problems[("parts", 0, "tolerence")] == (
        "unknown key `tolerence`; did you mean `absolute_tolerance` or `relative_tolerance`?"
    )
    problems = problems_of(minimal(type="text", pompt="?"))
    assert problems[("parts", 0, "pompt")] == "unknown key `pompt`; did you mean `prompt`?"


def test_math_problems_point_into_the_math_table():
    data = seed_data()
    data["math"]["variables"]["z_4"] = "complex"
    data["math"]["definitions"]["yhat_2"] = "exp(z_2) / s"
    problems = problems_of(data)
    assert problems[("math", "variables", "z_4")].startswith("unknown assumption `complex`")
    assert problems[("math", "definitions", "yhat_2")].startswith("unknown name `s`")


def test_a_part_may_add_its_own_variables():
    data = minimal(type="symbolic", answer="2 w", variables={"w": "positive"})
    part = load_questions(data).parts[0]
    assert part.math.variables == {"w": "positive"}
    problems = problems_of(minimal(type="symbolic", answer="2 w", variables={"w": "imaginary"}))
    assert problems[("parts", 0, "variables", "w")].startswith("unknown assumption `imaginary`")


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"kind": "quiz", "parts": []}, ("kind",), "this reader handles kind = \"questions\", not 'quiz'"),
        ({"kind": "questions"}, ("parts",), "an exercise needs at least one [[parts]] entry"),
        (
            minimal(type="essay"),
            ("parts", 0, "type"),
            "`type` must be one of symbolic, numeric, choice, text",
        ),
        (minimal(type="text", points=0), ("parts", 0, "points"), "`points` must be more than 0"),
        (minimal(type="text", prompt=""), ("parts", 0, "prompt"), "`prompt` must be a non-empty string"),
        (minimal(type="symbolic"), ("parts", 0, "answer"), "`answer` must be a non-empty string"),
        (minimal(type="numeric", answer="3"), ("parts", 0, "answer"), "`answer` must be a number"),
        (minimal(type="numeric", answer=3, unit="parsec"), ("parts", 0, "unit"), "unknown unit `parsec`"),
        (
            minimal(type="numeric", answer=3, absolute_tolerance=-1),
            ("parts", 0, "absolute_tolerance"),
            "`absolute_tolerance` cannot be negative",
        ),
        (
            minimal(type="choice", options=[{"id": "a", "text": "A", "correct": True}]),
            ("parts", 0, "options"),
            "a choice needs at least two options",
        ),
        (
            minimal(
                type="choice",
                multiple=True,
                options=[{"id": "a", "text": "A", "weight": 0.5}, {"id": "b", "text": "B", "weight": 0.2}],
            ),
            ("parts", 0, "options"),
            "the positive weights must add up to 1, not 0.7",
        ),
        (
            minimal(type="choice", options=[{"id": "a b", "text": "A", "correct": True}, {"id": "b", "text": "B"}]),
            ("parts", 0, "options", 0, "id"),
            "option id `a b` may only use letters, digits, _ and -",
        ),
        (
            minimal(type="text", rubric=[{"id": "a", "criterion": "A", "points": 2}]),
            ("parts", 0, "rubric"),
            "the rubric's points add up to 2, not the part's 1",
        ),
        (
            minimal(type="symbolic", answer="x", variables={"x": "real"}, definitions={"a": "b", "b": "a"}),
            ("parts", 0, "definitions"),
            "the definitions refer to each other in a circle",
        ),
    ],
)
def test_each_mistake_has_a_precise_message(data, path, message):
    assert problems_of(data)[path] == message


def test_the_variable_of_integration_is_a_declared_variable_of_an_antiderivative():
    def problems(**options):
        return problems_of(minimal(type="symbolic", answer="x^2/2", variables={"x": "real"}, **options))

    assert load_questions(minimal(type="symbolic", answer="x^2/2", variables={"x": "real"}, test="antiderivative",
                                  variable="x")).parts[0].test.variable == "x"  # fmt: skip
    assert problems(test="antiderivative", variable="t")[("parts", 0, "variable")] == (
        "`t` is not a declared variable (declared: x)"
    )
    assert problems(variable="x")[("parts", 0, "variable")] == (
        '`variable` is the variable of integration of `test = "antiderivative"`'
    )


def test_a_symbolic_part_reads_its_answer_test_tolerance_and_forms():
    data = minimal(
        type="symbolic", answer="x^2/2", variables={"x": "real"}, test="antiderivative",
        relative_tolerance=0.001, form=["expanded", "simplified"], form_credit=0.5,
    )  # fmt: skip
    part = load_questions(data).parts[0]
    assert (part.test.kind, part.test.relative_tolerance, part.test.significant_figures) == ("antiderivative", 0.001, 0)
    assert (part.forms, part.form_credit) == (["expanded", "simplified"], 0.5)
    plain = load_questions(minimal(type="symbolic", answer="x", variables={"x": "real"})).parts[0]
    assert (plain.test.kind, plain.test.relative_tolerance, plain.forms, plain.form_credit) == ("equivalent", 0, [], 1)


def test_the_float_policy_is_shared_or_per_part_and_allow_floats_is_its_older_spelling():
    data = {
        "kind": "questions",
        "math": {"variables": {"x": "real"}, "allow_floats": False},
        "parts": [
            {"id": "a", "type": "symbolic", "prompt": "?", "points": 1, "answer": "x/2"},
            {"id": "b", "type": "symbolic", "prompt": "?", "points": 1, "answer": "x/2", "floats": "machine"},
        ],
    }
    first, second = load_questions(data).parts
    assert (first.math.floats, first.math.allow_floats) == ("refuse", False)
    assert (second.math.floats, second.math.allow_floats) == ("machine", True)


def test_significant_figures_replace_the_default_tolerance_of_a_numeric_part():
    part = load_questions(minimal(type="numeric", answer=1.414, significant_figures=3)).parts[0]
    assert (part.significant_figures, part.relative_tolerance, part.absolute_tolerance) == (3, 0, 0)


@pytest.mark.parametrize(
    ("part", "path", "message"),
    [
        ({"floats": "approximately"}, ("parts", 0, "floats"), "`floats` must be one of 'exact', 'refuse', 'machine'"),
        (
            {"floats": "exact", "allow_floats": False},
            ("parts", 0, "floats"),
            "`floats` and `allow_floats` disagree; keep only `floats`",
        ),
        (
            {"test": "approximately"},
            ("parts", 0, "test"),
            "`test` must be one of equivalent, antiderivative, substitution",
        ),
        (
            {"form": "neat"},
            ("parts", 0, "form"),
            "`form` must be one of expanded, factored, simplified, no_decimals, or a list of them",
        ),
        ({"form_credit": 0.5}, ("parts", 0, "form_credit"), "`form_credit` needs a `form` to check"),
        (
            {"form": "expanded", "form_credit": 2},
            ("parts", 0, "form_credit"),
            "`form_credit` is a fraction of the points, from 0 to 1",
        ),
        (
            {"significant_figures": 3, "relative_tolerance": 0.1},
            ("parts", 0, "significant_figures"),
            "give either `significant_figures` or a tolerance, not both",
        ),
        (
            {"significant_figures": 2.5},
            ("parts", 0, "significant_figures"),
            "`significant_figures` must be a whole number from 1 to 15",
        ),
    ],
)
def test_each_answer_test_mistake_has_a_precise_message(part, path, message):
    data = minimal(type="symbolic", answer="x", variables={"x": "real"}, **part)
    assert problems_of(data)[path] == message
