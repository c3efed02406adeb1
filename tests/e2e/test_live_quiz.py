"""A live quiz in real browsers: a projector and three phones play three questions; one phone reloads mid-game."""

import re

import pytest
from playwright.sync_api import expect

from quizzes import services
from quizzes.gradebook import gradebook_columns
from quizzes.models import Game, Player, Quiz
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot, sign_in
from tests.quizzes.questions import add_question

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def fresh_channel_layer_and_caches():
    """The server thread's event loop gets a channel layer of its own (the Redis layer binds to
    a loop), and no per-game-version cache of an earlier test (ids come back after a flush)."""
    from channels.layers import channel_layers

    from quizzes import live, services

    channel_layers.backends = {}
    services.clear_caches()
    live.clear_caches()
    yield
    channel_layers.backends = {}


def score(page) -> int:
    return int(page.locator("[data-field=score]").inner_text().replace(",", ""))


def big_message(page):
    return page.locator(".player-stage .big-message").first


def open_lobby(host, quiz, *, reading_seconds: int) -> Game:
    """The instructor signs in and opens a live game's lobby from the quiz's page."""
    sign_in(host, "ines", PASSWORD)
    host.goto(f"/c/nlp/quizzes/{quiz.pk}/")
    host.get_by_role("link", name="Start a live game").click()
    host.get_by_label("Reading time (seconds)").fill(str(reading_seconds))
    host.get_by_role("button", name="Open the lobby").click()
    host.wait_for_url("**/host/")
    return Game.objects.get()


def join_by_link(phone, game, nickname: str):
    """A phone follows the join link (the QR code) and joins with `nickname`."""
    phone.goto(game.join_path())
    phone.get_by_label("Nickname").fill(nickname)
    phone.get_by_role("button", name="Join").click()
    return phone


