"""Reflections test helpers: the cast's lesson with the demo's three "Question time" prompts."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Membership
from reflections.models import ReflectionPrompt, ReflectionWindow
from tests.conftest import make_user


@dataclass
class Prompts:
    understood: ReflectionPrompt
    struggled: ReflectionPrompt
    curious: ReflectionPrompt

    def all(self) -> list[ReflectionPrompt]:
        return [self.understood, self.struggled, self.curious]


@pytest.fixture
def prompts(cast) -> Prompts:
    def make(position, kind, text, anonymous=False):
        return ReflectionPrompt.objects.create(
            course=cast.course, lesson=cast.lesson, pack_id=f"prompt-{kind}", section="Question time",
            kind=kind, text=text, anonymous=anonymous, position=position,
        )

    return Prompts(
        make(1, "understood", "Something you understood well"),
        make(2, "struggled", "Something you did not fully understand", anonymous=True),
        make(3, "curious", "Something you would like to know more about"),
    )


@pytest.fixture
def open_window(cast, prompts) -> ReflectionWindow:
    return ReflectionWindow.objects.create(lesson=cast.lesson, opens_at=timezone.now() - timedelta(minutes=5))


def add_students(cast, count: int, prefix: str = "student") -> list:
    users = []
    for number in range(count):
        user = make_user(f"{prefix}{number}", f"Student Number{number}")
        Membership.objects.create(user=user, course=cast.course, role=Membership.Role.STUDENT)
        users.append(user)
    return users


def answer_url(cast) -> str:
    return f"/c/{cast.course.slug}/lessons/{cast.lesson.slug}/reflection/"


def review_url(cast) -> str:
    return answer_url(cast) + "review/"


def submit(client, cast, user, texts: dict) -> object:
    """Post the reflection form as `user`: texts by prompt."""
    client.force_login(user)
    return client.post(answer_url(cast), {f"prompt_{prompt.pk}": text for prompt, text in texts.items()})
