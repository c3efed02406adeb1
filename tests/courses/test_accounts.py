"""Sign up, sign in, sign out and reset a password, as a person would."""

import re

from django.contrib.auth import get_user_model
from django.core import mail

import attentive.settings as project_settings
from tests.conftest import PASSWORD, make_user


def test_passwords_are_hashed_with_argon2(settings, db):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = make_user("lea")
    assert user.password.startswith("argon2$")


def test_it_signs_up_and_signs_in(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "lea", "first_name": "Léa", "email": "lea@example.org",
         "password1": "correct horse battery", "password2": "correct horse battery"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="lea")
    assert user.first_name == "Léa"
    assert "_auth_user_id" in client.session
    assert "My courses" in client.get("/").content.decode()


def test_it_refuses_a_signup_with_mismatched_passwords(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "lea", "first_name": "Léa", "email": "lea@example.org",
         "password1": "correct horse battery", "password2": "correct horse batterz"},
    )
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()  # noqa: RUF001 (Django's own apostrophe)
    assert not get_user_model().objects.filter(username="lea").exists()


def test_it_refuses_an_email_already_in_use(client, db):
    make_user("lea")
    response = client.post(
        "/accounts/signup/",
        {"username": "lea2", "first_name": "Léa", "email": "LEA@example.org",
         "password1": "correct horse battery", "password2": "correct horse battery"},
    )
    assert "already uses this e-mail" in response.content.decode()


def test_signup_follows_a_safe_next_link_only(client, db):
    data = {"username": "lea", "first_name": "Léa", "email": "lea@example.org",
            "password1": "correct horse battery", "password2": "correct horse battery"}
    response = client.post("/accounts/signup/", {**data, "next": "//evil.example/"})
    assert response["Location"] == "/"


def test_it_signs_in_and_out(client, db):
    make_user("lea")
    response = client.post("/accounts/login/", {"username": "lea", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_signing_in_with_a_wrong_password_says_so(client, db):
    make_user("lea")
    response = client.post("/accounts/login/", {"username": "lea", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_resets_a_password_through_the_emailed_link(client, db):
    make_user("lea")
    response = client.post("/accounts/password_reset/", {"email": "lea@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new secret", "new_password2": "a brand new secret"},
    )
    assert response.status_code == 302
    assert client.login(username="lea", password="a brand new secret")


def test_a_reset_for_an_unknown_address_reveals_nothing(client, db):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []
