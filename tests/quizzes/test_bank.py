"""The question bank's writes, called directly: what they store, and what they refuse."""

import pytest

from quizzes import bank
from quizzes.kahoot import QuestionDraft
from quizzes.kinds import SpecProblem
from quizzes.models import Question, Quiz
from tests.quizzes.questions import QUESTIONS

pytestmark = pytest.mark.django_db

TRUE = {"answer": True}


def texts(quiz: Quiz) -> list[str]:
    return list(quiz.active_questions().values_list("text", flat=True))


def test_a_question_is_added_at_the_end_with_its_spec_cleaned(make_quiz):
    quiz = make_quiz(kinds=("single", "poll"))
    question = bank.add_question(quiz, kind="true_false", text="  Attention is all you need?  ", time_limit=30,
                                 points="double", spec=TRUE)
    question.refresh_from_db()
    assert (question.position, question.text, question.time_limit, question.points, question.spec) == (
        3, "Attention is all you need?", 30, "double", TRUE)


def test_a_malformed_spec_is_refused_and_nothing_is_stored(make_quiz):
    quiz = make_quiz(kinds=())
    with pytest.raises(SpecProblem, match="choices"):
        bank.add_question(quiz, kind="single", text="Which?", time_limit=20, points="standard",
                          spec={"choices": [{"text": "Only one"}]})
    assert not quiz.questions.exists()


def test_an_unknown_kind_of_question_is_refused(make_quiz):
    quiz = make_quiz(kinds=())
    with pytest.raises(SpecProblem, match="unknown kind 'essay'"):
        bank.add_question(quiz, kind="essay", text="Discuss.", time_limit=20, points="standard", spec={})
    assert not quiz.questions.exists()


def test_saving_a_question_replaces_its_fields(make_quiz):
    question = make_quiz(kinds=("true_false",)).questions.get()
    bank.save_question(question, text="Softmax sums to one?", time_limit=10, points="none", spec={"answer": False})
    question.refresh_from_db()
    assert (question.text, question.time_limit, question.points, question.spec) == (
        "Softmax sums to one?", 10, "none", {"answer": False})


def test_moving_a_question_swaps_it_with_its_neighbour_and_stops_at_the_ends(make_quiz):
    quiz = make_quiz(kinds=("single", "poll", "slider"))
    first, second, third = quiz.active_questions()
    bank.move_question(quiz, third.pk, up=True)
    assert list(quiz.active_questions()) == [first, third, second]
    bank.move_question(quiz, first.pk, up=True)
    assert list(quiz.active_questions()) == [first, third, second]


def test_moving_or_removing_a_question_of_another_quiz_is_refused(make_quiz):
    quiz, other = make_quiz(), make_quiz(title="Other")
    stranger = other.questions.get()
    with pytest.raises(Question.DoesNotExist):
        bank.move_question(quiz, stranger.pk, up=False)
    with pytest.raises(Question.DoesNotExist):
        bank.remove_question(quiz, stranger.pk)
    stranger.refresh_from_db()
    assert not stranger.archived


def test_a_removed_question_is_archived_not_deleted(make_quiz):
    quiz = make_quiz(kinds=("single", "poll"))
    removed = quiz.active_questions().first()
    bank.remove_question(quiz, removed.pk)
    assert list(quiz.active_questions()) == [quiz.questions.get(kind="poll")]
    assert Question.objects.get(pk=removed.pk).archived


def test_every_write_to_a_pack_quiz_is_refused_but_it_can_be_duplicated(make_quiz, cast):
    quiz = make_quiz(kinds=("single", "poll"), pack_id="kahoot-time")
    question = quiz.active_questions().first()
    writes = [
        lambda: bank.add_question(quiz, kind="true_false", text="New?", time_limit=20, points="standard", spec=TRUE),
        lambda: bank.save_question(question, text="Changed", time_limit=20, points="standard",
                                   spec=QUESTIONS["single"]),
        lambda: bank.move_question(quiz, question.pk, up=False),
        lambda: bank.remove_question(quiz, question.pk),
        lambda: bank.archive_quiz(quiz),
    ]
    before = texts(quiz)
    for write in writes:
        with pytest.raises(bank.QuizReadOnly, match="comes from the course pack"):
            write()
    quiz.refresh_from_db()
    assert (texts(quiz), quiz.archived) == (before, False)

    copy = bank.duplicate_quiz(quiz, by=cast.instructor)
    assert (copy.title, copy.pack_id, copy.created_by, texts(copy)) == (
        "Kahoot time! (copy)", None, cast.instructor, before)


def test_an_import_makes_a_quiz_of_the_drafts_in_their_order(cast):
    drafts = [QuestionDraft(row=9, text="Which family is BERT?", time_limit=20, spec=QUESTIONS["single"]),
              QuestionDraft(row=10, text="GPT is?", time_limit=30, spec=QUESTIONS["single"])]
    quiz = bank.import_quiz(cast.course, title="Imported " + "x" * 300, drafts=drafts, by=cast.instructor)
    assert (len(quiz.title), texts(quiz)) == (200, ["Which family is BERT?", "GPT is?"])
    assert list(quiz.active_questions().values_list("position", "time_limit")) == [(1, 20), (2, 30)]


def test_an_import_without_a_question_is_refused_and_makes_no_quiz(cast):
    with pytest.raises(bank.NothingToImport, match="No question could be imported"):
        bank.import_quiz(cast.course, title="Empty", drafts=[], by=cast.instructor)
    assert not Quiz.objects.filter(title="Empty").exists()
