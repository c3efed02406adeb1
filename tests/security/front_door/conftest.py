"""The browser fixtures of tests/e2e, for the Content-Security-Policy test of this folder."""

from tests.e2e.conftest import browser, live_site, new_page  # noqa: F401 (fixtures)