# live_site comes first so that the test database exists before the browser starts.
def test_a_host_and_three_players_play_a_whole_game(live_site, new_page, cast, tmp_path):
    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Kahoot time!")
    add_question(quiz, "single", text="BERT is which kind of model?")
    add_question(quiz, "true_false", text="Teacher forcing feeds the model its own predictions.")
    add_question(quiz, "type_answer", {"accepted": ["cher"]}, text="*teacher* = `tea` + …?")

    host = new_page()
    game = open_lobby(host, quiz, reading_seconds=1)
    expect(host.locator(".join-code")).to_have_text(game.pin)
    expect(host.locator(".qr svg")).to_be_visible()

    # Ann types the PIN on the join page; Bob follows the join link (the QR code) and takes a
    # random nickname; Sara joins from her course account.
    ann = new_page(viewport=PHONE)
    ann.goto("/play/")
    ann.get_by_label("Game PIN").fill(game.pin)
    ann.get_by_role("button", name="Enter").click()
    ann.get_by_label("Nickname").fill("Ann")
    ann.get_by_role("button", name="Join").click()
    expect(big_message(ann)).to_have_text("You're in!")

    bob = new_page(viewport=PHONE)
    bob.goto(game.join_path())
    suggested = bob.get_by_label("Nickname").input_value()
    bob.get_by_role("button", name="Surprise me").click()
    expect(bob.get_by_label("Nickname")).not_to_have_value(suggested)
    bob_name = bob.get_by_label("Nickname").input_value()
    bob.get_by_role("button", name="Join").click()
    expect(big_message(bob)).to_have_text("You're in!")

    sara = new_page(viewport=PHONE)
    sign_in(sara, "sara", PASSWORD)
    sara.goto(game.join_path())
    sara.get_by_role("button", name="Join as Sara").click()
    expect(big_message(sara)).to_have_text("You're in!")

    players = host.locator(".lobby-players .nickname")
    expect(players).to_have_count(3)
    expect(players).to_have_text(["Ann", bob_name, "Sara"])
    phones = (ann, bob, sara)

    # Question 1: read for a second, then answer; everyone answered, so it closes at once.
    host.get_by_role("button", name="Start").click()
    for phone in phones:
        expect(big_message(phone)).to_have_text("Get ready…")
    for phone in phones:
        expect(phone.get_by_role("button", name=re.compile("Encoder-only"))).to_be_visible(timeout=5000)
    expect(host.locator(".answer-tile")).to_have_count(3)
    ann.get_by_role("button", name=re.compile("Encoder-only")).click()
    bob.get_by_role("button", name=re.compile("Decoder-only")).click()
    expect(big_message(bob)).to_have_text("Answer received")
    expect(host.locator("[data-field=answered]")).to_have_text("2 of 3 answered")
    sara.get_by_role("button", name=re.compile("Encoder-only")).click()
    expect(host.locator(".bars .bar")).to_have_count(3)
    expect(host.locator(".bar.is-correct .bar-count")).to_have_text("2")
    expect(big_message(ann)).to_have_text("Correct!")
    expect(big_message(bob)).to_have_text("Not quite")
    expect(big_message(sara)).to_have_text("Correct!")
    assert score(bob) == 0
    ann_after_one = score(ann)
    assert ann_after_one > 500

    host.get_by_role("button", name="Scoreboard").click()
    expect(host.locator(".leaders .leader")).to_have_count(3)
    expect(host.locator(".leaders .leader-name").last).to_have_text(bob_name)
    host.keyboard.press("ArrowRight")  # the next question, from the keyboard

    # Question 2: Ann answers, then her phone reloads; she keeps her seat, score and answer.
    for phone in phones:
        expect(phone.get_by_role("button", name=re.compile("False"))).to_be_visible(timeout=5000)
    ann.get_by_role("button", name=re.compile("False")).click()
    expect(big_message(ann)).to_have_text("Answer received")
    ann.reload()
    expect(big_message(ann)).to_have_text("Answer received")
    expect(ann.locator("[data-field=nickname]")).to_have_text("Ann")
    assert score(ann) == ann_after_one
    bob.get_by_role("button", name=re.compile("False")).click()
    sara.get_by_role("button", name=re.compile("True")).click()
    expect(big_message(ann)).to_have_text("Correct!")
    expect(ann.locator(".points")).to_contain_text("answer streak bonus +100")
    screenshot(ann, "live-quiz-phone", tmp_path, full_page=False)
    expect(big_message(sara)).to_have_text("Not quite")
    assert score(ann) > ann_after_one
    host.get_by_role("button", name="Scoreboard").click()
    host.get_by_role("button", name="Next question").click()

    # Question 3: typed answers, with the question shown on the phone by the accessibility option.
    sara.get_by_label("Show the question and answer texts on my phone").check()
    for phone in phones:
        expect(phone.get_by_label("Your answer")).to_be_visible(timeout=5000)
    expect(sara.locator(".play-question")).to_contain_text("teacher")
    ann.get_by_label("Your answer").fill("Cher")
    ann.get_by_role("button", name="Submit").click()
    bob.get_by_label("Your answer").fill("  Chér")
    bob.get_by_role("button", name="Submit").click()
    sara.get_by_label("Your answer").fill("tcher")
    sara.get_by_role("button", name="Submit").click()
    expect(big_message(ann)).to_have_text("Correct!")
    expect(big_message(bob)).to_have_text("Correct!")
    expect(big_message(sara)).to_have_text("Not quite")
    host.get_by_role("button", name="Scoreboard").click()
    host.get_by_role("button", name="Podium").click()

    expect(host.locator(".podium .step")).to_have_count(3)
    expect(host.locator(".podium .step-1 .podium-name")).to_have_text("Ann")
    expect(big_message(ann)).to_have_text("Game over")
    expect(ann.locator(".player-stage .rank")).to_contain_text("1st place")

    finals = {player.nickname: player.score for player in Player.objects.all()}
    assert finals["Ann"] == score(ann)
    (column,) = gradebook_columns(cast.course)
    assert column.scores == {cast.student.pk: float(finals["Sara"])}

    host.get_by_role("button", name="See the report").click()
    host.wait_for_url(f"**/games/{game.pk}/")
    expect(host.locator(".report-questions > li")).to_have_count(3)
    expect(host.get_by_role("cell", name="Sara Student")).to_be_visible()


