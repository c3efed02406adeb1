"""Browser tests: the real ASGI app under uvicorn in a thread, driven by Debian's chromium."""

import threading
import time
from pathlib import Path

import pytest

from bench.common import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def live_site(transactional_db):
    """The site's ASGI application (HTTP and WebSockets) served on a free local port."""
    import uvicorn

    from attentive.asgi import application

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start for the browser test")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """Chromium for one test module; Playwright's event loop must not outlive the module,
    or Django would take every later test for async code. The test database is set up first,
    for the same reason."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM}: sudo apt install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_site, monkeypatch):
    """Open a page in a fresh browser context (its own cookies), failing on any off-site request."""
    # Playwright's sync API keeps an event loop in this thread; the tests still use the
    # ORM between browser steps, on purpose and one step at a time.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    contexts = []
    off_site = []

    def open_page(viewport=None):
        context = browser.new_context(base_url=live_site, viewport=viewport or {"width": 1280, "height": 900})
        context.route(
            "**/*",
            lambda route: (off_site.append(route.request.url), route.abort())
            if not route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:"))
            else route.continue_(),
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert off_site == [], f"pages must not load anything from the internet: {off_site}"


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Not "**/": the sign-in page matches it too, and a goto racing the sign-in's own
    # navigation can cancel it before the session cookie arrives.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def fits_the_width(page) -> bool:
    """Whether the page shows everything without scrolling sideways, measured once its
    stylesheets have arrived: a browser paints nothing before them, but a script asking for
    the layout earlier gets one without them (a textarea 40 columns wide, on a phone)."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page, name: str, tmp_path: Path, full_page: bool = True) -> Path:
    """Photograph the page for the README: into docs/screenshots/ when UPDATE_SCREENSHOTS=1,
    else into the test's temporary folder (so an ordinary test run leaves the tree clean)."""
    import os

    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    assert path.stat().st_size > 10_000, f"the screenshot {path} is suspiciously small"
    return path
