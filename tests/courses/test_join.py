"""Joining a course with its code or its link."""

from courses.models import Membership


def test_a_student_joins_with_the_code_typed_loosely(client, cast):
    client.force_login(cast.outsider)
    code = cast.course.join_code
    response = client.post("/join/", {"code": f" {code[:4].lower()}-{code[4:]} "})
    assert response.status_code == 302
    assert response["Location"] == "/c/nlp/"
    assert Membership.objects.get(user=cast.outsider, course=cast.course).role == "student"


def test_an_unknown_code_is_refused_with_a_clear_message(client, cast):
    client.force_login(cast.outsider)
    response = client.post("/join/", {"code": "ZZZZZZZZ"})
    assert response.status_code == 400
    assert "No course has this code" in response.content.decode()
    assert not Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_a_closed_course_refuses_new_members(client, cast):
    cast.course.joining_open = False
    cast.course.save()
    client.force_login(cast.outsider)
    response = client.post("/join/", {"code": cast.course.join_code})
    assert "not accepting new members" in response.content.decode()
    assert not Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_the_join_link_asks_before_joining(client, cast):
    client.force_login(cast.outsider)
    response = client.get(f"/join/{cast.course.join_code}/")
    assert response.status_code == 200
    assert "Join NLP 2 LLM" in response.content.decode()
    assert not Membership.objects.filter(user=cast.outsider, course=cast.course).exists()
    response = client.post(f"/join/{cast.course.join_code}/")
    assert response["Location"] == "/c/nlp/"
    assert Membership.objects.filter(user=cast.outsider, course=cast.course).exists()


def test_the_join_link_sends_an_anonymous_visitor_to_sign_in_and_back(client, cast):
    response = client.get(f"/join/{cast.course.join_code}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/join/{cast.course.join_code}/"


def test_an_old_join_link_says_it_is_out_of_date(client, cast):
    old = cast.course.join_code
    cast.course.regenerate_join_code()
    client.force_login(cast.outsider)
    response = client.get(f"/join/{old}/")
    assert response.status_code == 404
    assert "out of date" in response.content.decode()


def test_joining_twice_keeps_the_role(client, cast):
    client.force_login(cast.ta)
    client.post("/join/", {"code": cast.course.join_code})
    assert cast.membership(cast.ta).role == "ta"


def test_the_instructor_makes_a_new_code_and_the_old_one_stops_working(client, cast):
    old = cast.course.join_code
    client.force_login(cast.instructor)
    client.post("/c/nlp/join-code/settings/", {"action": "regenerate"})
    cast.course.refresh_from_db()
    assert cast.course.join_code != old
    client.force_login(cast.outsider)
    response = client.post("/join/", {"code": old})
    assert "No course has this code" in response.content.decode()


def test_the_join_code_page_shows_code_link_and_qr(client, cast):
    client.force_login(cast.ta)
    page = client.get("/c/nlp/join-code/").content.decode()
    assert cast.course.join_code in page
    assert f"http://127.0.0.1:8000/join/{cast.course.join_code}/" in page
    assert "<svg" in page
