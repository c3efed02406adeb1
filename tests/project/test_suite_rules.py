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
