"""Creating a course, the roster, promoting and removing members, reading lessons."""

from courses.models import Course, Lesson, Membership
from tests.conftest import make_user


def test_a_signed_in_user_creates_a_course_and_becomes_its_instructor(client, db):
    user = make_user("ines")
    client.force_login(user)
    response = client.post("/courses/new/", {"title": "Deep Learning 101", "slug": "", "description": ""})
    course = Course.objects.get(slug="deep-learning-101")
    assert response["Location"] == "/c/deep-learning-101/"
    assert Membership.objects.get(user=user, course=course).role == "instructor"
    page = client.get("/c/deep-learning-101/").content.decode()
    assert course.join_code in page


def test_a_taken_course_address_is_refused(client, cast):
    client.force_login(cast.instructor)
    response = client.post("/courses/new/", {"title": "Other", "slug": "nlp", "description": ""})
    assert "is taken" in response.content.decode()
    assert Course.objects.filter(slug="nlp").count() == 1


def test_the_roster_lists_every_member(client, cast):
    client.force_login(cast.ta)
    page = client.get("/c/nlp/people/").content.decode()
    for name in ("ines", "tom", "sara"):
        assert name in page
    assert "otto" not in page


def test_the_instructor_promotes_a_student_to_teaching_assistant(client, cast):
    client.force_login(cast.instructor)
    member = cast.membership(cast.student)
    client.post(f"/c/nlp/people/{member.pk}/role/", {"role": "ta"})
    member.refresh_from_db()
    assert member.role == "ta"


def test_an_unknown_role_changes_nothing(client, cast):
    client.force_login(cast.instructor)
    member = cast.membership(cast.student)
    response = client.post(f"/c/nlp/people/{member.pk}/role/", {"role": "owner"}, follow=True)
    member.refresh_from_db()
    assert member.role == "student"
    assert "Unknown role" in response.content.decode()


def test_a_ta_cannot_promote_anyone(client, cast):
    client.force_login(cast.ta)
    member = cast.membership(cast.student)
    response = client.post(f"/c/nlp/people/{member.pk}/role/", {"role": "instructor"})
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.role == "student"


def test_the_instructor_removes_a_member(client, cast):
    client.force_login(cast.instructor)
    member = cast.membership(cast.student)
    client.post(f"/c/nlp/people/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    client.force_login(cast.student)
    assert client.get("/c/nlp/").status_code == 404


def test_the_last_instructor_cannot_step_down_or_leave(client, cast):
    client.force_login(cast.instructor)
    own = cast.membership(cast.instructor)
    client.post(f"/c/nlp/people/{own.pk}/role/", {"role": "student"})
    client.post(f"/c/nlp/people/{own.pk}/remove/")
    own.refresh_from_db()
    assert own.role == "instructor"


def test_a_member_of_another_course_cannot_be_touched_through_this_one(client, cast):
    client.force_login(cast.instructor)
    foreign = Membership.objects.get(user=cast.outsider)
    assert client.post(f"/c/nlp/people/{foreign.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_lessons_are_listed_in_order_and_archived_ones_are_hidden(client, cast):
    Lesson.objects.create(course=cast.course, title="Attention", slug="attention", position=2)
    Lesson.objects.create(course=cast.course, title="Tokenizers", slug="tokenizers", position=0)
    Lesson.objects.create(course=cast.course, title="Gone", slug="gone", position=3, archived=True)
    client.force_login(cast.student)
    page = client.get("/c/nlp/").content.decode()
    assert page.index("Tokenizers") < page.index("Transformers") < page.index("Attention")
    assert "Gone" not in page
    assert client.get("/c/nlp/lessons/gone/").status_code == 404


def test_a_lesson_renders_math_for_katex_and_highlights_code(client, cast):
    cast.lesson.body = "Loss $L = -\\log \\hat y_1$.\n\n$$\\sum_k y_k$$\n\n```python\ndef f(x):\n    return x\n```\n"
    cast.lesson.save()
    client.force_login(cast.student)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert '<span class="math inline">L = -\\log \\hat y_1</span>' in page
    assert '<div class="math block">' in page
    assert '<span class="k">def</span>' in page
    assert "katex.min.js" in page


def test_raw_html_in_markdown_is_escaped(client, cast):
    cast.lesson.body = "<script>alert('x')</script>"
    cast.lesson.save()
    client.force_login(cast.student)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_the_lesson_page_links_to_its_neighbours(client, cast):
    Lesson.objects.create(course=cast.course, title="Attention", slug="attention", position=2)
    client.force_login(cast.student)
    page = client.get("/c/nlp/lessons/transformers/").content.decode()
    assert 'rel="next" href="/c/nlp/lessons/attention/"' in page


def test_the_favicon_address_browsers_ask_for_leads_to_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
