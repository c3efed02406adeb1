"""Every address of the site against every role, from one table built from the URL configuration.

Each named URL has a rule: who may use it, and with which method it is tried. A URL added
without a rule fails `test_every_url_has_a_rule`. Each role then requests every URL (in a
savepoint rolled back afterwards, so that an allowed POST changes nothing for the next one):
a role the rule admits must get through, a role it does not must be sent to sign in
(anonymous) or get a 404 or 403, never the page.
"""

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from .world import build_world

ROLES = ["anonymous", "outsider", "student", "ta", "instructor"]
PUBLIC = set(ROLES)
SIGNED_IN = {"outsider", "student", "ta", "instructor"}
MEMBER = {"student", "ta", "instructor"}
STAFF = {"ta", "instructor"}
INSTRUCTOR = {"instructor"}
STUDENT = {"student"}  # a student's own work: staff act on it through their own pages

# name: (roles admitted, method tried[, {URL parameter: the world's value to use instead}])
RULES = {
    # accounts
    "login": (PUBLIC, "GET"),
    "logout": (PUBLIC, "POST"),
    "signup": (PUBLIC, "GET"),
    "password_change": (SIGNED_IN, "GET"),
    "password_change_done": (SIGNED_IN, "GET"),
    "password_reset": (PUBLIC, "GET"),
    "password_reset_done": (PUBLIC, "GET"),
    "password_reset_confirm": (PUBLIC, "GET"),
    "password_reset_complete": (PUBLIC, "GET"),
    # courses
    "home": (PUBLIC, "GET"),
    "favicon": (PUBLIC, "GET"),
    "course_create": (SIGNED_IN, "GET"),
    "join": (SIGNED_IN, "GET"),
    "join_with_link": (SIGNED_IN, "GET"),
    "course_detail": (MEMBER, "GET"),
    "course_join_code": (STAFF, "GET"),
    "course_join_settings": (INSTRUCTOR, "POST"),
    "course_roster": (STAFF, "GET"),
    "member_role": (INSTRUCTOR, "POST"),
    "member_remove": (INSTRUCTOR, "POST"),
    "member_unlock": (INSTRUCTOR, "POST"),
    "lesson_detail": (MEMBER, "GET"),
    "gradebook": (STAFF, "GET"),
    "gradebook_export": (STAFF, "GET"),
    # exercises
    "exercise_detail": (MEMBER, "GET"),
    "exercise_history": (MEMBER, "GET"),
    "exercise_submit": (MEMBER, "POST"),
    "exercise_draft": (MEMBER, "POST"),
    "exercise_interpret": (MEMBER, "GET"),
    "exercise_run_solution": (STAFF, "POST"),
    "exercise_submissions": (STAFF, "GET"),
    "exercise_regrade": (STAFF, "POST"),
    "regrade_progress": (STAFF, "GET"),
    "submission_detail": (MEMBER, "GET"),  # the student's own; staff see everyone's
    "submission_verdict": (MEMBER, "GET"),
    "submission_status": (MEMBER, "GET"),
    "submission_restore": (STUDENT, "POST"),
    "submission_regrade": (STAFF, "POST"),
    "submission_override": (STAFF, "POST"),
    "submission_review": (STAFF, "POST", {"submission_id": "questions_submission_id"}),
    "review_queue": (STAFF, "GET"),
    # quizzes
    "quiz_list": (STAFF, "GET"),
    "quiz_create": (STAFF, "GET"),
    "quiz_import": (STAFF, "GET"),
    "quiz_detail": (STAFF, "GET"),
    "quiz_edit": (STAFF, "GET"),
    "quiz_duplicate": (STAFF, "POST"),
    "quiz_archive": (STAFF, "POST"),
    "quiz_export": (STAFF, "GET"),
    "game_create": (STAFF, "GET"),
    "question_create": (STAFF, "GET"),
    "question_edit": (STAFF, "GET"),
    "question_move": (STAFF, "POST"),
    "question_delete": (STAFF, "POST"),
    "game_list": (MEMBER, "GET"),
    "game_report": (STAFF, "GET"),  # and the players of the game, who see their own results
    "game_host": (STAFF, "GET"),
    "game_end": (STAFF, "POST"),
    "game_report_xlsx": (STAFF, "GET"),
    "game_report_csv": (STAFF, "GET"),
    "play_pin": (PUBLIC, "GET"),
    "play_game": (set(), "GET"),  # only the browser that holds a seat; anyone else is asked for the PIN
    "play_join": (PUBLIC, "GET"),
    "play_nickname": (PUBLIC, "GET"),
    "quiz_image": (PUBLIC, "GET"),
    # reflections
    "reflection_answer": (MEMBER, "GET"),
    "reflection_window": (INSTRUCTOR, "POST"),
    "reflection_review": (STAFF, "GET"),
    "reflection_status": (STAFF, "GET"),
    "reflection_recompute": (STAFF, "POST"),
    "reflection_export": (STAFF, "GET"),
    "reflection_import": (INSTRUCTOR, "GET"),
    "reflection_overview": (MEMBER, "GET"),
    "reflection_theme_rename": (STAFF, "POST"),
    "reflection_theme_merge": (STAFF, "POST"),
    "reflection_theme_addressed": (STAFF, "POST"),
    "reflection_answer_move": (STAFF, "POST"),
    "reflection_answer_reply": (STAFF, "POST"),
    # comparisons
    "comparison_list": (MEMBER, "GET"),
    "comparison_detail": (MEMBER, "GET"),
    "comparison_propose": (STUDENT, "POST"),
    "comparison_withdraw": (STUDENT, "POST"),
    "comparison_pick": (STUDENT, "POST"),
    "comparison_row": (STUDENT, "POST"),
    "comparison_criteria": (INSTRUCTOR, "GET"),
    "comparison_settings": (INSTRUCTOR, "POST"),
    "comparison_table": (STAFF, "GET"),  # and every student once the deadline has passed
    "comparison_student": (STAFF, "GET"),
    "comparison_verify_row": (STAFF, "POST"),
    "comparison_review_entry": (STAFF, "POST"),
    "comparison_grades": (STAFF, "GET"),
    "comparison_export_csv": (STAFF, "GET"),
    "comparison_export_md": (STAFF, "GET"),
}


