"""The quiz pages: the question bank and its editor, Kahoot files, hosting, joining, reports; and who may see what."""

import csv
import io
import re
import secrets
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from courses.packs import load_pack
from quizzes import services, timing
from quizzes.models import Game, Player, Question, Quiz, QuizImage
from quizzes.services import SEATS_SESSION_KEY
from tests.quizzes.questions import add_question, shown_choice
from tests.quizzes.test_kahoot import template

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def as_instructor(client, cast):
    client.force_login(cast.instructor)
    return client


@pytest.fixture
def web_quiz(cast):
    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Warm-up")
    add_question(quiz, "single")
    return quiz


def url(name, *args):
    return reverse(name, args=args)


# -- who may see what ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["student", "outsider"])
def test_the_question_bank_is_for_course_staff_only(client, cast, web_quiz, who):
    client.force_login(getattr(cast, who))
    for address in (url("quiz_list", "nlp"), url("quiz_detail", "nlp", web_quiz.pk), url("quiz_create", "nlp"),
                    url("quiz_export", "nlp", web_quiz.pk), url("game_create", "nlp", web_quiz.pk),
                    url("question_create", "nlp", web_quiz.pk, "single")):
        assert client.get(address).status_code == 404, address


def test_anonymous_visitors_are_sent_to_sign_in(client, web_quiz):
    response = client.get(url("quiz_list", "nlp"))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_teaching_assistant_runs_the_question_bank_too(client, cast, web_quiz):
    client.force_login(cast.ta)
    assert client.get(url("quiz_detail", "nlp", web_quiz.pk)).status_code == 200


def test_course_navigation_and_lesson_panel(client, cast, web_quiz):
    client.force_login(cast.instructor)
    page = client.get(url("lesson_detail", "nlp", "transformers")).content.decode()
    assert "Warm-up — start a live game" in page
    tabs = client.get(url("course_detail", "nlp")).content.decode()
    assert 'href="/c/nlp/quizzes/"' in tabs
    assert 'href="/c/nlp/games/"' in tabs

    client.force_login(cast.student)
    page = client.get(url("lesson_detail", "nlp", "transformers")).content.decode()
    assert "start a live game" not in page
    tabs = client.get(url("course_detail", "nlp")).content.decode()
    assert "/c/nlp/quizzes/" not in tabs
    assert 'href="/c/nlp/games/"' in tabs
    game = services.create_game(quiz=web_quiz, host=cast.instructor)
    page = client.get(url("lesson_detail", "nlp", "transformers")).content.decode()
    assert f'href="{game.join_path()}"' in page  # the staff's link: it passes the PIN locks
    assert "Join the live game" in page


# -- the editor --------------------------------------------------------------------------------


def question_form(kind, **fields):
    data = {"text": "A question with $x^2$", "time_limit": 20, "points": "standard"}
    data.update(fields)
    return data


@pytest.mark.parametrize(("kind", "fields", "spec"), [
    ("single", {"choice_1": "Encoder", "choice_2": "Decoder", "correct_1": "on"},
     {"choices": [{"text": "Encoder", "correct": True}, {"text": "Decoder", "correct": False}]}),
    ("multiple", {"choice_1": "T5", "choice_2": "BART", "choice_3": "BERT", "correct_1": "on", "correct_2": "on"},
     {"choices": [{"text": "T5", "correct": True}, {"text": "BART", "correct": True},
                  {"text": "BERT", "correct": False}]}),
    ("true_false", {"answer_true": "false"}, {"answer": False}),
    ("type_answer", {"accepted": "argmax\narg max\n"}, {"accepted": ["argmax", "arg max"]}),
    ("slider", {"slider_min": 0, "slider_max": 10, "slider_step": 1, "slider_answer": 5, "slider_tolerance": 1},
     {"min": 0, "max": 10, "step": 1, "answer": 5, "tolerance": 1, "unit": ""}),
    ("ordering", {"choice_1": "first", "choice_2": "second", "choice_3": "third"},
     {"items": ["first", "second", "third"]}),
    ("poll", {"choice_1": "Yes", "choice_2": "No"},
     {"choices": [{"text": "Yes", "correct": False}, {"text": "No", "correct": False}]}),
    ("word_cloud", {}, {}),
])
def test_every_kind_of_question_can_be_written_on_the_web(as_instructor, web_quiz, kind, fields, spec):
    address = url("question_create", "nlp", web_quiz.pk, kind)
    assert as_instructor.get(address).status_code == 200
    response = as_instructor.post(address, question_form(kind, **fields))
    assert response.status_code == 302, response.content.decode()
    question = web_quiz.questions.order_by("-position").first()
    assert (question.kind, question.spec, question.position) == (kind, spec, 2)


