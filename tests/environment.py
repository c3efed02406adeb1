"""Give a test run its own var folder (database file, broker queue), apart from the developer's.

Loaded with `-p tests.environment` (see pyproject.toml), so it runs before Django reads its
settings.

Under pytest-xdist (`make test PYTEST_ARGS="-n 2"`) each worker process gets a var folder and a
Redis database of its own, so that one worker's grading workers never take another's tasks and
its sweeps never see another's files: worker gwN uses the database N above REDIS_URL's own. The
PostgreSQL test database already gets a _gwN suffix from pytest-django.
"""

import os
import re
from pathlib import Path

worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... in a pytest-xdist worker; else empty
if os.environ.get("ATTENTIVE_TEST_WORKER") == worker:
    worker = ""  # a process this worker started, which inherited what the lines below set
os.environ["ATTENTIVE_TEST_WORKER"] = os.environ.get("PYTEST_XDIST_WORKER", "")

var = Path(os.environ.get("ATTENTIVE_VAR_DIR") or Path(__file__).resolve().parent.parent / "var" / "test")
os.environ["ATTENTIVE_VAR_DIR"] = str(var / worker if worker else var)


def redis_url_of_worker(url: str, worker: str) -> str:
    """REDIS_URL with its database number raised by the worker's index (gw2: +2)."""
    if not worker:
        return url
    index = int(worker.removeprefix("gw"))
    found = re.match(r"^(rediss?://[^/?#]*)(?:/(\d*))?([?#].*)?$", url)
    if not found:
        raise SystemExit(f"REDIS_URL={url!r}: not a redis:// URL that a test worker can pick a database in")
    base, database, rest = found.groups()
    return f"{base}/{int(database or 0) + index}{rest or ''}"


if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_of_worker(os.environ["REDIS_URL"], worker)