# -- the projector -----------------------------------------------------------------------------

# Text at one 25th of the screen's height stays legible for viewers up to eight screen heights
# away (AVIXA's guidance): from the back of a 20 m hall, with a screen 2.5 m tall.
LEGIBLE = 1 / 25
CROSS_ENTROPY = ("Three classes, $y = (1, 0, 0)$, $\\hat y = \\mathrm{softmax}(z)$. When the logit $z_1$ increases, "
                 "the cross-entropy…")


def smallest_text(page, selector: str) -> float:
    """The smallest font size among the elements matching selector, as a share of the screen's height."""
    return page.eval_on_selector_all(
        selector, "els => Math.min(...els.map((el) => parseFloat(getComputedStyle(el).fontSize))) / innerHeight")


def fits_the_screen(page) -> bool:
    return page.evaluate("""() => document.documentElement.scrollHeight <= innerHeight
                                  && document.documentElement.scrollWidth <= innerWidth""")


def check_readable(page, **selectors: float) -> None:
    page.wait_for_timeout(300)  # let KaTeX typeset and the fonts settle
    assert fits_the_screen(page), "the projector must show everything without scrolling"
    for selector, share in selectors.items():
        page.wait_for_selector(selector.replace("__", " "))
        size = smallest_text(page, selector.replace("__", " "))
        assert size >= share, f"{selector}: {size:.3f} of the screen's height, want {share:.3f}"


@pytest.mark.parametrize("screen", [{"width": 1920, "height": 1080}, {"width": 1280, "height": 720}],
                         ids=["1920x1080", "1280x720"])
def test_the_projector_is_readable_from_the_back_of_the_hall(live_site, new_page, cast, tmp_path, screen):
    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Kahoot time!")
    add_question(quiz, "single", {"choices": ["increases", {"text": "decreases", "correct": True}, "does not change",
                                              "first increases, then decreases"]}, text=CROSS_ENTROPY)
    add_question(quiz, "multiple", {"choices": [{"text": "T5", "correct": True}, {"text": "BART", "correct": True},
                                                {"text": "MarianMT", "correct": True}, "BERT", "GPT-2",
                                                "RoBERTa"]}, text="Select **every** encoder-decoder (seq2seq) model.")
    host = new_page(viewport=screen)
    game = open_lobby(host, quiz, reading_seconds=1)
    ann = join_by_link(new_page(viewport=PHONE), game, "Ann")
    expect(host.locator(".lobby-players .nickname")).to_have_count(1)
    check_readable(host, **{".join-code": 0.1, ".projector": LEGIBLE, ".lobby-player": LEGIBLE, ".host-bar": LEGIBLE,
                            ".qr__figcaption": LEGIBLE})
    for number in range(6):
        services.join_game(game=game, nickname=f"Player {number + 2}")

    host.get_by_role("button", name="Start").click()
    expect(host.locator(".host-stage .timer")).to_be_visible()
    check_readable(host, **{".host-question": 0.05, ".host-stage__.timer": 0.075, ".host-kind": LEGIBLE,
                            ".host-bar": LEGIBLE})
    expect(host.locator(".answer-tile")).to_have_count(4, timeout=5000)
    check_readable(host, **{".host-question": 0.05, ".answer-tile": LEGIBLE, ".host-stage__.timer": 0.075,
                            ".answered": LEGIBLE})
    ann.get_by_role("button", name=re.compile(": decreases$")).click()
    # Stopped only once the server has the answer: a stop that reached it first would rightly refuse it.
    expect(big_message(ann)).to_have_text("Answer received")
    host.get_by_role("button", name="Stop answers").click()
    expect(host.locator(".columns .bar")).to_have_count(4)
    expect(host.locator(".columns .bar.is-correct .bar-count")).to_have_text("1")
    check_readable(host, **{".host-question": LEGIBLE, ".columns__.bar-count": 0.05, ".answer-tile": LEGIBLE,
                            ".host-summary": LEGIBLE})
    if screen["height"] == 1080:
        screenshot(host, "live-quiz-projector", tmp_path, full_page=False)
    host.get_by_role("button", name="Scoreboard").click()
    expect(host.locator(".leaders .leader")).to_have_count(5)
    check_readable(host, **{".leader": 0.05, ".stage-title": 0.05})

    host.get_by_role("button", name="Next question").click()  # six answers still fit
    expect(host.locator(".answer-tile")).to_have_count(6, timeout=5000)
    check_readable(host, **{".host-question": 0.05, ".answer-tile": LEGIBLE, ".host-stage__.timer": 0.075})
    host.get_by_role("button", name="Stop answers").click()
    expect(host.locator(".columns .bar")).to_have_count(6)
    check_readable(host, **{".columns__.bar-count": 0.05, ".answer-tile": LEGIBLE})
    host.get_by_role("button", name="Scoreboard").click()
    host.get_by_role("button", name="Podium").click()
    expect(host.locator(".podium .step")).to_have_count(3)
    check_readable(host, **{".podium-name": 0.05, ".podium-rank": 0.05, ".podium-score": LEGIBLE})


