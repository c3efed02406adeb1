"""A student's submit-and-learn loop in a browser, graded by a real worker; the instructor's gradebook.

Also takes the screenshots that the README shows (UPDATE_SCREENSHOTS=1 writes docs/screenshots/).
"""

import csv
import io
import json
import os
import re

import pytest

from courses.models import Membership
from courses.packs import load_pack
from exercises.models import Submission, WorkerHeartbeat
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import fits_the_width, screenshot, sign_in
from tests.processes import start_worker, wait_until

pytestmark = pytest.mark.e2e

NAIVE = '''import torch


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = logits.exp()
    return e / e.sum(dim=dim, keepdim=True)
'''
STABLE = '''import torch


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)
'''


LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# True once the element's top edge is inside the window (smooth scrolling takes a moment).
TOP_IN_VIEW = """(selector) => {
  const element = document.querySelector(selector);
  if (!element) return false;
  const top = element.getBoundingClientRect().top;
  return top >= -1 && top < window.innerHeight - 40;
}"""


@pytest.fixture
def grading_worker(live_site, tmp_path):
    from django.utils import timezone

    since = timezone.now()
    worker = start_worker(os.environ.get("REDIS_URL"), concurrency=1, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: WorkerHeartbeat.objects.filter(ready=True, seen_at__gte=since).exists(), 90,
                   what="the grading worker")
        yield worker
        # A verdict that never came is the test's failure; why it never came is often here.
        exited = worker.popen.poll()
        if exited is not None:
            tail = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"the grading worker exited (code {exited}) during the test; its log ends:\n{tail}")
    finally:
        worker.stop()


def type_code(page, code: str) -> None:
    editor = page.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # insert_text types no keys, so the editor's auto-indent does not indent twice.
    page.keyboard.insert_text(code)


