"""Phase 2: each student picks a model; picks are balanced so that every model is covered."""

from collections import Counter

import pytest

from comparisons import services
from comparisons.models import ModelPick, TableEntry
from tests.reflections.conftest import add_students

from .conftest import past_deadline


def test_a_student_picks_one_of_the_models(client, cast, table_open):
    client.force_login(cast.student)
    page = client.get(table_open.url).content.decode()
    assert "Step 2: pick a model to research" in page
    client.post(table_open.url + "pick/", {"model": table_open.models[1].pk})
    assert ModelPick.objects.get(student=cast.student).model == table_open.models[1]
    assert "Your row: Lucie" in client.get(table_open.url).content.decode()


def test_a_class_picking_in_turn_covers_every_model_evenly(cast, table_open):
    students = add_students(cast, 10)
    for student in students:
        # Everybody wants the famous one; when it is taken, the first model still available.
        wanted = [table_open.models[0], *table_open.models]
        choices = services.model_choices(table_open.homework, student)
        available = {choice.model.pk for choice in choices if choice.available}
        model = next(model for model in wanted if model.pk in available)
        services.pick_model(table_open.homework, student, model)
    counts = Counter(ModelPick.objects.values_list("model__name", flat=True))
    assert set(counts) == {"GPT-4o", "Lucie", "DeepSeek-V3"}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_an_over_covered_model_is_refused_with_a_reason(client, cast, table_open):
    first, second = add_students(cast, 2)
    services.pick_model(table_open.homework, first, table_open.models[0])
    client.force_login(second)
    page = client.get(table_open.url).content.decode()
    assert "pick a less covered model" in page
    response = client.post(table_open.url + "pick/", {"model": table_open.models[0].pk}, follow=True)
    assert "choose one of the models that nobody (or fewest people) researches yet" in response.content.decode()
    assert not ModelPick.objects.filter(student=second).exists()


def test_a_student_may_change_model_until_they_filled_in_values(cast, table_open):
    pick = services.pick_model(table_open.homework, cast.student, table_open.models[0])
    services.pick_model(table_open.homework, cast.student, table_open.models[2])
    pick.refresh_from_db()
    assert pick.model == table_open.models[2]
    TableEntry.objects.create(pick=pick, criterion=table_open.criteria[0], value="128k", source_url="https://a.b/c")
    with pytest.raises(services.ComparisonRefused, match="clear them before changing model"):
        services.pick_model(table_open.homework, cast.student, table_open.models[1])


def test_no_picks_before_the_table_opens_or_after_the_deadline(cast, homework):
    with pytest.raises(services.ComparisonRefused):
        services.pick_model(homework.homework, cast.student, homework.models[0])
    homework.homework.phase = "table"
    past_deadline(homework.homework)
    with pytest.raises(services.ComparisonRefused):
        services.pick_model(homework.homework, cast.student, homework.models[0])


def test_an_archived_model_cannot_be_picked(client, cast, table_open):
    table_open.models[0].archived = True
    table_open.models[0].save()
    client.force_login(cast.student)
    client.post(table_open.url + "pick/", {"model": table_open.models[0].pk})
    assert not ModelPick.objects.exists()


def test_the_instructor_adds_and_removes_models(client, cast, table_open):
    client.force_login(cast.instructor)
    client.post(table_open.url + "settings/", {"action": "add_model", "name": "Mistral Large", "maker": "Mistral AI"})
    assert "Mistral Large" in [m.name for m in table_open.homework.active_models()]
    client.post(table_open.url + "settings/", {"action": "archive_model", "model": table_open.models[1].pk})
    assert "Lucie" not in [m.name for m in table_open.homework.active_models()]
    response = client.post(table_open.url + "settings/", {"action": "add_model", "name": "gpt-4o"}, follow=True)
    assert "already on the list" in response.content.decode()
