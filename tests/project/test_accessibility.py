"""Basic accessibility of every page: a language, one h1, no skipped heading levels, labelled
controls, alternative text, named buttons; and text colours with enough contrast (WCAG AA)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import GOOD_SOFTMAX

STYLESHEET = (Path(__file__).resolve().parents[2] / "static" / "css" / "site.css").read_text()


class PageAudit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.labels_for: set[str] = set()
        self.controls: list[dict] = []
        self.images_without_alt: list[str] = []
        self.buttons: list[dict] = []
        self.label_depth = 0
        self.button: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.labels_for.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit", "button"):
            self.controls.append({**attrs, "tag": tag, "wrapped": self.label_depth > 0})
        if tag == "img" and "alt" not in attrs:
            self.images_without_alt.append(attrs.get("src", "?"))
        if tag == "button":
            self.button = {**attrs, "text": ""}

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1
        if tag == "button" and self.button is not None:
            self.buttons.append(self.button)
            self.button = None

    def handle_data(self, data):
        if self.button is not None:
            self.button["text"] += data.strip()

    def problems(self) -> list[str]:
        found = []
        if not self.lang:
            found.append("the page has no lang attribute")
        if self.headings.count(1) != 1:
            found.append(f"the page has {self.headings.count(1)} h1 headings")
        for before, after in zip(self.headings, self.headings[1:], strict=False):
            if after > before + 1:
                found.append(f"heading level skips from h{before} to h{after}")
        for control in self.controls:
            named = control.get("aria-label") or control.get("aria-labelledby") or control["wrapped"]
            if not named and control.get("id") not in self.labels_for:
                found.append(f"{control['tag']} {control.get('name')!r} has no label")
        found += [f"image {src} has no alt text" for src in self.images_without_alt]
        found += [f"a button has no name: {b}" for b in self.buttons if not (b["text"] or b.get("aria-label"))]
        return found


def audit(html: str) -> list[str]:
    parser = PageAudit()
    parser.feed(html)
    return parser.problems()


@pytest.fixture
def pages(cast, code_exercise, client, django_capture_on_commit_callbacks):
    from exercises import services

    with django_capture_on_commit_callbacks(execute=False):
        submission = services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    return {
        None: ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/"],
        cast.student: ["/", "/join/", "/c/nlp/", "/c/nlp/lessons/transformers/", "/c/nlp/exercises/softmax/",
                       f"/c/nlp/submissions/{submission.pk}/"],
        cast.instructor: ["/", "/courses/new/", "/c/nlp/", "/c/nlp/people/", "/c/nlp/join-code/", "/c/nlp/gradebook/",
                          "/c/nlp/exercises/softmax/", "/c/nlp/exercises/softmax/submissions/", "/c/nlp/review/",
                          f"/c/nlp/submissions/{submission.pk}/"],
    }


def test_every_page_passes_the_basic_checks(client, pages):
    problems = {}
    for user, urls in pages.items():
        if user is None:
            client.logout()
        else:
            client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            found = audit(response.content.decode())
            if found:
                problems[f"{user} {url}"] = found
    assert problems == {}


def test_the_audit_catches_what_it_looks_for():
    html = '<html><body><h1>A</h1><h3>B</h3><input name="q"><img src="x.png"><button></button></body></html>'
    assert audit(html) == [
        "the page has no lang attribute",
        "heading level skips from h1 to h3",
        "input 'q' has no label",
        "image x.png has no alt text",
        "a button has no name: {'text': ''}",
    ]


def colour(name: str) -> tuple[float, float, float]:
    value = re.search(rf"--{name}:\s*#([0-9a-fA-F]{{6}})", STYLESHEET).group(1)
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(rgb) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [("ink", "paper"), ("ink", "wash"), ("muted", "paper"), ("muted", "wash"), ("brand", "paper"),
     ("brand", "wash"), ("ok", "ok-wash"), ("bad", "bad-wash"), ("warn", "warn-wash"), ("bad", "paper")],
)
def test_text_colours_meet_wcag_aa(text, background):
    assert contrast(colour(text), colour(background)) >= 4.5


def test_white_on_the_brand_colour_meets_wcag_aa():
    assert contrast((1, 1, 1), colour("brand")) >= 4.5


@pytest.fixture
def demo_pages(db, demo_pack):
    """The quiz, reflection and homework pages of the demo course, for its instructor and a student."""
    from django.urls import reverse

    from comparisons.models import ComparisonHomework
    from courses.models import Membership
    from courses.packs import load_pack
    from quizzes.models import Quiz
    from quizzes.services import create_game, join_game
    from tests.conftest import make_user

    course = load_pack(demo_pack).course
    teacher, student = make_user("joseba"), make_user("lena")
    Membership.objects.create(user=teacher, course=course, role="instructor")
    Membership.objects.create(user=student, course=course, role="student")
    quiz = Quiz.objects.filter(course=course).first()
    game = create_game(quiz=quiz, host=teacher)
    join_game(game=game, nickname="Lena", user=student)
    homework = ComparisonHomework.objects.get(course=course)
    lesson = course.active_lessons().first()
    slug, lesson_slug = course.slug, lesson.slug
    return {
        student: [reverse("play_pin"), reverse("play_join", args=[game.pin]),
                  reverse("reflection_answer", args=[slug, lesson_slug]), reverse("reflection_overview", args=[slug]),
                  reverse("comparison_detail", args=[slug, homework.pk])],
        teacher: [reverse("quiz_list", args=[slug]), reverse("quiz_detail", args=[slug, quiz.pk]),
                  reverse("quiz_edit", args=[slug, quiz.pk]), reverse("game_list", args=[slug]),
                  reverse("game_host", args=[slug, game.pk]), reverse("quiz_import", args=[slug]),
                  reverse("reflection_review", args=[slug, lesson_slug]), reverse("reflection_overview", args=[slug]),
                  reverse("comparison_detail", args=[slug, homework.pk]),
                  reverse("comparison_table", args=[slug, homework.pk]),
                  reverse("comparison_grades", args=[slug, homework.pk])],
    }


def test_quiz_reflection_and_homework_pages_pass_the_basic_checks(client, demo_pages):
    problems = {}
    for user, urls in demo_pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
            found = audit(response.content.decode())
            if found:
                problems[f"{user} {url}"] = found
    assert problems == {}
