"""Questions for tests, one of each kind, with right answers distinctive enough to search messages for."""

from quizzes.kinds import KINDS
from quizzes.models import Question, Quiz

QUESTIONS = {
    "single": {"choices": [{"text": "Encoder-only", "correct": True}, {"text": "Decoder-only"},
                           {"text": "Encoder-decoder"}]},
    "multiple": {"choices": [{"text": "T5", "correct": True}, {"text": "BART", "correct": True},
                             {"text": "BERT"}, {"text": "GPT-2"}]},
    "true_false": {"answer": False},
    "type_answer": {"accepted": ["Zanzibarcher", "zanzi barcher"]},
    "slider": {"min": 0, "max": 20, "step": 0.25, "answer": 7.25, "tolerance": 0.5, "unit": "tokens"},
    "ordering": {"items": ["Tokenize", "Map to ids", "Encode", "Decode"]},
    "poll": {"choices": [{"text": "Yes"}, {"text": "No"}]},
    "word_cloud": {},
}


def add_question(quiz: Quiz, kind: str, spec: dict | None = None, **fields) -> Question:
    handler_spec = spec if spec is not None else QUESTIONS[kind]
    position = quiz.questions.count() + 1
    return Question.objects.create(
        quiz=quiz, kind=kind, text=fields.pop("text", f"A {kind} question about $x^2$?"), position=position,
        spec=KINDS[kind].clean(handler_spec), **fields,
    )


