"""Questions for tests, one of each kind, with right answers distinctive enough to search messages for."""

from quizzes import services
from quizzes.kinds import KINDS
from quizzes.models import Game, Question, Quiz

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




def shown(game: Game, text: str, position: int | None = None) -> int:
    """Where players of this game see the choice `text` (answers are shuffled per game): what a phone sends."""
    game.refresh_from_db()
    game_question = game.game_questions.get(position=game.question_index if position is None else position)
    public = services.public_question(game_question)
    return next(choice["id"] for choice in public["choices"] if choice["text"] == text)


def shown_choice(game: Game, index: int, position: int | None = None) -> int:
    """Where players of this game see the author's choice number `index`."""
    game.refresh_from_db()
    game_question = game.game_questions.get(position=game.question_index if position is None else position)
    return game_question.display.get("order", list(range(index + 1))).index(index)


def shown_in(state: dict, text: str) -> int:
    """The same, read from a state a phone received."""
    return next(choice["id"] for choice in state["question"]["choices"] if choice["text"] == text)
