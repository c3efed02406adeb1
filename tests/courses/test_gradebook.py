"""The gradebook's exports, each checked against the layout its LMS documents, and names in natural order."""

import csv
import io
from pathlib import Path

import pytest

from courses.gradebook import GradebookColumn, build_gradebook, natural_key
from courses.models import Membership
from tests.conftest import make_user

from .lms_layouts import Refused, read_canvas, read_moodle

EXPORT = "/c/nlp/gradebook.csv"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def columns(cast, monkeypatch):
    """Two graded items and a live game (points without a maximum), whatever the apps register."""
    chloe = make_user("chloe", "Chloé")
    chloe.last_name = "Dubois"
    chloe.save()
    Membership.objects.create(user=chloe, course=cast.course, role=Membership.Role.STUDENT)
    source = [
        GradebookColumn("softmax", "Softmax, numerically stable", 13.0, {cast.student.pk: 13.0, chloe.pk: 8.5}),
        GradebookColumn("derivative", "Cross-entropy derivative", 11.0, {chloe.pk: 10.0}, late={chloe.pk}),
        GradebookColumn("game-1", "Kahoot time!", None, {chloe.pk: 4350.0}, in_total=False),
    ]
    monkeypatch.setattr("courses.gradebook.column_sources", [lambda course: source])
    return chloe


def download(client, user, query=""):
    client.force_login(user)
    response = client.get(EXPORT + query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_every_export_starts_with_a_byte_order_mark_so_excel_reads_accents(client, cast, columns):
    for export_format in ("plain", "moodle", "canvas"):
        body = download(client, cast.instructor, f"?format={export_format}").content
        assert body.startswith(b"\xef\xbb\xbf"), export_format
        assert "Chloé".encode() in body


def test_the_moodle_export_has_an_identifier_column_one_column_per_item_and_no_total(client, cast, columns):
    response = download(client, cast.instructor, "?format=moodle&identifier=email")
    assert 'filename="nlp-gradebook-moodle-' in response["Content-Disposition"]
    header, *students = rows_of(response)
    assert header == ["Email address", "First name", "Last name", "Softmax, numerically stable",
                      "Cross-entropy derivative"]
    assert students == [
        ["chloe@example.org", "Chloé", "Dubois", "8.5", "10"],
        ["sara@example.org", "Sara Student", "", "13", ""],
    ]


def test_the_moodle_export_can_identify_students_by_username(client, cast, columns):
    header, *students = rows_of(download(client, cast.instructor, "?format=moodle&identifier=username"))
    assert header[0] == "Username"
    assert [row[0] for row in students] == ["chloe", "sara"]


def test_the_canvas_export_has_the_five_student_columns_and_the_points_possible_row(client, cast, columns):
    response = download(client, cast.instructor, "?format=canvas&identifier=username")
    header, points, *students = rows_of(response)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Softmax, numerically stable",
                      "Cross-entropy derivative"]
    assert points == ["    Points Possible", "", "", "", "", "13", "11"]
    assert students == [
        ["Dubois, Chloé", "", "", "chloe", "", "8.5", "10"],
        ["Sara Student", "", "", "sara", "", "13", ""],
    ]


def test_live_game_points_stay_out_of_the_lms_exports_and_in_the_spreadsheet(client, cast, columns):
    for export_format in ("moodle", "canvas"):
        assert "Kahoot time!" not in rows_of(download(client, cast.instructor, f"?format={export_format}"))[0]
    header, *students = rows_of(download(client, cast.instructor, "?format=plain"))
    assert header == ["Username", "Name", "Email", "Softmax, numerically stable (13 pts)",
                      "Cross-entropy derivative (11 pts)", "Kahoot time! (not in total)", "Total (24 pts)"]
    assert students[0] == ["chloe", "Chloé Dubois", "chloe@example.org", "8.5", "10", "4350", "18.5"]


def test_an_unknown_export_format_is_refused_with_the_choices(client, cast, columns):
    client.force_login(cast.instructor)
    response = client.get(EXPORT + "?format=blackboard")
    assert response.status_code == 400
    assert "moodle, canvas or plain" in response.content.decode()


def test_students_are_listed_in_natural_order(cast):
    cast.course.memberships.filter(role=Membership.Role.STUDENT).delete()
    for number in (10, 2, 1):
        user = make_user(f"student{number}", f"Student {number}")
        Membership.objects.create(user=user, course=cast.course, role=Membership.Role.STUDENT)
    names = [row.membership.user.first_name for row in build_gradebook(cast.course).rows]
    assert names == ["Student 1", "Student 2", "Student 10"]


def test_natural_order_ignores_case_and_accents():
    names = ["émile", "Eve", "chloé", "Chloe 10", "Chloe 9"]
    assert sorted(names, key=natural_key) == ["chloé", "Chloe 9", "Chloe 10", "émile", "Eve"]


def test_the_roster_lists_people_in_natural_order(client, cast):
    for number in (10, 2):
        Membership.objects.create(user=make_user(f"s{number}", f"Student {number}"), course=cast.course,
                                  role=Membership.Role.STUDENT)
    client.force_login(cast.instructor)
    page = client.get("/c/nlp/people/").content.decode()
    assert page.index("Student 2") < page.index("Student 10")



