"""A student joins the demo course with its code and reads the lesson, math rendered."""

import pytest

from courses.models import Course, Membership
from courses.packs import load_pack
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_a_student_joins_with_a_code_and_reads_the_lesson(new_page, demo_pack):
    course = load_pack(demo_pack).course
    make_user("sara", "Sara Student")
    page = new_page(viewport={"width": 390, "height": 844})  # a phone

    sign_in(page, "sara", PASSWORD)
    page.get_by_label("Course code").fill(course.join_code.lower())
    page.get_by_role("button", name="Join", exact=True).click()
    page.wait_for_url(f"**/c/{course.slug}/")
    assert page.get_by_role("heading", level=1).inner_text() == course.title
    assert Membership.objects.filter(user__username="sara", course=course, role="student").exists()

    page.get_by_role("link", name="Transformers").click()
    page.wait_for_url("**/lessons/transformers/")
    page.wait_for_selector(".math.block .katex-display")
    rendered = page.locator(".math[data-math-rendered='']").count()
    assert rendered > 10
    assert page.locator(".math-error").count() == 0
    assert "teacher forcing" in page.locator(".prose").inner_text().lower()
    assert Course.objects.count() == 1