@pytest.mark.parametrize(("kind", "fields", "message"), [
    ("single", {"choice_1": "Encoder", "choice_2": "Decoder"}, "Mark at least one choice as correct."),
    ("single", {"choice_1": "Only one", "correct_1": "on"}, "Needs 2 to 6 choices, not 1."),
    ("true_false", {}, "Must be true or false."),
    ("type_answer", {"accepted": "  "}, "List at least one accepted answer."),
    ("slider", {"slider_min": 10, "slider_max": 0, "slider_answer": 5}, "Must be larger than min."),
])
def test_a_malformed_question_is_shown_again_with_the_reason(as_instructor, web_quiz, kind, fields, message):
    response = as_instructor.post(url("question_create", "nlp", web_quiz.pk, kind), question_form(kind, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert web_quiz.questions.count() == 1


def test_the_editor_can_pin_the_order_of_the_answers(as_instructor, web_quiz):
    fields = {"choice_1": "Agree", "choice_2": "Not sure", "choice_3": "Disagree", "keep_order": "on"}
    response = as_instructor.post(url("question_create", "nlp", web_quiz.pk, "poll"), question_form("poll", **fields))
    assert response.status_code == 302
    question = web_quiz.questions.order_by("-position").first()
    assert question.spec["shuffle"] is False
    page = as_instructor.get(url("question_edit", "nlp", web_quiz.pk, question.pk)).content.decode()
    assert 'name="keep_order" aria-describedby="id_keep_order_helptext" id="id_keep_order" checked' in page
    assert "Shown in this order." in as_instructor.get(web_quiz.get_absolute_url()).content.decode()
    as_instructor.post(url("question_edit", "nlp", web_quiz.pk, question.pk), question_form("poll", **{
        **fields, "keep_order": ""}))
    question.refresh_from_db()
    assert "shuffle" not in question.spec


def test_the_editor_offers_to_pin_only_questions_whose_answers_are_shuffled(as_instructor, web_quiz):
    for kind, offered in (("single", True), ("multiple", True), ("poll", True), ("true_false", False),
                          ("ordering", False)):
        page = as_instructor.get(url("question_create", "nlp", web_quiz.pk, kind)).content.decode()
        assert ('name="keep_order"' in page) is offered, kind


def test_time_limits_outside_5_to_240_seconds_are_refused(as_instructor, web_quiz):
    fields = question_form("true_false", answer_true="true", time_limit=241)
    response = as_instructor.post(url("question_create", "nlp", web_quiz.pk, "true_false"), fields)
    assert response.status_code == 400
    assert "less than or equal to 240" in response.content.decode()


def test_editing_reordering_and_removing_questions(as_instructor, web_quiz):
    first = web_quiz.questions.get()
    second = add_question(web_quiz, "true_false")
    response = as_instructor.post(url("question_edit", "nlp", web_quiz.pk, second.pk),
                                  question_form("true_false", text="Edited", answer_true="true", points="double"))
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.text, second.spec, second.points) == ("Edited", {"answer": True}, "double")

    as_instructor.post(url("question_move", "nlp", web_quiz.pk, second.pk), {"direction": "up"})
    assert list(web_quiz.active_questions()) == [second, first]

    as_instructor.post(url("question_delete", "nlp", web_quiz.pk, first.pk))
    assert list(web_quiz.active_questions()) == [second]
    assert Question.objects.get(pk=first.pk).archived  # games already played keep it


def test_an_uploaded_image_is_served_from_this_site_with_a_sandbox(as_instructor, client, web_quiz):
    question = web_quiz.questions.get()
    upload = io.BytesIO(PNG)
    upload.name = "diagram.png"
    fields = question_form("single", choice_1="a", choice_2="b", correct_1="on", image=upload)
    assert as_instructor.post(url("question_edit", "nlp", web_quiz.pk, question.pk), fields).status_code == 302
    question.refresh_from_db()
    assert question.image.sha256 == QuizImage.objects.get().sha256
    response = client.get(question.image.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PNG


def test_an_upload_that_is_not_an_image_is_refused(as_instructor, web_quiz):
    question = web_quiz.questions.get()
    upload = io.BytesIO(b"<script>alert(1)</script>")
    upload.name = "x.png"
    fields = question_form("single", choice_1="a", choice_2="b", correct_1="on", image=upload)
    response = as_instructor.post(url("question_edit", "nlp", web_quiz.pk, question.pk), fields)
    assert response.status_code == 400
    assert "not a valid PNG image" in response.content.decode()


def test_pack_quizzes_are_read_only_on_the_web_and_can_be_duplicated(as_instructor, cast, demo_pack):
    quiz = load_pack(demo_pack, owner=cast.instructor).course.quizzes.get()
    slug = quiz.course.slug
    page = as_instructor.get(url("quiz_detail", slug, quiz.pk)).content.decode()
    assert "comes from the course pack" in page
    question = quiz.questions.first()
    response = as_instructor.post(url("question_edit", slug, quiz.pk, question.pk), question_form("single"))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text != "A question with $x^2$"

    response = as_instructor.post(url("quiz_duplicate", slug, quiz.pk))
    copy = Quiz.objects.exclude(pk=quiz.pk).get()
    assert response.url == copy.get_absolute_url()
    assert copy.pack_id is None
    assert copy.active_questions().count() == quiz.active_questions().count()
    assert copy.questions.get(text__startswith="Before it has written").image == quiz.questions.get(
        key="kt-decoder-start").image


def test_creating_and_archiving_a_quiz(as_instructor, cast):
    response = as_instructor.post(url("quiz_create", "nlp"), {"title": "Attention", "lesson": cast.lesson.pk})
    quiz = Quiz.objects.get(title="Attention")
    assert response.url == quiz.get_absolute_url()
    assert quiz.lesson == cast.lesson
    as_instructor.post(url("quiz_archive", "nlp", quiz.pk))
    assert Quiz.objects.get(pk=quiz.pk).archived
    assert as_instructor.get(url("quiz_detail", "nlp", quiz.pk)).status_code == 404


# -- Kahoot files ------------------------------------------------------------------------------


def upload(data: bytes, name="Transformers quiz.xlsx"):
    file = io.BytesIO(data)
    file.name = name
    return file


def test_importing_a_clean_kahoot_file(as_instructor):
    data = template([["Which family is BERT?", "Encoder-only", "Decoder-only", None, None, 20, 1]])
    response = as_instructor.post(url("quiz_import", "nlp"), {"file": upload(data)})
    quiz = Quiz.objects.get()
    assert response.url == quiz.get_absolute_url()
    assert quiz.title == "Transformers quiz"
    assert quiz.active_questions().get().text == "Which family is BERT?"


def test_importing_keeps_good_rows_and_lists_the_bad_ones(as_instructor):
    data = template([["Good", "a", "b", None, None, 20, 1], ["Bad", "a", "b", None, None, 7, 1]])
    response = as_instructor.post(url("quiz_import", "nlp"), {"file": upload(data), "title": "Mixed"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported 1 question" in page
    assert "row 10, column G (Time limit): must be one of 5, 10, 20, 30, 60, 90, 120, 240 seconds" in page
    assert [q.text for q in Quiz.objects.get(title="Mixed").active_questions()] == ["Good"]


def test_importing_a_file_that_is_not_a_workbook(as_instructor):
    response = as_instructor.post(url("quiz_import", "nlp"), {"file": upload(b"hello", "quiz.xlsx")})
    assert response.status_code == 400
    assert "This file cannot be read as an Excel .xlsx workbook" in response.content.decode()
    assert not Quiz.objects.exists()


def test_exporting_a_quiz_to_the_kahoot_template(as_instructor, web_quiz):
    response = as_instructor.get(url("quiz_export", "nlp", web_quiz.pk))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="warm-up-kahoot.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet["B9"].value == "A single question about $x^2$?"


# -- starting and hosting ----------------------------------------------------------------------


def test_starting_a_game_opens_its_lobby_on_the_projector(as_instructor, web_quiz):
    response = as_instructor.post(url("game_create", "nlp", web_quiz.pk), {
        "speed_points": "on", "reading_seconds": 3, "team_count": 3, "team_mode": "on", "extra_time_factor": "2.0"})
    game = Game.objects.get()
    assert response.url == game.get_absolute_url()
    assert (game.reading_seconds, game.team_mode, game.team_count, game.extra_time_factor) == (3, True, 3, 2.0)
    assert game.auto_advance is False
    page = as_instructor.get(game.get_absolute_url()).content.decode()
    assert game.pin in page
    assert "<svg" in page  # the QR code of the join link
    assert f"/play/{game.pin}/" in page


def test_a_student_cannot_open_the_projector_view(client, cast, web_quiz):
    game = services.create_game(quiz=web_quiz, host=cast.instructor)
    client.force_login(cast.student)
    assert client.get(game.get_absolute_url()).status_code == 404
    assert client.get(url("game_report", "nlp", game.pk)).status_code == 404


def test_the_games_page_lists_running_and_finished_games(as_instructor, client, cast, web_quiz):
    running = services.create_game(quiz=web_quiz, host=cast.instructor)
    finished = services.create_game(quiz=web_quiz, host=cast.instructor)
    services.join_game(game=finished, nickname="Sara", user=cast.student)
    services.end_game(finished.pk)
    page = as_instructor.get(url("game_list", "nlp")).content.decode()
    assert running.pin in page
    assert url("game_report", "nlp", finished.pk) in page

    client.force_login(cast.student)
    page = client.get(url("game_list", "nlp")).content.decode()
    assert f"/play/{running.pin}/" in page
    assert "Warm-up" in page and "0 points" in page  # noqa: PT018
    assert url("game_report", "nlp", finished.pk) not in page


def test_ending_a_forgotten_game_from_the_games_page(as_instructor, cast, web_quiz):
    game = services.create_game(quiz=web_quiz, host=cast.instructor)
    as_instructor.post(url("game_end", "nlp", game.pk))
    game.refresh_from_db()
    assert game.finished_at is not None
    assert as_instructor.get(game.get_absolute_url()).url == url("game_report", "nlp", game.pk)


# -- joining -----------------------------------------------------------------------------------


@pytest.fixture
def game(cast, web_quiz):
    return services.create_game(quiz=web_quiz, host=cast.instructor)


def test_joining_with_the_pin_and_a_nickname(client, game):
    response = client.get(url("play_pin"), {"pin": f" {game.pin[:3]} {game.pin[3:]} "})
    assert response.url == url("play_join", game.pin)
    page = client.get(response.url).content.decode()
    assert "Surprise me" in page
    response = client.post(url("play_join", game.pin), {"nickname": "  Zoé  "})
    player = Player.objects.get()
    assert response.url == url("play_game", game.pk)
    assert player.nickname == "Zoé"
    assert client.session[SEATS_SESSION_KEY] == {str(game.pk): player.seat_token}
    page = client.get(response.url).content.decode()
    assert f'data-ws="/ws/quiz/{game.pk}/play/"' in page
    assert client.get(url("play_join", game.pin)).url == url("play_game", game.pk)  # already seated


def test_a_wrong_pin_says_so(client, game):
    response = client.get(url("play_pin"), {"pin": "000000"})
    assert response.status_code == 404
    assert "No game is running with this PIN" in response.content.decode()


def test_the_player_page_without_a_seat_asks_for_the_pin_and_never_shows_it(client, game):
    response = client.get(url("play_game", game.pk))
    assert response.status_code == 404
    page = response.content.decode()
    assert "Type the PIN shown on the projector" in page
    assert game.pin not in page
    assert "Location" not in response.headers


def test_the_player_page_of_a_game_that_does_not_exist_looks_the_same(client, game):
    missing = client.get(url("play_game", game.pk + 1000))
    running = client.get(url("play_game", game.pk))
    assert missing.status_code == running.status_code == 404
    per_response = re.compile(r'(nonce|content)="[^"]*"')  # the CSP nonce and the CSRF token
    assert per_response.sub("", missing.content.decode()) == per_response.sub("", running.content.decode())


def test_a_removed_player_goes_back_to_the_join_form_which_says_so(client, game):
    client.post(url("play_join", game.pin), {"nickname": "Zoe"})
    services.kick(game.pk, Player.objects.get().pk)
    assert client.get(url("play_game", game.pk)).url == url("play_join", game.pin)


@pytest.mark.parametrize(("nickname", "message"), [
    ("sh1thead", "That nickname is not allowed here"),
    ("x" * 21, "Keep your nickname to 20 characters"),
])
def test_bad_nicknames_are_refused_with_a_reason(client, game, nickname, message):
    response = client.post(url("play_join", game.pin), {"nickname": nickname})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Player.objects.exists()


def test_a_taken_nickname_is_refused(client, game):
    services.join_game(game=game, nickname="Zoe")
    response = client.post(url("play_join", game.pin), {"nickname": "ZOÉ"})
    assert response.status_code == 400
    assert "is taken in this game" in response.content.decode()


def test_the_random_nickname_button_returns_a_fresh_input(client, game):
    response = client.get(url("play_nickname", game.pin))
    assert response.content.decode().startswith("<input")
    assert 'name="nickname"' in response.content.decode()


def test_joining_from_the_course_account_lands_in_the_gradebook(client, cast, game):
    cast.student.last_name = "Student"
    cast.student.first_name = "Sara"
    cast.student.save()
    client.force_login(cast.student)
    assert "Join as Sara S." in client.get(url("play_join", game.pin)).content.decode()
    client.post(url("play_join", game.pin), {"with_account": "1"})
    player = Player.objects.get()
    assert (player.nickname, player.user) == ("Sara S.", cast.student)


def test_a_course_accounts_game_asks_others_to_sign_in(client, cast, web_quiz):
    game = services.create_game(quiz=web_quiz, host=cast.instructor, accounts_only=True)
    page = client.get(url("play_join", game.pin)).content.decode()
    assert "Sign in with your course account" in page
    response = client.post(url("play_join", game.pin), {"nickname": "Anon"})
    assert response.status_code == 403
    assert not Player.objects.exists()


def test_a_kicked_player_cannot_rejoin_from_the_same_browser(client, game):
    client.post(url("play_join", game.pin), {"nickname": "Troll"})
    services.kick(game.pk, Player.objects.get().pk)
    response = client.get(url("play_join", game.pin))
    assert response.status_code == 403
    assert "removed you" in response.content.decode()


def test_too_many_joins_from_one_browser_are_throttled(client, game, settings):
    settings.QUIZ_JOINS_PER_SESSION_PER_MINUTE = 3
    statuses = [client.post(url("play_join", game.pin), {"nickname": "b1tch"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_too_many_joins_from_one_address_are_throttled(client, game, settings):
    settings.QUIZ_JOINS_PER_IP_PER_MINUTE = 2
    address = f"10.{game.pk % 250}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    statuses = []
    for number in range(3):
        client.cookies.clear()  # a new browser each time, from the same address
        response = client.post(url("play_join", game.pin), {"nickname": f"Bot {number}"}, REMOTE_ADDR=address)
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    assert Player.objects.count() == 2


# -- reports -----------------------------------------------------------------------------------


@pytest.fixture
def played(cast, make_game):
    """A finished two-question game: Sara (course account) right twice, a nickname wrong once."""
    game = make_game(("single", "poll"))
    sara = services.join_game(game=game, nickname="Sara", user=cast.student)
    sneaky = services.join_game(game=game, nickname="=HYPERLINK(1)")
    services.start_game(game.pk)
    game.refresh_from_db()
    now = timing.now()
    services.submit_answer(game.pk, sara.pk, 0, {"choice": shown_choice(game, 0)}, now)
    services.submit_answer(game.pk, sneaky.pk, 0, {"choice": shown_choice(game, 2)}, now)
    for _ in range(3):
        game.refresh_from_db()
        services.advance(game.pk, game.version)
    game.refresh_from_db()
    services.submit_answer(game.pk, sara.pk, 1, {"choice": shown_choice(game, 1)}, timing.now())
    services.end_game(game.pk)
    return Game.objects.get(pk=game.pk)


def test_the_report_shows_each_question_and_each_player(as_instructor, played):
    page = as_instructor.get(url("game_report", "nlp", played.pk)).content.decode()
    assert "50.0% right" in page
    assert "2 of 2 answered" in page
    assert "Encoder-only" in page
    assert "Sara Student" in page  # her account
    assert "=HYPERLINK(1)" in page


def test_the_report_downloads_as_xlsx_with_three_sheets(as_instructor, played):
    response = as_instructor.get(url("game_report_xlsx", "nlp", played.pk))
    workbook = load_workbook(BytesIO(response.content))
    assert workbook.sheetnames == ["Players", "Questions", "Answers"]
    players = list(workbook["Players"].values)
    assert players[0][:5] == ("Rank", "Nickname", "Account", "Team", "Score")
    assert players[1][1] == "Sara"
    assert players[2][1] == "=HYPERLINK(1)"
    assert workbook["Players"]["B3"].data_type == "s"  # a nickname never becomes a formula
    questions = list(workbook["Questions"].values)
    assert questions[1][8] == 50.0
    assert list(workbook["Answers"].values)[1][2:] == ("Encoder-only", "No")


def test_the_reports_spreadsheets_carry_plain_text_not_markdown(as_instructor, cast, make_quiz):
    quiz = make_quiz(())
    add_question(quiz, "single", {"choices": [{"text": "**Encoder**-only `<s>`", "correct": True}, "*Decoder*"]},
                 text="BERT belongs to which **family**? See $\\hat y$.")
    game = services.create_game(quiz=quiz, host=cast.instructor, reading_seconds=0)
    ann = services.join_game(game=game, nickname="Ann")
    services.start_game(game.pk)
    services.submit_answer(game.pk, ann.pk, 0, {"choice": shown_choice(game, 0)}, timing.now())
    services.end_game(game.pk)
    workbook = load_workbook(BytesIO(as_instructor.get(url("game_report_xlsx", "nlp", game.pk)).content))
    question = list(workbook["Questions"].values)[1]
    assert question[2] == "BERT belongs to which family? See $\\hat y$."
    assert question[3] == "Encoder-only <s>"
    assert question[10] == "Encoder-only <s>: 1; Decoder: 0"
    assert list(workbook["Answers"].values)[1][2] == "Encoder-only <s>"
    rows = list(csv.reader(io.StringIO(as_instructor.get(
        url("game_report_csv", "nlp", game.pk), {"table": "questions"}).content.decode())))
    assert rows[1][2] == "BERT belongs to which family? See $\\hat y$."
    page = as_instructor.get(url("game_report", "nlp", game.pk)).content.decode()
    assert "<strong>family</strong>" in page  # the page still renders it


@pytest.mark.parametrize("table", ["players", "questions", "answers"])
def test_the_report_downloads_as_csv(as_instructor, played, table):
    response = as_instructor.get(url("game_report_csv", "nlp", played.pk), {"table": table})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) >= 3
    if table == "players":
        assert rows[2][1] == "'=HYPERLINK(1)"  # defused for spreadsheets


def test_an_unknown_csv_table_is_not_found(as_instructor, played):
    assert as_instructor.get(url("game_report_csv", "nlp", played.pk), {"table": "secrets"}).status_code == 404


def test_what_players_typed_is_shown_as_text_in_the_report(as_instructor, cast, make_game):
    game = make_game(("type_answer",))
    player = services.join_game(game=game, nickname="Ann")
    services.start_game(game.pk)
    services.submit_answer(game.pk, player.pk, 0, {"text": "a ![x](http://tracker.example/x.png) b"},
                           timing.now())
    services.end_game(game.pk)
    page = as_instructor.get(url("game_report", "nlp", game.pk)).content.decode()
    assert "(http://tracker.example/x.png" in page  # shown, as text
    assert 'src="http://tracker.example' not in page
    assert 'href="http://tracker.example' not in page


def test_a_phones_join_costs_a_handful_of_queries(client, game, django_assert_max_num_queries):
    # A hall joins within seconds: the form and the join are a GET and a POST each, and what they
    # ask the database is most of a join's cost (docs/benchmarks.md, "Live quizzes"). The form
    # made the new session twice (created, then saved again) and checked each lockout apart.
    with django_assert_max_num_queries(7):  # lockouts, game, nickname suggestion, new session (with its savepoint)
        assert client.get(url("play_join", game.pin)).status_code == 200
    with django_assert_max_num_queries(9):  # session, lockouts, game, seat, session saved (with their savepoints)
        assert client.post(url("play_join", game.pin), {"nickname": "Zoé"}).status_code == 302
    assert Player.objects.get().nickname == "Zoé"
