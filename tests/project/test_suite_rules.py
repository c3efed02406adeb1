"""The suite's own rules: skipping fails, and the migrations match the models."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_skipped_test_fails_the_run(tmp_path):
    (tmp_path / "test_skip.py").write_text(textwrap.dedent("""
        import pytest

        def test_hides():
            pytest.skip("no service")
    """))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
         "-p", "tests.rules", "--rootdir", str(tmp_path), str(tmp_path / "test_skip.py")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1, result.stdout
    assert "skipped tests are not allowed here: Skipped: no service" in result.stdout


def test_the_migrations_match_the_models(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_xdist_worker_gets_a_var_folder_and_a_redis_database_of_its_own(tmp_path):
    # What a worker sees, and what a process it starts sees after loading the same plugin again.
    (tmp_path / "test_where.py").write_text(textwrap.dedent("""
        import os, subprocess, sys
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_where(n):
            again = subprocess.run(
                [sys.executable, "-c", "import os, tests.environment; "
                 "print(os.environ['ATTENTIVE_VAR_DIR'], os.environ['REDIS_URL'])"],
                capture_output=True, text=True, check=True).stdout.split()
            with open(os.environ["SEEN"], "a") as seen:
                print(os.environ["PYTEST_XDIST_WORKER"], os.environ["ATTENTIVE_VAR_DIR"], os.environ["REDIS_URL"],
                      *again, file=seen)
    """))
    seen = tmp_path / "seen.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEEN": str(seen), "ATTENTIVE_VAR_DIR": str(tmp_path / "var"),
           "REDIS_URL": "redis://:secret@127.0.0.1:6379/3?protocol=3"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("ATTENTIVE_TEST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "-p", "no:django",
         "-p", "tests.environment", "--rootdir", str(tmp_path), str(tmp_path / "test_where.py")],
        cwd=ROOT, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {
        "gw0": [str(tmp_path / "var" / "gw0"), "redis://:secret@127.0.0.1:6379/3?protocol=3"] * 2,
        "gw1": [str(tmp_path / "var" / "gw1"), "redis://:secret@127.0.0.1:6379/4?protocol=3"] * 2,
    }
    lines = [line.split() for line in seen.read_text().splitlines()]
    assert len(lines) == 6
    for worker, *where in lines:
        assert where == expected[worker]


def test_a_redis_url_that_names_no_database_starts_from_database_0():
    from tests.environment import redis_url_of_worker

    assert redis_url_of_worker("redis://127.0.0.1:6379", "gw2") == "redis://127.0.0.1:6379/2"
    assert redis_url_of_worker("rediss://cache.example:6380/", "gw1") == "rediss://cache.example:6380/1"
    assert redis_url_of_worker("redis://127.0.0.1:6379/5", "") == "redis://127.0.0.1:6379/5"
