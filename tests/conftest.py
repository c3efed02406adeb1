"""The usual cast for tests: a course with an instructor, a TA, a student, and an outsider."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from courses.models import Course, Lesson, Membership

pytest_plugins = ["tests.rules"]

ROOT = Path(__file__).resolve().parent.parent
DEMO_PACK = ROOT / "content" / "nlp2llm"
PASSWORD = "a-long-test-password"


def make_user(username: str, name: str = ""):
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, first_name=name or username.title(), email=f"{username}@example.org"
    )


@dataclass
class Cast:
    course: Course
    lesson: Lesson
    instructor: object
    ta: object
    student: object
    outsider: object
    other_course: Course

    def membership(self, user) -> Membership:
        return Membership.objects.get(user=user, course=self.course)


@pytest.fixture
def cast(db) -> Cast:
    course = Course.objects.create(title="NLP 2 LLM", slug="nlp")
    other_course = Course.objects.create(title="Databases", slug="databases")
    lesson = Lesson.objects.create(
        course=course, title="Transformers", slug="transformers", position=1, body="Softmax: $e^{z_k}$"
    )
    instructor, ta, student, outsider = (
        make_user("ines", "Ines Instructor"), make_user("tom", "Tom Assistant"),
        make_user("sara", "Sara Student"), make_user("otto", "Otto Outsider"),
    )
    Membership.objects.create(user=instructor, course=course, role=Membership.Role.INSTRUCTOR)
    Membership.objects.create(user=ta, course=course, role=Membership.Role.TEACHING_ASSISTANT)
    Membership.objects.create(user=student, course=course, role=Membership.Role.STUDENT)
    Membership.objects.create(user=outsider, course=other_course, role=Membership.Role.STUDENT)
    return Cast(course, lesson, instructor, ta, student, outsider, other_course)


@pytest.fixture
def demo_pack() -> Path:
    return DEMO_PACK


@pytest.fixture
def pack(tmp_path, demo_pack) -> Path:
    """A copy of the demo pack that a test may break."""
    copy = tmp_path / "pack"
    shutil.copytree(demo_pack, copy)
    return copy


def pack_problems(pack: Path) -> list[str]:
    """Every problem reading the pack reports, as the loader prints them."""
    from courses.packs import PackInvalid, read_pack

    with pytest.raises(PackInvalid) as caught:
        read_pack(pack)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is slow on purpose; tests that are not about hashing need not pay for it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



@pytest.fixture
def celery_eager():
    """Run Celery tasks inline, in the test's thread, when they are enqueued."""
    from attentive.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def broker_away(monkeypatch):
    """Every doorbell of a durable job meets a broker that refuses the connection, as kombu says it."""
    from kombu.exceptions import OperationalError

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for task in ("exercises.tasks.grade_submission", "reflections.tasks.compute_themes"):
        monkeypatch.setattr(f"{task}.delay", refused)
        monkeypatch.setattr(f"{task}.apply_async", refused)


SOFTMAX_EXERCISE = ROOT / "tests" / "security" / "softmax_exercise"
GOOD_SOFTMAX = (SOFTMAX_EXERCISE / "solution.py").read_text()
NAIVE_SOFTMAX = "def softmax(x, dim=-1):\n    e = x.exp()\n    return e / e.sum(dim=dim, keepdim=True)\n"


@pytest.fixture
def code_exercise(cast):
    """A small softmax exercise (3 visible points, 1 hidden) in the cast's lesson."""
    from exercises.models import Exercise
    from graders import engine
    from graders.code import exercise_files

    files = exercise_files(SOFTMAX_EXERCISE)
    info = engine.inspect(files)
    return Exercise.objects.create(
        course=cast.course, lesson=cast.lesson, pack_id="ex-softmax", slug="softmax", title="Softmax",
        kind="code", max_score=info.max_score, files=files, version=info.version,
        starter_code=files["starter.py"], statement="Write `softmax(x, dim=-1)`.",
    )
