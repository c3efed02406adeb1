"""Fixtures for the hostile submissions: one warm pool, the softmax exercise, a database file to steal."""

import sqlite3
import time
from pathlib import Path

import pytest

from graders.sandbox import SandboxPool

EXERCISE = Path(__file__).parent / "softmax_exercise"


@pytest.fixture(scope="session")
def pool():
    with SandboxPool(size=2) as started:
        yield started


@pytest.fixture(scope="session")
def database_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("var") / "attentive.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("create table secret (value text)")
        connection.execute("insert into secret values ('database-secret-93b1')")
    return path


def settled(pool, seconds=5.0):
    """Wait until every used sandbox has been reaped and the pool holds only warm ones."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        warm = pool.warm_sandboxes()
        if pool.uids.in_use == {sandbox.uid for sandbox in warm} and len(pool.warm) == pool.size:
            return True
        time.sleep(0.02)
    return False


def sandbox_processes(pool):
    """Processes running as a uid of the pool that no live sandbox holds: leftovers of a submission."""
    live = set(pool.uids.in_use)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = int((entry / "status").read_text().split("\nUid:\t")[1].split("\t")[0])
        except (OSError, IndexError):
            continue
        if pool.uids.owns(uid) and uid not in live:
            found.append((int(entry.name), uid))
    return found