def test_a_player_who_joins_while_a_question_is_open_plays_it_with_the_time_left(live_site, new_page, cast):
    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Kahoot time!")
    add_question(quiz, "single", text="BERT is which kind of model?")
    host = new_page()
    game = open_lobby(host, quiz, reading_seconds=0)
    ann = join_by_link(new_page(viewport=PHONE), game, "Ann")
    expect(big_message(ann)).to_have_text("You're in!")
    host.get_by_role("button", name="Start").click()
    expect(ann.get_by_role("button", name=re.compile("Encoder-only"))).to_be_visible(timeout=5000)

    bob = new_page(viewport=PHONE)
    bob.wait_for_timeout(2000)  # two seconds into the question
    join_by_link(bob, game, "Bob")
    expect(bob.get_by_role("button", name=re.compile("Encoder-only"))).to_be_visible()
    assert int(bob.locator(".player-stage .timer").inner_text()) <= 18  # the time that is left, not all of it
    expect(host.locator("[data-field=player-count]")).to_have_text("2")  # the projector heard of Bob
    expect(host.locator("[data-field=answered]")).to_have_text("0 of 2 answered")  # and counts him in
    bob.get_by_role("button", name=re.compile("Encoder-only")).click()
    expect(big_message(bob)).to_have_text("Answer received")
    ann.get_by_role("button", name=re.compile("Decoder-only")).click()
    expect(big_message(bob)).to_have_text("Correct!")
    expect(big_message(ann)).to_have_text("Not quite")
    assert 0 < score(bob) < 1000


def test_phones_seated_just_after_an_early_close_wait_for_the_next_question(live_site, new_page, cast):
    # Issue 17, "A player who joins while a question is open lands on 'Time's up - No answer'":
    # the join page is opened while the question is open, everyone seated answers, so the question
    # closes at once, and the join is sent a moment later.
    quiz = Quiz.objects.create(course=cast.course, lesson=cast.lesson, title="Kahoot time!")
    add_question(quiz, "single", text="BERT is which kind of model?")
    add_question(quiz, "true_false", text="Teacher forcing feeds the model its own predictions.")
    host = new_page()
    game = open_lobby(host, quiz, reading_seconds=2)
    ann = join_by_link(new_page(viewport=PHONE), game, "Ann")
    expect(big_message(ann)).to_have_text("You're in!")
    host.get_by_role("button", name="Start").click()
    expect(big_message(ann)).to_have_text("Get ready…")
    expect(ann.get_by_role("button", name=re.compile("Encoder-only"))).to_be_visible(timeout=5000)

    bob = new_page(viewport=PHONE)  # through the QR code, with a nickname
    bob.goto(game.join_path())
    bob.get_by_label("Nickname").fill("Bob")
    sara = new_page(viewport=PHONE)  # signed in, from her course account
    sign_in(sara, "sara", PASSWORD)
    sara.goto(game.join_path())
    ann.get_by_role("button", name=re.compile("Encoder-only")).click()
    expect(big_message(ann)).to_have_text("Correct!")  # everyone seated answered: closed early
    bob.get_by_role("button", name="Join").click()
    sara.get_by_role("button", name="Join as Sara").click()
    for phone in (bob, sara):
        expect(phone.locator(".player-stage")).to_contain_text("closed just before you joined")
        expect(big_message(phone)).to_have_text("You're in!")
        expect(phone.locator(".player-stage")).not_to_contain_text("Time's up")

    host.get_by_role("button", name="Scoreboard").click()
    host.get_by_role("button", name="Next question").click()
    for phone in (ann, bob, sara):
        expect(phone.get_by_role("button", name=re.compile("False"))).to_be_visible(timeout=5000)
    expect(host.locator("[data-field=answered]")).to_have_text("0 of 3 answered")
    bob.get_by_role("button", name=re.compile("False")).click()
    expect(big_message(bob)).to_have_text("Answer received")