def site_patterns(resolver=None, prefix=""):
    """(name, route, parameter names) of every named URL outside the admin, which has its own rule."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":
                yield from site_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            if not pattern.name:
                raise AssertionError(f"{prefix}{pattern.pattern} has no name: name it and give it a rule here")
            converters = pattern.pattern.converters if isinstance(pattern.pattern, RoutePattern) else {}
            yield pattern.name, prefix + str(pattern.pattern), list(converters)


def test_every_url_has_a_rule():
    names = {name for name, _route, _params in site_patterns()}
    assert sorted(names - set(RULES)) == [], "give these URLs a rule in RULES"
    assert sorted(set(RULES) - names) == [], "these rules name URLs that no longer exist"


def is_denied(response, login_url: str) -> bool:
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and response.url.startswith(login_url)


def outcome(client: Client, method: str, url: str) -> object:
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url, {})
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_what_its_rules_admit(role, db, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = settings.GAME_PIN_FAILURES_PER_ADDRESS = 10_000
    world = build_world()
    client = Client(raise_request_exception=False)
    if world.users[role]:
        client.force_login(world.users[role])
    login_url = reverse("login")
    signed_in = {name: morsel.value for name, morsel in client.cookies.items()}
    wrong = []
    for name, _route, params in site_patterns():
        admitted, method, *override = RULES[name]
        replaced = override[0] if override else {}
        values = {**world.kwargs, **{param: world.kwargs[key] for param, key in replaced.items()}}
        client.cookies.clear()
        for cookie, value in signed_in.items():  # a sign-out must not leak into the next URL
            client.cookies[cookie] = value
        url = reverse(name, kwargs={param: values[param] for param in params})
        response = outcome(client, method, url)
        if response.status_code >= 500:
            wrong.append(f"{method} {url}: server error {response.status_code}")
        elif role in admitted and is_denied(response, login_url):
            wrong.append(f"{method} {url} ({name}): {role} is admitted but got {response.status_code}")
        elif role not in admitted and not is_denied(response, login_url):
            wrong.append(f"{method} {url} ({name}): {role} is not admitted but got {response.status_code}")
    assert wrong == [], '\n'.join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_no_role_of_a_course_reaches_the_admin(role, db):
    world = build_world()
    client = Client(raise_request_exception=False)
    if world.users[role]:
        client.force_login(world.users[role])
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login")), url
