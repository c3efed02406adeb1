"""Every address of the site against every role, from one table built from the URL configuration
and the WebSocket routes.

Each named URL has a rule: which roles may GET it and which may POST to it (NOBODY for a method
the view refuses). A URL or a socket added without a rule fails the suite. Each role then
requests every URL with both methods (in a savepoint rolled back afterwards, so that an allowed
POST changes nothing for the next one): a role the rule admits must get through, a role it does
not must be sent to sign in (anonymous) or get a 403, 404 or 405, never the page. Each role
then opens every socket: only the admitted ones may be sent more than a refusal.

The student owns the world's objects; the classmate, a student of the same course, owns
nothing, so a page that shows one student's work to another fails here.
"""

import json
from dataclasses import dataclass, field

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from quizzes import services

from .world import build_world

ROLES = ["anonymous", "outsider", "classmate", "student", "ta", "instructor"]
PUBLIC = set(ROLES)
SIGNED_IN = PUBLIC - {"anonymous"}
MEMBER = {"classmate", "student", "ta", "instructor"}
STUDENTS = {"classmate", "student"}  # any student of the course, acting on their own work
OWNER = {"student"}  # the student whose object it is: staff act on it through their own pages
OWNER_OR_STAFF = {"student", "ta", "instructor"}
STAFF = {"ta", "instructor"}
INSTRUCTOR = {"instructor"}
NOBODY: set[str] = set()  # the view refuses this method (405), or no role of the world may use it
OUTSIDE_THE_COURSE = {"anonymous", "outsider"}
METHODS = ("GET", "POST")


@dataclass(frozen=True)
class Rule:
    get: set[str]
    post: set[str]
    params: dict = field(default_factory=dict)  # URL parameter -> the world's value to use instead

    def admits(self, role: str, method: str) -> bool:
        return role in (self.get if method == "GET" else self.post)


