"""graders/ is a library: it takes an answer and an exercise and returns a verdict, and owns no model.

The submission's life (queue, claim, record, sweep, the Celery tasks) lives in exercises/; a
module here that imported a model or another app would pull the lifecycle back in.
"""

import ast
from pathlib import Path

import graders

GRADERS = Path(graders.__file__).parent
# Where a library must not reach: Django's models (its own, or contrib's such as auth's users)
# and the apps that use the library.
FORBIDDEN = ("django.db", "django.contrib", "exercises", "courses", "quizzes", "reflections")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # `from django import db` imports django.db too.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_module_under_graders_imports_models_or_another_app():
    modules = sorted(GRADERS.rglob("*.py"))
    assert len(modules) > 20  # the walk found the library, not an empty folder
    offending = {
        f"{path.relative_to(GRADERS.parent)}: {name}"
        for path in modules
        for name in imported_modules(path)
        if any(reaches(name, prefix) for prefix in FORBIDDEN)
    }
    assert not offending


def test_the_engine_does_not_import_django_at_all():
    assert not {name for name in imported_modules(GRADERS / "engine.py") if reaches(name, "django")}


def test_the_walk_would_see_a_model_import(tmp_path):
    module = tmp_path / "lifecycle.py"
    module.write_text("from django.db import transaction\nfrom exercises.models import Submission\n")
    assert {"django.db", "exercises.models"} <= imported_modules(module)
