"""A web process reads exercises without importing torch (a cold torch costs it ~1.8 s and ~200 MB)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.processes import database_url


@pytest.mark.django_db(transaction=True)
def test_a_fresh_web_process_renders_both_kinds_of_exercise_without_torch(cast, code_exercise, questions_exercise):
    # Committed rows (transaction=True), so the fresh process sees them in the test database.
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "bench/web_start.py", "--course", cast.course.slug, "--user", cast.student.username,
         code_exercise.slug, questions_exercise.slug],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["statuses"] == {code_exercise.slug: 200, questions_exercise.slug: 200}
    assert measured["torch_loaded"] is False
