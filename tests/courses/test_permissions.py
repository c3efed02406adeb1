"""Every course page against every kind of visitor: outsiders get 404, never a hint."""

import pytest

GET_PAGES = {
    # url: the least role that may see it
    "/c/nlp/": "student",
    "/c/nlp/lessons/transformers/": "student",
    "/c/nlp/people/": "ta",
    "/c/nlp/join-code/": "ta",
}
POST_ACTIONS = {
    "/c/nlp/join-code/settings/": ("instructor", {"action": "close"}),
    "/c/nlp/people/{student}/role/": ("instructor", {"role": "ta"}),
    "/c/nlp/people/{student}/remove/": ("instructor", {}),
}
RANK = {"outsider": 0, "student": 1, "ta": 2, "instructor": 3}


def visitor(cast, role):
    return {"outsider": cast.outsider, "student": cast.student, "ta": cast.ta, "instructor": cast.instructor}[role]


@pytest.mark.parametrize("url", GET_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, cast, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", RANK)
@pytest.mark.parametrize("url", GET_PAGES)
def test_pages_answer_by_role(client, cast, url, role):
    client.force_login(visitor(cast, role))
    expected = 200 if RANK[role] >= RANK[GET_PAGES[url]] else 404
    assert client.get(url).status_code == expected


@pytest.mark.parametrize("role", RANK)
@pytest.mark.parametrize("url", POST_ACTIONS)
def test_actions_answer_by_role(client, cast, url, role):
    least, data = POST_ACTIONS[url]
    client.force_login(visitor(cast, role))
    url = url.format(student=cast.membership(cast.student).pk)
    response = client.post(url, data)
    expected = 302 if RANK[role] >= RANK[least] else 404
    assert response.status_code == expected


@pytest.mark.parametrize("url", list(GET_PAGES))
def test_an_unknown_course_is_a_404_even_for_instructors(client, cast, url):
    client.force_login(cast.instructor)
    assert client.get(url.replace("/nlp/", "/no-such-course/")).status_code == 404


def test_forms_are_protected_against_csrf(cast):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.outsider)
    assert client.post("/join/", {"code": cast.course.join_code}).status_code == 403


def test_actions_refuse_get(client, cast):
    client.force_login(cast.instructor)
    assert client.get("/c/nlp/join-code/settings/").status_code == 405
