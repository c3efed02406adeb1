"""Tests that read the real reflections are deselected, with a message, where the data is missing; CI requires them."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_suite(tmp_path, *arguments: str, **environment) -> subprocess.CompletedProcess:
    (tmp_path / "test_marked.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.mark.realdata
        def test_reads_the_real_data():
            pass

        def test_needs_nothing():
            pass
    """))
    (tmp_path / "empty").mkdir(exist_ok=True)
    inherited = {key: value for key, value in os.environ.items() if key != "ATTENTIVE_REQUIRE_REAL_DATA"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
         "-p", "tests.rules", "--rootdir", str(tmp_path), *arguments, str(tmp_path / "test_marked.py")],
        cwd=ROOT, capture_output=True, text=True,
        env={**inherited, "PYTHONPATH": str(ROOT), "REFLECTIONS_REAL_DATA": str(tmp_path / "empty"), **environment},
    )


def test_without_the_data_they_are_deselected_and_the_summary_says_where_it_was_looked_for(tmp_path):
    result = run_suite(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 deselected" in result.stdout
    expected = f"1 tests need the real reflections and were not run: there are no unit_*.csv files in {tmp_path}/empty"
    assert expected in result.stdout


def test_under_xdist_the_summary_still_says_so(tmp_path):
    # Each worker deselects; the controller, which collects nothing, prints what they found.
    result = run_suite(tmp_path, "-n", "2")
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout
    assert f"1 tests need the real reflections and were not run: there are no unit_*.csv files in {tmp_path}/empty" \
        in result.stdout


def test_when_the_data_is_required_they_run_even_without_it(tmp_path):
    result = run_suite(tmp_path, ATTENTIVE_REQUIRE_REAL_DATA="1")
    assert "2 passed" in result.stdout, result.stdout
    assert "deselected" not in result.stdout
