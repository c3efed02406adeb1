"""Comparison-homework helpers: the cast's lesson with a homework of three models and two criteria."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from comparisons.models import ComparedModel, ComparisonHomework, Criterion


@dataclass
class Homework:
    homework: ComparisonHomework
    models: list[ComparedModel]
    criteria: list[Criterion]

    @property
    def url(self) -> str:
        return self.homework.get_absolute_url()


@pytest.fixture
def homework(cast) -> Homework:
    homework = ComparisonHomework.objects.create(course=cast.course, lesson=cast.lesson, pack_id="hw-llm",
                                                 title="Compare LLMs", max_points=10)
    models = [ComparedModel.objects.create(homework=homework, name=name, maker=maker, position=n, pack_id=f"m{n}")
              for n, (name, maker) in enumerate([("GPT-4o", "OpenAI"), ("Lucie", "Linagora"),
                                                 ("DeepSeek-V3", "DeepSeek")], start=1)]
    criteria = [Criterion.objects.create(homework=homework, name=name, position=n)
                for n, name in enumerate(["Context window", "Openness"], start=1)]
    return Homework(homework, models, criteria)


@pytest.fixture
def table_open(homework) -> Homework:
    homework.homework.phase = ComparisonHomework.Phase.TABLE
    homework.homework.deadline = timezone.now() + timedelta(days=7)
    homework.homework.save()
    return homework


def past_deadline(homework: ComparisonHomework) -> None:
    homework.deadline = timezone.now() - timedelta(minutes=1)
    homework.save()


def row_data(criteria, cells: dict) -> dict:
    """Form data for a student's row: cells maps criterion -> (value, source)."""
    data = {}
    for criterion in criteria:
        value, source = cells.get(criterion, ("", ""))
        data[f"value_{criterion.pk}"], data[f"source_{criterion.pk}"] = value, source
    return data
