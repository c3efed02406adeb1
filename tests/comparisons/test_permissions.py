"""Every comparison page against every kind of visitor: outsiders get 404, students only their own work."""

import pytest

from comparisons import services

RANK = {"outsider": 0, "student": 1, "ta": 2, "instructor": 3}
PAGES = {
    "": "student",
    "table/": "ta",  # students: only after the deadline (tested in test_table.py)
    "criteria/": "instructor",
    "grades/": "ta",
    "students/{student}/": "ta",
    "export.csv": "ta",
    "export.md": "ta",
}


@pytest.mark.parametrize("role", RANK)
@pytest.mark.parametrize("page", PAGES)
def test_pages_answer_by_role(client, cast, table_open, page, role):
    services.pick_model(table_open.homework, cast.student, table_open.models[0])
    client.force_login(getattr(cast, role))
    response = client.get(table_open.url + page.format(student=cast.student.pk))
    allowed = RANK[role] >= RANK[PAGES[page]]
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code in (404, 403) if role == "student" and page == "table/" else \
            response.status_code == 404


def test_the_course_tab_leads_to_the_homework(client, cast, table_open):
    client.force_login(cast.student)
    page = client.get(cast.course.get_absolute_url()).content.decode()
    assert f'href="/c/{cast.course.slug}/comparisons/"' in page
    assert "LLM comparison" in page
    assert client.get(f"/c/{cast.course.slug}/comparisons/")["Location"] == table_open.url
    lesson = client.get(cast.lesson.get_absolute_url()).content.decode()
    assert "Homework: Compare LLMs" in lesson


def test_an_archived_homework_is_gone(client, cast, table_open):
    table_open.homework.archived = True
    table_open.homework.save()
    client.force_login(cast.instructor)
    assert client.get(table_open.url).status_code == 404
