"""Rules for the whole suite, kept free of Django so that they can be tested on their own."""

import os
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


def real_data_folder() -> Path:
    """Where the real reflections are (the same rule as reflections/evaluation.py, without importing Django)."""
    return Path(os.environ.get("REFLECTIONS_REAL_DATA") or CHECKOUT.parent / "shared" / "data" / "reflectsumm-dev")


# What pytest_collection_modifyitems counts on the config for the summary (under xdist, a worker's
# counts go to its controller).
DESELECTION_COUNTS = ("_attentive_redis_deselected", "_attentive_realdata_deselected")


def _deselect(config, items, marker: str) -> int:
    chosen = [item for item in items if item.get_closest_marker(marker)]
    if chosen:
        items[:] = [item for item in items if not item.get_closest_marker(marker)]
        config.hook.pytest_deselected(items=chosen)
    return len(chosen)


def pytest_collection_modifyitems(config, items):
    """Tests marked `redis` need a real Redis, tests marked `realdata` the real reflections:
    without them they are deselected, loudly (but CI requires the real data: it sets
    ATTENTIVE_REQUIRE_REAL_DATA=1, and a missing folder then fails those tests)."""
    if not os.environ.get("REDIS_URL"):
        config._attentive_redis_deselected = _deselect(config, items, "redis")
    has_data = any(real_data_folder().glob("unit_*.csv"))
    if not has_data and not os.environ.get("ATTENTIVE_REQUIRE_REAL_DATA"):
        config._attentive_realdata_deselected = _deselect(config, items, "realdata")
    if hasattr(config, "workeroutput"):  # a pytest-xdist worker: its controller prints the summary
        for name in DESELECTION_COUNTS:
            config.workeroutput[name] = getattr(config, name, 0)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Under pytest-xdist, what a worker deselected (each collects the whole suite: the largest count)."""
    for name in DESELECTION_COUNTS:
        found = getattr(node, "workeroutput", {}).get(name, 0)
        setattr(node.config, name, max(getattr(node.config, name, 0), found))


def pytest_terminal_summary(terminalreporter, config):
    count = getattr(config, "_attentive_redis_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} tests need a real Redis and were not run: set REDIS_URL=redis://127.0.0.1:6379/0 "
            "to run them (CI does).", yellow=True,
        )
    count = getattr(config, "_attentive_realdata_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} tests need the real reflections and were not run: there are no unit_*.csv files in "
            f"{real_data_folder()}; set REFLECTIONS_REAL_DATA to the folder of the ReflectSumm development "
            "set to run them (CI does).", yellow=True,
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