RULES = {
    # accounts
    "login": Rule(PUBLIC, PUBLIC),
    "logout": Rule(NOBODY, PUBLIC),
    "signup": Rule(PUBLIC, PUBLIC),
    "password_change": Rule(SIGNED_IN, SIGNED_IN),
    "password_change_done": Rule(SIGNED_IN, NOBODY),
    "password_reset": Rule(PUBLIC, PUBLIC),
    "password_reset_done": Rule(PUBLIC, NOBODY),
    "password_reset_confirm": Rule(PUBLIC, PUBLIC),
    "password_reset_complete": Rule(PUBLIC, NOBODY),
    # courses
    "home": Rule(PUBLIC, PUBLIC),
    "favicon": Rule(PUBLIC, PUBLIC),
    "course_create": Rule(SIGNED_IN, SIGNED_IN),
    "join": Rule(SIGNED_IN, SIGNED_IN),
    "join_with_link": Rule(SIGNED_IN, SIGNED_IN),
    "course_detail": Rule(MEMBER, MEMBER),
    "course_join_code": Rule(STAFF, STAFF),
    "course_join_settings": Rule(NOBODY, INSTRUCTOR),
    "course_roster": Rule(STAFF, STAFF),
    "member_role": Rule(NOBODY, INSTRUCTOR),
    "member_remove": Rule(NOBODY, INSTRUCTOR),
    "member_unlock": Rule(NOBODY, INSTRUCTOR),
    "lesson_detail": Rule(MEMBER, MEMBER),
    "gradebook": Rule(STAFF, STAFF),
    "gradebook_export": Rule(STAFF, STAFF),
    # exercises
    "exercise_detail": Rule(MEMBER, MEMBER),
    "exercise_history": Rule(MEMBER, NOBODY),  # each member's own attempts
    "exercise_submit": Rule(NOBODY, MEMBER),
    "exercise_draft": Rule(NOBODY, MEMBER),
    "exercise_interpret": Rule(MEMBER, NOBODY),
    "exercise_run_solution": Rule(NOBODY, STAFF),
    "exercise_submissions": Rule(STAFF, STAFF),
    "exercise_regrade": Rule(NOBODY, STAFF),
    "regrade_progress": Rule(STAFF, STAFF),
    "submission_detail": Rule(OWNER_OR_STAFF, OWNER_OR_STAFF),
    "submission_verdict": Rule(OWNER_OR_STAFF, OWNER_OR_STAFF),
    "submission_status": Rule(OWNER_OR_STAFF, OWNER_OR_STAFF),
    "submission_restore": Rule(NOBODY, OWNER),
    "submission_regrade": Rule(NOBODY, STAFF),
    "submission_override": Rule(NOBODY, STAFF),
    "submission_review": Rule(STAFF, STAFF, {"submission_id": "questions_submission_id"}),
    "review_queue": Rule(STAFF, STAFF),
    # quizzes
    "quiz_list": Rule(STAFF, STAFF),
    "quiz_create": Rule(STAFF, STAFF),
    "quiz_import": Rule(STAFF, STAFF),
    "quiz_detail": Rule(STAFF, STAFF),
    "quiz_edit": Rule(STAFF, STAFF),
    "quiz_duplicate": Rule(NOBODY, STAFF),
    "quiz_archive": Rule(NOBODY, STAFF),
    "quiz_export": Rule(STAFF, STAFF),
    "game_create": Rule(STAFF, STAFF),
    "question_create": Rule(STAFF, STAFF),
    "question_edit": Rule(STAFF, STAFF),
    "question_move": Rule(NOBODY, STAFF),
    "question_delete": Rule(NOBODY, STAFF),
    "game_list": Rule(MEMBER, MEMBER),
    "game_report": Rule(STAFF, STAFF),
    "game_host": Rule(STAFF, STAFF),
    "game_end": Rule(NOBODY, STAFF),
    "game_report_xlsx": Rule(STAFF, STAFF),
    "game_report_csv": Rule(STAFF, STAFF),
    "play_pin": Rule(PUBLIC, PUBLIC),
    "play_game": Rule(OWNER, OWNER),  # only the browser that holds the seat; anyone else is asked for the PIN
    "play_join": Rule(PUBLIC, PUBLIC),
    "play_nickname": Rule(PUBLIC, PUBLIC),
    "quiz_image": Rule(PUBLIC, PUBLIC),
    # reflections
    "reflection_answer": Rule(MEMBER, MEMBER),
    "reflection_window": Rule(NOBODY, INSTRUCTOR),
    "reflection_review": Rule(STAFF, STAFF),
    "reflection_status": Rule(STAFF, STAFF),
    "reflection_recompute": Rule(NOBODY, STAFF),
    "reflection_export": Rule(STAFF, STAFF),
    "reflection_import": Rule(INSTRUCTOR, INSTRUCTOR),
    "reflection_overview": Rule(MEMBER, MEMBER),
    "reflection_theme_rename": Rule(NOBODY, STAFF),
    "reflection_theme_merge": Rule(NOBODY, STAFF),
    "reflection_theme_addressed": Rule(NOBODY, STAFF),
    "reflection_answer_move": Rule(NOBODY, STAFF),
    "reflection_answer_reply": Rule(NOBODY, STAFF),
    # comparisons
    "comparison_list": Rule(MEMBER, MEMBER),
    "comparison_detail": Rule(MEMBER, MEMBER),
    "comparison_propose": Rule(NOBODY, STUDENTS),
    "comparison_withdraw": Rule(NOBODY, OWNER),
    "comparison_pick": Rule(NOBODY, STUDENTS),
    "comparison_row": Rule(NOBODY, OWNER),
    "comparison_criteria": Rule(INSTRUCTOR, INSTRUCTOR),
    "comparison_settings": Rule(NOBODY, INSTRUCTOR),
    "comparison_table": Rule(STAFF, STAFF),  # and every student once the deadline has passed
    "comparison_student": Rule(STAFF, STAFF),
    "comparison_verify_row": Rule(NOBODY, STAFF),
    "comparison_review_entry": Rule(NOBODY, STAFF),
    "comparison_grades": Rule(STAFF, STAFF),
    "comparison_export_csv": Rule(STAFF, STAFF),
    "comparison_export_md": Rule(STAFF, STAFF),
}