# The exports read as Moodle and Canvas read an import (tests/courses/lms_layouts.py).


def test_the_readers_accept_files_written_by_hand_in_the_documented_layouts():
    moodle = read_moodle((FIXTURES / "moodle_grades.csv").read_text(), "Email address",
                         ignored=("First name", "Last name"))
    assert moodle == {"ada@example.edu": {"Attention (masks)": 7.5, "Week 3 quiz": None},
                      "alan@example.edu": {"Attention (masks)": 12.0, "Week 3 quiz": 9.0}}
    points, canvas = read_canvas((FIXTURES / "canvas_grades.csv").read_text())
    assert points == {"Attention (masks)": 14.0, "Week 3 quiz": 10.0}
    assert canvas == {"ada": {"Attention (masks)": 7.5, "Week 3 quiz": None},
                      "alan": {"Attention (masks)": 12.0, "Week 3 quiz": "EX"}}


@pytest.mark.parametrize(("reader", "text", "reason"), [
    ("moodle", "Email address,Quiz,Quiz\na@x.org,1,2\n", "two columns share a header"),
    ("moodle", "Email address,Quiz\na@x.org,1,2\n", "row 2 has 3 fields"),
    ("moodle", "Email address,Quiz\na@x.org,1.5 pts\n", "is not a grade"),
    ("moodle", "Email address,Quiz\na@x.org,130\n", "above Moodle's maximum grade"),
    ("canvas", "Student,ID,SIS User ID,SIS Login ID,Section,Quiz,Quiz\n\"B, A\",,,a,,1,2\n", "share a header"),
    ("canvas", "Student,ID,SIS User ID,SIS Login ID,Section,Quiz (2)\n\"B, A\",,,a,,1\n", "by its id"),
    ("canvas", "Name,SIS Login ID,Section,Quiz\nA,a,,1\n", "does not start with the student"),
    ("canvas", "Student,ID,SIS User ID,SIS Login ID,Quiz\n\"B, A\",,,a,1\n", "Section is not the last"),
])
def test_the_readers_refuse_what_the_lms_would_refuse_or_misread(reader, text, reason):
    read = (lambda text: read_moodle(text, "Email address")) if reader == "moodle" else read_canvas
    with pytest.raises(Refused, match=reason):
        read(text)


def test_the_moodle_export_imports_each_grade_where_it_belongs(client, cast, columns):
    for identifier, header, chloe, sara in (("email", "Email address", "chloe@example.org", "sara@example.org"),
                                            ("username", "Username", "chloe", "sara")):
        text = download(client, cast.instructor, f"?format=moodle&identifier={identifier}").content.decode("utf-8")
        grades = read_moodle(text, header, ignored=("First name", "Last name"))
        assert grades == {chloe: {"Softmax, numerically stable": 8.5, "Cross-entropy derivative": 10.0},
                          sara: {"Softmax, numerically stable": 13.0, "Cross-entropy derivative": None}}


def test_the_canvas_export_imports_each_grade_and_the_points_possible(client, cast, columns):
    text = download(client, cast.instructor, "?format=canvas&identifier=username").content.decode("utf-8")
    points, grades = read_canvas(text)
    assert points == {"Softmax, numerically stable": 13.0, "Cross-entropy derivative": 11.0}
    assert grades == {"chloe": {"Softmax, numerically stable": 8.5, "Cross-entropy derivative": 10.0},
                      "sara": {"Softmax, numerically stable": 13.0, "Cross-entropy derivative": None}}


@pytest.fixture
def same_titles(cast, monkeypatch):
    """Items that share a title (a "Quiz" in two lessons, one with a space too many), and one ending in "(2)"."""
    source = [
        GradebookColumn("quiz-1", "Quiz", 10.0, {cast.student.pk: 4.0}),
        GradebookColumn("quiz-2", "Quiz", 10.0, {cast.student.pk: 9.0}),
        GradebookColumn("quiz-3", "Quiz ", 5.0, {cast.student.pk: 5.0}),
        GradebookColumn("homework-2", "Homework (2)", 20.0, {cast.student.pk: 17.5}),
    ]
    monkeypatch.setattr("courses.gradebook.column_sources", [lambda course: source])


def test_items_that_share_a_title_get_a_header_of_their_own_in_every_export(client, cast, same_titles):
    moodle = download(client, cast.instructor, "?format=moodle&identifier=username").content.decode("utf-8")
    assert read_moodle(moodle, "Username", ignored=("First name", "Last name")) == {
        "sara": {"Quiz": 4.0, "Quiz #2": 9.0, "Quiz #3": 5.0, "Homework (2)": 17.5}}
    canvas = download(client, cast.instructor, "?format=canvas&identifier=username").content.decode("utf-8")
    points, grades = read_canvas(canvas)
    assert points == {"Quiz": 10.0, "Quiz #2": 10.0, "Quiz #3": 5.0, "Homework [2]": 20.0}
    assert grades == {"sara": {"Quiz": 4.0, "Quiz #2": 9.0, "Quiz #3": 5.0, "Homework [2]": 17.5}}
    header = rows_of(download(client, cast.instructor, "?format=plain"))[0]
    assert header[3:7] == ["Quiz (10 pts)", "Quiz (10 pts) #2", "Quiz (5 pts)", "Homework (2) (20 pts)"]
