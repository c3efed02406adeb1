"""Under the Content-Security-Policy, every page a student or an instructor can open works in
Chromium, and the browser reports no violation: no inline script, no inline style."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in

from .test_url_permissions import RULES, site_patterns
from .world import build_world

pytestmark = pytest.mark.e2e


def pages_for(role: str, world) -> list[str]:
    """The addresses of every page the role may open with GET, as HTML."""
    urls = []
    for name, _route, params in site_patterns():
        rule = RULES[name]
        if not rule.admits(role, "GET") or name.endswith(("_export", "_xlsx", "_csv", "_md", "_image")):
            continue
        if name in ("gradebook_export", "quiz_export", "comparison_export_csv", "comparison_export_md",
                    "submission_status", "reflection_status", "play_nickname",
                    "favicon",  # a redirect to the icon, not a page (Chromium aborts navigating to it)
                    "play_game"):  # the seat is in the test client's session, not in the browser's
            continue
        values = {**world.kwargs, **{param: world.kwargs[key] for param, key in rule.params.items()}}
        urls.append(reverse(name, kwargs={param: values[param] for param in params}))
    return urls


def world_outside_the_browser_loop():
    """The world, built in a thread of its own: making a game sends a channel-layer message
    through async_to_sync, which cannot run in the thread where Playwright's loop lives."""
    def build():
        try:
            return build_world()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as executor:
        return executor.submit(build).result()


def watch_for_violations(page) -> list[str]:
    violations = []
    page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => "
        "console.error(`Refused to load: Content Security Policy ${event.violatedDirective} ${event.blockedURI}`));"
    )
    return violations


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_every_page_works_under_the_policy_with_no_violation(new_page, role):
    world = world_outside_the_browser_loop()
    page = new_page()
    violations = watch_for_violations(page)
    sign_in(page, world.users[role].username, PASSWORD)
    visited = 0
    for url in pages_for(role, world):
        response = page.goto(url)
        assert response.status < 400, f"{url}: {response.status}"
        if "text/html" in response.headers.get("content-type", ""):
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy, url
            assert "unsafe-inline" not in policy, url
            page.wait_for_load_state("load")
            page.wait_for_timeout(150)  # scripts that start on load: the editor, math, a live socket
            visited += 1
    assert visited > 25
    assert violations == [], "\n".join(violations)


def test_an_inline_script_is_refused_and_reported(new_page, live_site):
    """The policy is really enforced: a page that adds an inline script sees it refused."""
    page = new_page()
    violations = watch_for_violations(page)
    page.goto(reverse("login"))
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                       document.body.append(s); const d = document.createElement('div');
                       d.setAttribute('style', 'color: red'); document.body.append(d); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.ran") is None
    assert any("script-src" in text for text in violations)
    assert any("style-src" in text for text in violations)
