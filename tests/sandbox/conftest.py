"""Fixtures for the sandbox tests: one warm pool for the session, started with secrets in the environment."""

import pytest

from graders.sandbox import SandboxPool

# Values a sandbox must never see: the pool is started while they are in the environment.
PLANTED_SECRETS = {
    "SECRET_KEY": "planted-secret-key-7f3a",
    "DATABASE_URL": "postgres://u:planted-pw@127.0.0.1/db",
}


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


def pids_by_namespace(pid: int) -> list[int]:
    """The process's pid in its PID namespace and each one above it, innermost last (`NSpid`)."""
    with open(f"/proc/{pid}/status") as handle:
        line = next(line for line in handle if line.startswith("NSpid:"))
    return [int(field) for field in line.split()[1:]]


@pytest.fixture(scope="session")
def pool():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PLANTED_SECRETS.items():
            patch.setenv(name, value)
        with SandboxPool(size=2, preload=("content.nlp2llm.provided", "tests.sandbox.registered_models")) as started:
            yield started


@pytest.fixture
def sandbox(pool):
    with pool.acquire() as taken:
        yield taken


def run(pool, source, function="main", args=(), kwargs=None, limits=None, **call_options):
    """Load `source` in a fresh sandbox and call `function`; returns (load outcome, call outcome)."""
    with pool.acquire() as sandbox:
        loaded = sandbox.load(source, limits)
        if loaded.failure is not None:
            return loaded, None
        return loaded, sandbox.call(function, args, kwargs, **call_options)
