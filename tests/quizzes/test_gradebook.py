"""Live games as gradebook columns: finished games, course accounts only, the final points."""

from quizzes import services, timing
from quizzes.gradebook import GradebookColumn, gradebook_columns
from quizzes.models import Game
from tests.quizzes.questions import shown_choice


def play(game, answers: dict) -> Game:
    """Start the game, give the answers {player: the author's choice number} to its one question, and end it."""
    services.start_game(game.pk)
    now = timing.now()
    for player, choice in answers.items():
        services.submit_answer(game.pk, player.pk, 0, {"choice": shown_choice(game, choice)}, now)
    services.end_game(game.pk)
    return Game.objects.get(pk=game.pk)


def test_a_finished_game_is_a_column_of_course_accounts_points(cast, make_game):
    game = make_game(("single",), speed_points=False)
    sara = services.join_game(game=game, nickname="Sara", user=cast.student)
    tom = services.join_game(game=game, nickname="Tom", user=cast.ta)
    anonymous = services.join_game(game=game, nickname="Anon")
    outsider = services.join_game(game=game, nickname="Otto", user=cast.outsider)
    game = play(game, {sara: 0, tom: 1, anonymous: 0, outsider: 0})

    (column,) = gradebook_columns(cast.course)
    assert isinstance(column, GradebookColumn)
    assert column.key == f"quiz-game-{game.pk}"
    assert column.title.startswith("Kahoot time! (live game, ")
    assert column.max_points is None
    assert column.scores == {cast.student.pk: 1000.0, cast.ta.pk: 0.0}
    assert column.played_at == game.started_at


def test_running_games_games_without_accounts_and_removed_players_give_no_column_or_score(cast, make_game):
    running = make_game()
    services.join_game(game=running, nickname="Sara", user=cast.student)
    anonymous_only = make_game()
    services.join_game(game=anonymous_only, nickname="Anon")
    play(anonymous_only, {})
    kicked_game = make_game()
    kicked = services.join_game(game=kicked_game, nickname="Sara", user=cast.student)
    services.join_game(game=kicked_game, nickname="Tom", user=cast.ta)
    services.kick(kicked_game.pk, kicked.pk)
    play(kicked_game, {})

    (column,) = gradebook_columns(cast.course)
    assert column.key == f"quiz-game-{kicked_game.pk}"
    assert column.scores == {cast.ta.pk: 0.0}
    assert gradebook_columns(cast.other_course) == []


def test_columns_come_oldest_first(cast, make_game):
    keys = []
    for _ in range(3):
        game = make_game()
        services.join_game(game=game, nickname="Sara", user=cast.student)
        keys.append(f"quiz-game-{play(game, {}).pk}")
    assert [column.key for column in gradebook_columns(cast.course)] == keys


def test_the_course_gradebook_shows_a_game_without_adding_its_points_to_the_total(
        client, cast, make_game, code_exercise, django_capture_on_commit_callbacks):
    import csv
    import io

    from exercises import grading
    from exercises import services as exercise_services
    from tests.conftest import GOOD_SOFTMAX

    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    grading.grade(submission.pk)
    game = make_game(("single",), speed_points=False)
    sara = services.join_game(game=game, nickname="Sara", user=cast.student)
    play(game, {sara: 0})

    client.force_login(cast.instructor)
    page = client.get("/c/nlp/gradebook/").content.decode()
    assert "not in total" in page
    rows = list(csv.reader(io.StringIO(client.get("/c/nlp/gradebook.csv").content.decode())))
    header, sara_row = rows[0], rows[1]
    game_column = next(i for i, title in enumerate(header) if "live game" in title)
    assert header[game_column].endswith("(not in total)")
    assert sara_row[game_column] == "1000"
    assert header[-1] == "Total (4 pts)"
    assert sara_row[-1] == "4"
