"""Rules for the whole suite, kept free of Django so that they can be tested on their own."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked `redis` need a real Redis; without REDIS_URL they are deselected, loudly."""
    if os.environ.get("REDIS_URL"):
        return
    needs_redis = [item for item in items if item.get_closest_marker("redis")]
    if needs_redis:
        items[:] = [item for item in items if not item.get_closest_marker("redis")]
        config.hook.pytest_deselected(items=needs_redis)
        config._attentive_redis_deselected = len(needs_redis)


def pytest_terminal_summary(terminalreporter, config):
    count = getattr(config, "_attentive_redis_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} tests need a real Redis and were not run: set REDIS_URL=redis://127.0.0.1:6379/0 "
            "to run them (CI does).", yellow=True,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped test is a failing test that hides: report every skip as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed here: {reason}"