# -- reconnecting ------------------------------------------------------------------------------

# A stand-in for the browser's WebSocket: each connection opens, stays up `window.upForMs`, then
# drops, as a server does whose channel layer is down; every attempt is recorded.
FAKE_SOCKET = """() => {
  window.attempts = [];
  window.retries = [];
  window.FakeSocket = class {
    static OPEN = 1;
    constructor(url) {
      this.listeners = {};
      this.readyState = 0;
      window.attempts.push(Date.now());
      setTimeout(() => {
        this.readyState = 1;
        this.fire("open", {});
        setTimeout(() => { this.readyState = 3; this.fire("close", { code: 1011 }); }, window.upForMs);
      }, 20);
    }
    addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
    fire(type, event) { (this.listeners[type] || []).forEach((listener) => listener(event)); }
    send() {}
    close() {}
  };
  window.WebSocket = window.FakeSocket;
}"""


def socket_page(new_page):
    page = new_page(viewport=PHONE)
    page.clock.install()
    page.goto("/play/")
    page.add_script_tag(url="/static/js/live.js")
    page.evaluate(FAKE_SOCKET)
    return page


def connect(page, up_for_ms: int) -> None:
    page.evaluate("""(upFor) => {
      window.upForMs = upFor;
      window.AttentiveLive.connect("/ws/test/", { onClose: (event, { retryInMs }) => window.retries.push(retryInMs) });
    }""", up_for_ms)


def test_a_server_that_drops_every_connection_at_once_sees_the_phone_back_off(live_site, new_page):
    page = socket_page(new_page)
    connect(page, up_for_ms=50)
    page.clock.run_for(60_000)
    attempts = page.evaluate("window.attempts.length")
    retries = page.evaluate("window.retries")
    # Resetting the backoff on every open would mean a new attempt every 0.25 to 0.5 s: over 100.
    assert 6 <= attempts <= 14, attempts
    assert retries[:5] == sorted(retries[:5])  # growing...
    assert all(5_000 <= delay <= 10_000 for delay in retries[-3:])  # ...up to the cap of 10 s
    # With jitter, a hall of phones does not come back in step: each delay is drawn from the upper
    # half of its step, so the delays at the cap differ. (Not "all delays differ": eight or so
    # whole milliseconds drawn from 5,001 share a value about once in 180 runs.)
    steps = [min(10_000, 500 * 2 ** attempt) for attempt in range(len(retries))]
    assert all(step / 2 - 1 <= delay <= step for delay, step in zip(retries, steps, strict=True)), retries
    capped = [delay for delay, step in zip(retries, steps, strict=True) if step == 10_000]
    assert len(capped) >= 3, retries
    assert len(set(capped)) > 1, retries


def test_a_connection_that_stayed_up_a_while_reconnects_quickly_when_it_drops(live_site, new_page):
    page = socket_page(new_page)
    connect(page, up_for_ms=50)
    page.clock.run_for(8_000)  # a few dropped connections: the backoff has grown
    grown = page.evaluate("window.retries.at(-1)")
    assert grown >= 1_000
    page.evaluate("window.upForMs = 15_000")  # the server is back: the next connection stays up 15 s
    page.clock.run_for(30_000)
    retries = page.evaluate("window.retries")
    after_stable = retries[-1]
    assert after_stable <= 500, retries  # back to the first step of the backoff