def test_a_student_learns_from_the_overflow_feedback_and_the_instructor_sees_it(
        new_page, demo_pack, grading_worker, tmp_path):
    course = load_pack(demo_pack).course
    student = make_user("sara", "Sara Student")
    instructor = make_user("ines", "Ines Instructor")
    Membership.objects.create(user=student, course=course, role="student")
    Membership.objects.create(user=instructor, course=course, role="instructor")

    page = new_page(viewport=LAPTOP)
    sign_in(page, "sara", PASSWORD)
    page.goto("/c/nlp2llm/lessons/transformers/")
    page.get_by_role("link", name="Softmax, numerically stable").click()
    page.wait_for_selector(".cm-editor")
    page.evaluate("window.__notReloaded = true")
    assert "No attempts yet." in page.locator("#history").inner_text()

    type_code(page, NAIVE)
    page.keyboard.press("Control+Enter")
    verdict = page.locator("#verdict .verdict[data-finished='true']")
    verdict.wait_for(timeout=30_000)
    text = verdict.inner_text()
    assert "overflow" in text.lower() or "subtract the maximum" in text.lower(), text
    assert "hidden tests failed" in text
    assert page.evaluate("window.__notReloaded") is True
    # The verdict is brought into the window, announced in one sentence, and the attempt is listed.
    page.wait_for_function(TOP_IN_VIEW, arg="#verdict .verdict", timeout=5_000)
    assert page.locator("#verdict-announcer").inner_text().startswith("Attempt 1: 8 out of 13.")
    page.locator("#history td", has_text="Graded").wait_for()
    assert "No attempts yet." not in page.locator("#history").inner_text()
    assert page.evaluate("document.activeElement.closest('#answer-form') !== null")

    type_code(page, STABLE)
    page.get_by_role("button", name="Submit").click()
    # The exercise allows one attempt every few seconds: the page says how long to wait,
    # and keeps the last verdict in view.
    refusal = page.locator("#submit-message .refused")
    refusal.wait_for()
    assert "before submitting again" in refusal.inner_text()
    assert "hidden tests failed" in page.locator("#verdict").inner_text()
    page.wait_for_timeout(1000 * (course.exercises.get(slug="softmax").cooldown_seconds + 1))
    page.get_by_role("button", name="Submit").click()
    page.locator("#verdict .verdict[data-finished='true'] .verdict-summary.ok").wait_for(timeout=30_000)
    final = page.locator("#verdict").inner_text()
    assert page.locator("#submit-message").inner_text() == ""
    assert "13 / 13" in final
    assert "All tests passed." in final
    assert page.evaluate("window.__notReloaded") is True
    page.reload()
    assert "Your attempts" in page.content()
    assert page.locator(".history tbody tr").count() == 2
    screenshot(page, "exercise", tmp_path)

    graded = list(Submission.objects.filter(user=student).order_by("number").values_list("score", flat=True))
    assert graded == [8.0, 13.0]

    staff = new_page()
    sign_in(staff, "ines", PASSWORD)
    staff.goto("/c/nlp2llm/gradebook/")
    row = staff.get_by_role("row", name="Sara Student")
    assert "2 attempts" in row.inner_text()
    assert "13" in row.inner_text()
    screenshot(staff, "gradebook", tmp_path)
    with staff.expect_download() as download:
        staff.get_by_role("button", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    header, sara = rows[0], rows[1]
    assert header[:3] == ["Username", "Name", "Email"]
    assert sara[:2] == ["sara", "Sara Student"]
    assert sara[header.index("Softmax, numerically stable (13 pts)")] == "13"
    staff.get_by_label("Export for").select_option("moodle")
    with staff.expect_download() as download:
        staff.get_by_role("button", name="Download CSV").click()
    moodle = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert moodle[0][:3] == ["Email address", "First name", "Last name"]
    assert moodle[1][moodle[0].index("Softmax, numerically stable")] == "13"


def test_the_lesson_page_never_scrolls_sideways_on_a_phone(new_page, demo_pack):
    course = load_pack(demo_pack, verify=False).course
    Membership.objects.create(user=make_user("sara", "Sara Student"), course=course, role="student")
    page = new_page(viewport=PHONE)
    sign_in(page, "sara", PASSWORD)
    page.goto("/c/nlp2llm/lessons/transformers/")
    page.wait_for_selector(".math.block .katex-display")
    assert page.locator(".prose table").count() >= 2
    assert fits_the_width(page)
    # A wide table scrolls in its own box, which the keyboard can reach.
    box = page.locator(".prose .table-wrap").first
    assert box.get_attribute("tabindex") == "0"
    assert box.evaluate("el => el.getBoundingClientRect().right") <= PHONE["width"]


def test_an_answer_over_the_limit_is_refused_in_place_with_the_limit(new_page, demo_pack):
    course = load_pack(demo_pack, verify=False).course
    Membership.objects.create(user=make_user("sara", "Sara Student"), course=course, role="student")
    page = new_page(viewport=LAPTOP)
    sign_in(page, "sara", PASSWORD)
    page.goto("/c/nlp2llm/exercises/softmax/")
    page.wait_for_selector(".cm-editor")
    type_code(page, "x = 1\n" + "#" * 100_000)
    too_long = re.compile(r"Draft not saved: it is 100,0\d\d characters long and the limit is 100,000\.")
    page.get_by_text(too_long).wait_for()
    page.get_by_role("button", name="Submit").click()
    refusal = page.locator("#submit-message .refused")
    refusal.wait_for()
    assert re.search(r"100,0\d\d characters long and the limit is 100,000", refusal.inner_text())
    assert not Submission.objects.exists()


def test_feedback_with_math_is_typeset_like_the_statement(new_page, demo_pack, grading_worker):
    course = load_pack(demo_pack).course
    Membership.objects.create(user=make_user("sara", "Sara Student"), course=course, role="student")
    page = new_page(viewport=LAPTOP)
    sign_in(page, "sara", PASSWORD)
    page.goto("/c/nlp2llm/exercises/cross-entropy-derivative/")
    page.get_by_label("Answer to part 2").fill("1 - yhat_1")
    page.get_by_role("button", name="Submit").click()
    page.locator("#verdict .verdict[data-finished='true']").wait_for(timeout=30_000)
    slip = page.locator(".test", has_text="Derivative with respect to z₁").locator(".test-message")
    assert slip.locator(".katex").count() >= 3
    assert slip.locator(".math-error").count() == 0
    assert "e^{z_1}" not in slip.inner_text()
    assert slip.locator("pre").count() == 0


def test_an_explanation_counts_its_characters_as_it_is_typed_and_stops_at_the_limit(new_page, demo_pack):
    course = load_pack(demo_pack, verify=False).course
    Membership.objects.create(user=make_user("sara", "Sara Student"), course=course, role="student")
    page = new_page(viewport=LAPTOP)
    sign_in(page, "sara", PASSWORD)
    page.goto("/c/nlp2llm/exercises/inference-and-training/")
    box = page.get_by_label("Answer to part 2")
    counter = page.locator("#count-explanation")
    assert counter.inner_text() == "0 of 5,000 characters."
    box.fill("x" * 4990)
    box.press("End")
    box.press("Enter")
    page.keyboard.type("Training ends here.")  # 19 characters, of which 9 fit
    assert len(box.input_value()) == 5000
    assert counter.inner_text() == "5,000 of 5,000 characters: the limit. Shorten your answer to add more."
    assert "at-limit" in counter.get_attribute("class")
    page.get_by_label("the reference translation").check()
    page.get_by_role("button", name="Submit").click()
    page.locator("#verdict .verdict").wait_for()
    # The form sends the line break as "\r\n"; it still counts once, as in the box.
    explanation = json.loads(Submission.objects.get().answer)["explanation"]
    assert explanation == "x" * 4990 + "\nTraining "