# WebSocket routes (every app's routing.py, as attentive/asgi.py gathers them): who is sent anything
# but a refusal.
SOCKET_RULES = {
    "ws/submissions/<int:submission_id>/": OWNER_OR_STAFF,  # the page of a submission, told of its verdict
    "ws/quiz/<int:game_id>/play/": OWNER,  # the browser that holds a seat
    "ws/quiz/<int:game_id>/host/": STAFF,
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


def socket_patterns():
    """(route, parameter names) of every WebSocket route the ASGI application serves."""
    from attentive.asgi import websocket_urlpatterns

    for pattern in websocket_urlpatterns():
        yield str(pattern.pattern), list(pattern.pattern.converters)


def test_every_url_has_a_rule():
    names = {name for name, _route, _params in site_patterns()}
    assert sorted(names - set(RULES)) == [], "give these URLs a rule in RULES"
    assert sorted(set(RULES) - names) == [], "these rules name URLs that no longer exist"


def test_every_socket_has_a_rule():
    routes = {route for route, _params in socket_patterns()}
    assert sorted(routes - set(SOCKET_RULES)) == [], "give these WebSocket routes a rule in SOCKET_RULES"
    assert sorted(set(SOCKET_RULES) - routes) == [], "these rules name WebSocket routes that no longer exist"


def is_denied(response, login_url: str) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    return response.status_code == 302 and response.url.startswith(login_url)


def signed_in_client(world, role: str) -> Client:
    """The role's browser: signed in, and holding the role's seat in the world's game."""
    client = Client(raise_request_exception=False)
    if world.users[role]:
        client.force_login(world.users[role])
    if role in world.seats:
        session = client.session
        services.remember_seat(session, world.seats[role])
        session.save()
        client.cookies["sessionid"] = session.session_key
    return client


def visit_everything(world, role: str):
    """(name, method, url, response) for every URL and method, each in a savepoint rolled back."""
    client = signed_in_client(world, role)
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    for name, _route, params in site_patterns():
        rule = RULES[name]
        values = {**world.kwargs, **{param: world.kwargs[key] for param, key in rule.params.items()}}
        url = reverse(name, kwargs={param: values[param] for param in params})
        for method in METHODS:
            client.cookies.clear()
            for cookie, value in cookies.items():  # a sign-out must not leak into the next URL
                client.cookies[cookie] = value
            with transaction.atomic():
                response = client.get(url) if method == "GET" else client.post(url, {})
                transaction.set_rollback(True)
            yield name, method, url, response


@pytest.fixture
def world(db, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = settings.GAME_PIN_FAILURES_PER_ADDRESS = 10_000
    return build_world()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_what_its_rules_admit(role, world):
    login_url = reverse("login")
    wrong = []
    for name, method, url, response in visit_everything(world, role):
        admitted = RULES[name].admits(role, method)
        if response.status_code >= 500:
            wrong.append(f"{method} {url}: server error {response.status_code}")
        elif admitted and is_denied(response, login_url):
            wrong.append(f"{method} {url} ({name}): {role} is admitted but got {response.status_code}")
        elif not admitted and not is_denied(response, login_url):
            wrong.append(f"{method} {url} ({name}): {role} is not admitted but got {response.status_code}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(OUTSIDE_THE_COURSE))
def test_no_page_shows_a_game_pin_to_someone_outside_its_course(role, world):
    """Only a page whose address already carries the PIN may show it: game ids, course slugs and
    the other ids of the world are easy to guess, a PIN must be read off the projector."""
    pin = world.kwargs["pin"]
    leaks = []
    for name, method, url, response in visit_everything(world, role):
        if pin in url:
            continue
        shown = response.content.decode(errors="replace") if not response.streaming else ""
        if pin in shown or pin in response.get("Location", ""):
            leaks.append(f"{method} {url} ({name}) shows the PIN to {role}")
    assert leaks == [], "\n".join(leaks)


async def open_socket(path: str, session_key: str | None) -> tuple[bool, list[str]]:
    """Whether the socket was accepted and sent something other than a refusal, and the frames it received."""
    from attentive.asgi import application

    headers = [(b"origin", b"http://127.0.0.1")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    frames = []
    if connected:
        frames.append(await communicator.receive_from(timeout=10))
        await communicator.disconnect()
    return connected and json.loads(frames[0]).get("type") != "error", frames


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_the_sockets_its_rules_admit(role, settings):
    from channels.layers import channel_layers

    from quizzes import live

    channel_layers.backends = {}  # a fresh in-memory layer for this test's event loop
    services.clear_caches()
    live.clear_caches()
    world = build_world()
    client = signed_in_client(world, role)
    session_key = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    wrong = []
    for route, params in socket_patterns():
        path = "/" + route
        for param in params:
            path = path.replace(f"<int:{param}>", str(world.kwargs[param]))
        reached, frames = async_to_sync(open_socket)(path, session_key)
        admitted = role in SOCKET_RULES[route]
        if reached != admitted:
            wrong.append(f"{path}: {role} is {'' if admitted else 'not '}admitted but {frames or 'was refused'}")
        if role in OUTSIDE_THE_COURSE and any(world.kwargs["pin"] in frame for frame in frames):
            wrong.append(f"{path}: the socket told {role} the game's PIN")
    assert wrong == [], "\n".join(wrong)


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
