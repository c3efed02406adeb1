"""Filling in a row, the class table, the staff's review of cells, grades, and who sees what when."""

import pytest

from comparisons import services
from comparisons.models import HomeworkGrade, ModelPick, TableEntry
from courses.models import Membership
from tests.conftest import make_user
from tests.reflections.conftest import add_students

from .conftest import past_deadline, row_data


@pytest.fixture
def picked(cast, table_open):
    return services.pick_model(table_open.homework, cast.student, table_open.models[0])


def test_a_student_fills_in_their_row(client, cast, table_open, picked):
    window, openness = table_open.criteria
    client.force_login(cast.student)
    response = client.post(table_open.url + "row/", row_data(table_open.criteria, {
        window: ("128,000 tokens", "https://platform.openai.com/docs/models/gpt-4o"),
        openness: ("Closed weights, API only", "https://openai.com/index/hello-gpt-4o/"),
    }))
    assert response.status_code == 302
    entries = {e.criterion: e for e in TableEntry.objects.all()}
    assert entries[window].value == "128,000 tokens"
    assert entries[window].status == "submitted"
    assert entries[openness].source_url == "https://openai.com/index/hello-gpt-4o/"


@pytest.mark.parametrize(("value", "source", "message"), [
    ("128k", "", "Add the link where you found this value."),
    ("", "https://example.org", "Give the value you found at this link."),
    ("128k", "javascript:alert(1)", "Give a full web address starting with https://"),
    ("128k", "ftp://example.org/x", "Give a full web address starting with https://"),
    ("128k", "example.org/specs", "Give a full web address starting with https://"),
    ("128k", "https://exa mple.org", "Give a full web address starting with https://"),
])
def test_values_need_a_valid_web_source(client, cast, table_open, picked, value, source, message):
    client.force_login(cast.student)
    response = client.post(table_open.url + "row/", row_data(table_open.criteria, {
        table_open.criteria[0]: (value, source)}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TableEntry.objects.exists()


def test_changing_a_verified_cell_sends_it_back_for_review(cast, table_open, picked):
    window = table_open.criteria[0]
    services.save_row(picked, {window.pk: ("128k", "https://a.example/x")})
    entry = TableEntry.objects.get()
    services.review_entry(entry, by=cast.instructor, status="verified", comment="")
    services.save_row(picked, {window.pk: ("128k", "https://a.example/x")})
    assert TableEntry.objects.get().status == "verified"  # unchanged: still verified
    services.save_row(picked, {window.pk: ("1M", "https://a.example/x")})
    assert TableEntry.objects.get().status == "submitted"


def test_after_the_deadline_the_row_is_read_only(client, cast, table_open, picked):
    past_deadline(table_open.homework)
    client.force_login(cast.student)
    response = client.post(table_open.url + "row/", row_data(table_open.criteria, {
        table_open.criteria[0]: ("128k", "https://a.example/x")}), follow=True)
    assert "The deadline has passed" in response.content.decode()
    assert not TableEntry.objects.exists()


def test_students_see_the_whole_table_only_after_the_deadline(client, cast, table_open, picked):
    classmate = add_students(cast, 1)[0]
    theirs = services.pick_model(table_open.homework, classmate, table_open.models[1])
    services.save_row(theirs, {table_open.criteria[0].pk: ("32k tokens", "https://lucie.example/card")})
    client.force_login(cast.student)
    response = client.get(table_open.url + "table/")
    assert response.status_code == 403
    assert "32k tokens" not in response.content.decode()
    assert "32k tokens" not in client.get(table_open.url).content.decode()
    assert client.get(table_open.url + "export.csv").status_code == 404

    past_deadline(table_open.homework)
    page = client.get(table_open.url + "table/").content.decode()
    assert "32k tokens" in page
    assert "Student Number0" in page
    assert 'href="https://lucie.example/card"' in page
    assert 'rel="noopener noreferrer nofollow ugc"' in page
    assert client.get(table_open.url + "export.md").status_code == 200


def test_the_staff_verify_cells_and_comment(client, cast, table_open, picked):
    window, openness = table_open.criteria
    services.save_row(picked, {window.pk: ("128k", "https://a.example/x"), openness.pk: ("closed", "https://b.ex/y")})
    first, second = TableEntry.objects.order_by("criterion__position")
    client.force_login(cast.ta)
    table = client.get(table_open.url + "table/").content.decode()
    assert "128k" in table
    assert "Sara Student" in table
    client.post(table_open.url + f"entries/{first.pk}/review/", {"status": "verified", "comment": ""})
    client.post(table_open.url + f"entries/{second.pk}/review/",
                {"status": "needs_source", "comment": "A blog post is not enough: find the model card."})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "verified"
    assert first.reviewed_by == cast.ta
    assert second.status == "needs_source"
    client.force_login(cast.student)
    page = client.get(table_open.url).content.decode()
    assert "Verified" in page
    assert "Needs a source" in page
    assert "A blog post is not enough: find the model card." in page


def test_verify_a_whole_row_at_once(client, cast, table_open, picked):
    services.save_row(picked, {c.pk: ("v", "https://x.example/") for c in table_open.criteria})
    client.force_login(cast.instructor)
    client.post(table_open.url + f"students/{cast.student.pk}/verify/")
    assert set(TableEntry.objects.values_list("status", flat=True)) == {"verified"}


def test_grading_and_the_student_sees_the_grade(client, cast, table_open, picked):
    client.force_login(cast.instructor)
    page = client.get(table_open.url + f"students/{cast.student.pk}/").content.decode()
    assert "Row: GPT-4o" in page
    response = client.post(table_open.url + f"students/{cast.student.pk}/", {"points": "8.5",
                                                                             "feedback": "Good sources."})
    assert response.status_code == 302
    grade = HomeworkGrade.objects.get()
    assert float(grade.points) == 8.5
    assert grade.graded_by == cast.instructor
    response = client.post(table_open.url + f"students/{cast.student.pk}/", {"points": "11"})
    assert response.status_code == 400
    assert "less than or equal to 10" in response.content.decode()
    assert "8.5 / 10" in client.get(table_open.url + "grades/").content.decode()
    client.force_login(cast.student)
    page = client.get(table_open.url).content.decode()
    assert "Your grade: 8.5 / 10" in page
    assert "Good sources." in page


def test_students_never_see_each_others_grades_or_review_pages(client, cast, table_open, picked):
    classmate = add_students(cast, 1)[0]
    HomeworkGrade.objects.create(homework=table_open.homework, student=classmate, points=3, feedback="Weak")
    client.force_login(cast.student)
    assert client.get(table_open.url + f"students/{classmate.pk}/").status_code == 404
    assert client.get(table_open.url + "grades/").status_code == 404
    assert "Weak" not in client.get(table_open.url).content.decode()


def test_staff_cannot_review_entries_of_another_courses_homework(client, cast, table_open, picked):
    from comparisons.models import ComparisonHomework
    from courses.models import Membership

    services.save_row(picked, {table_open.criteria[0].pk: ("v", "https://x.example/")})
    entry = TableEntry.objects.get()
    Membership.objects.filter(user=cast.outsider).update(role="instructor")
    other = ComparisonHomework.objects.create(course=cast.other_course, lesson=cast.lesson, title="Other")
    client.force_login(cast.outsider)
    url = f"/c/{cast.other_course.slug}/comparisons/{other.pk}/entries/{entry.pk}/review/"
    assert client.post(url, {"status": "verified"}).status_code == 404
    assert TableEntry.objects.get().status == "submitted"
    assert ModelPick.objects.count() == 1


def test_the_class_table_lists_people_in_natural_order(client, cast, table_open):
    first_model, window = table_open.models[0], table_open.criteria[0]
    for name in ("Student 10", "Student 2", "Student 1"):  # neither by name nor by id in natural order
        student = make_user(name.lower().replace(" ", ""), name)
        Membership.objects.create(user=student, course=cast.course, role=Membership.Role.STUDENT)
        pick = ModelPick.objects.create(homework=table_open.homework, student=student, model=first_model)
        services.save_row(pick, {window.pk: (f"{name}'s value", "https://a.example/x")})
    _criteria, rows = services.class_table(table_open.homework)
    row = next(row for row in rows if row.model == first_model)
    assert [student.first_name for student in row.contributors] == ["Student 1", "Student 2", "Student 10"]
    assert [entry.value for entry in row.cells[0]] == ["Student 1's value", "Student 2's value", "Student 10's value"]
    client.force_login(cast.instructor)
    page = client.get(table_open.url + "table/").content.decode()
    assert page.index(">Student 1<") < page.index(">Student 2<") < page.index(">Student 10<")
