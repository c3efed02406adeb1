"""Every model of the project's apps has a Django admin page, and each list page opens."""

import pytest
from django.apps import apps
from django.contrib import admin

PROJECT_APPS = ("courses", "exercises", "graders", "quizzes", "reflections", "comparisons")


def project_models():
    return [model for app in PROJECT_APPS for model in apps.get_app_config(app).get_models()]


def test_every_model_is_in_the_admin():
    missing = [model.__name__ for model in project_models() if model not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", project_models(), ids=lambda model: model.__name__)
def test_each_admin_list_opens(admin_client, model):
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert admin_client.get(url).status_code == 200
