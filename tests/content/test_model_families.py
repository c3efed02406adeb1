"""The model-families exercise: every task and model has its family, wrong picks say why, options shuffle."""

import json

from graders import engine
from graders.code import exercise_files
from graders.questions import ChoicePart, shuffled_options
from tests.content.conftest import EXERCISES

FILES = exercise_files(EXERCISES / "09-model-families")

FAMILIES = {
    "translation": "encoder_decoder", "summarization": "encoder_decoder", "sentiment": "encoder_only",
    "named_entities": "encoder_only", "chatbot": "decoder_only", "story": "decoder_only",
    "bert": "encoder_only", "gpt": "decoder_only", "t5": "encoder_decoder", "marianmt": "encoder_decoder",
    "deepseek": "decoder_only",
}  # fmt: skip
RIGHT = {**FAMILIES, "has_an_encoder": ["bert", "t5", "bart", "marianmt"]}


def grade(**answers):
    verdict = engine.grade_answer(FILES, json.dumps({**RIGHT, **answers}))
    assert verdict.status == "graded"
    return verdict, {outcome.name: outcome for outcome in verdict.tests}


def test_the_exercise_passes_its_own_check():
    assert engine.test_the_tests(FILES) == []


def test_the_right_families_get_every_point():
    verdict, _parts = grade()
    assert verdict.score == verdict.max_score == 13


def test_swapping_encoder_only_and_decoder_only_loses_those_parts_and_says_why():
    swapped = {"encoder_only": "decoder_only", "decoder_only": "encoder_only"}
    answers = {part: swapped.get(family, family) for part, family in FAMILIES.items()}
    verdict, parts = grade(**answers)
    assert verdict.score == 13 - 7
    assert parts["sentiment"].message == (
        "Incorrect. The output is one label for a whole text that is read at once: that is the encoder's job "
        "(a classification head on top of BERT)."
    )
    assert parts["gpt"].message.startswith("Incorrect. GPT generates text (Generative Pre-trained Transformer)")
    assert parts["translation"].message == "Correct."


def test_a_seq2seq_task_given_to_a_lone_decoder_is_pointed_at_the_separate_input():
    _verdict, parts = grade(summarization="decoder_only", deepseek="encoder_decoder")
    assert "depends on a separate, whole input" in parts["summarization"].message
    assert parts["deepseek"].message.startswith("Incorrect. Like the GPT family, DeepSeek-V3 is a decoder-only model")


def test_selecting_models_with_an_encoder_earns_partial_credit():
    verdict, parts = grade(has_an_encoder=["bert", "t5", "gpt2"])
    # Two right picks of four, one wrong pick taking one back: a quarter of the part's 2 points.
    assert parts["has_an_encoder"].points == 0.5
    assert parts["has_an_encoder"].message == "Partly correct. GPT-2 is decoder-only."
    assert verdict.score == 11.5


def test_every_part_shuffles_its_options_and_each_student_keeps_an_order():
    spec = engine.questions_spec(FILES)
    choices = [part for part in spec.parts if isinstance(part, ChoicePart)]
    assert len(choices) == len(spec.parts) == 12
    assert all(part.shuffle for part in choices)
    bert = spec.part("bert")
    orders = {tuple(option.id for option in shuffled_options(bert, student)) for student in range(20)}
    assert len(orders) > 1
    assert shuffled_options(bert, 7) == shuffled_options(bert, 7)
