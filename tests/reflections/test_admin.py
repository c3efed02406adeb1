"""Every reflections model has an admin page, and anonymous answers show no name there."""

import pytest
from django.contrib.auth import get_user_model

from reflections.models import ReflectionAnswer, Theme

MODELS = ["reflectionprompt", "reflectionwindow", "reflectionreceipt", "reflectionanswer", "theme",
          "themecomputation"]


@pytest.fixture
def admin_client(client, cast, prompts, open_window):
    from tests.reflections.conftest import submit

    submit(client, cast, cast.student, {prompts.struggled: "lost with masking", prompts.understood: "softmax"})
    Theme.objects.create(prompt=prompts.struggled, label="Masking")
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_each_model_has_a_list_and_a_change_page(admin_client, model):
    assert admin_client.get(f"/admin/reflections/{model}/").status_code == 200
    first = {"reflectionanswer": ReflectionAnswer, "theme": Theme}.get(model)
    if first:
        assert admin_client.get(f"/admin/reflections/{model}/{first.objects.first().pk}/change/").status_code == 200


def test_the_answer_list_names_only_named_answers(admin_client, cast):
    page = admin_client.get("/admin/reflections/reflectionanswer/").content.decode()
    assert "Sara Student" in page  # the named answer
    assert "Anonymous" in page
    anonymous = ReflectionAnswer.objects.get(text="lost with masking")
    change = admin_client.get(f"/admin/reflections/reflectionanswer/{anonymous.pk}/change/").content.decode()
    assert "Sara" not in change
    assert "sara" not in change
