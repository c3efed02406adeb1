"""Every comparison model has an admin page."""

import pytest
from django.contrib.auth import get_user_model

from comparisons import services

MODELS = ["comparisonhomework", "comparedmodel", "suggestedcriterion", "criterion", "criterionproposal",
          "modelpick", "tableentry", "homeworkgrade"]


@pytest.mark.parametrize("model", MODELS)
def test_each_model_has_an_admin_list(client, cast, table_open, model):
    pick = services.pick_model(table_open.homework, cast.student, table_open.models[0])
    services.save_row(pick, {table_open.criteria[0].pk: ("128k", "https://example.org/")})
    services.grade(table_open.homework, cast.student, by=cast.instructor, points=5, feedback="")
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    assert client.get(f"/admin/comparisons/{model}/").status_code == 200
    assert client.get(f"/admin/comparisons/comparisonhomework/{table_open.homework.pk}/change/").status_code == 200
