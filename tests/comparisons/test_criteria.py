"""Phase 1: students propose criteria; the instructor merges duplicates into the final list."""

import pytest
from django.test import Client

from comparisons.models import ComparisonHomework, Criterion, CriterionProposal, SuggestedCriterion
from tests.reflections.conftest import add_students


@pytest.fixture
def proposals(cast, homework):
    Criterion.objects.all().delete()
    classmate = add_students(cast, 1)[0]
    client = Client()  # a browser of their own: messages are not shared
    client.force_login(cast.student)
    client.post(homework.url + "proposals/", {"name": "Context window", "definition": "Tokens it reads at once",
                                              "how_to_measure": "API docs"})
    client = Client()
    client.force_login(classmate)
    client.post(homework.url + "proposals/", {"name": "Context length", "definition": "Max input size",
                                              "how_to_measure": "Model card"})
    client.post(homework.url + "proposals/", {"name": "Price", "definition": "Cost per token",
                                              "how_to_measure": "Pricing page"})
    return CriterionProposal.objects.order_by("id")


def test_students_propose_criteria_and_see_only_their_own(client, cast, homework, proposals):
    assert proposals.count() == 3
    client.force_login(cast.student)
    page = client.get(homework.url).content.decode()
    assert "Your proposals (1)" in page
    assert "Context window" in page
    assert "Context length" not in page
    assert "Price" not in page


def test_a_proposal_needs_all_three_fields(client, cast, homework):
    client.force_login(cast.student)
    response = client.post(homework.url + "proposals/", {"name": "Speed", "definition": "", "how_to_measure": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not CriterionProposal.objects.exists()


def test_the_instructor_merges_duplicates_into_one_criterion(client, cast, homework, proposals):
    window, length, price = proposals
    suggestion = SuggestedCriterion.objects.create(homework=homework.homework, pack_id="s1", name="Context size")
    client.force_login(cast.instructor)
    page = client.get(homework.url + "criteria/").content.decode()
    assert "Context length" in page
    assert "suggested by the pack" in page
    client.post(homework.url + "criteria/", {"action": "create", "proposals": [window.pk, length.pk],
                                             "suggestions": [suggestion.pk], "name": "", "definition": "",
                                             "how_to_measure": ""})
    criterion = Criterion.objects.get()
    assert criterion.name == "Context window"
    assert criterion.definition == "Tokens it reads at once"
    assert set(criterion.proposals.all()) == {window, length}
    assert list(criterion.suggestions.all()) == [suggestion]

    client.post(homework.url + "criteria/", {"action": "create", "proposals": [price.pk], "name": "Price (USD)",
                                             "definition": "", "how_to_measure": ""})
    assert list(Criterion.objects.order_by("position").values_list("name", flat=True)) == [
        "Context window", "Price (USD)"]
    client.force_login(cast.student)
    assert "In the final list as “Context window”" in client.get(homework.url).content.decode()


def test_proposals_can_be_added_to_an_existing_criterion(client, cast, homework, proposals):
    window, length, _price = proposals
    criterion = Criterion.objects.create(homework=homework.homework, name="Context window")
    client.force_login(cast.instructor)
    client.post(homework.url + "criteria/", {"action": "add", "criterion": criterion.pk,
                                             "proposals": [window.pk, length.pk]})
    assert criterion.proposals.count() == 2


def test_criteria_are_edited_reordered_and_removed(client, cast, homework):
    first, second = homework.criteria
    client.force_login(cast.instructor)
    client.post(homework.url + "criteria/", {"action": "down", "criterion": first.pk})
    assert list(homework.homework.criteria_list()) == [second, first]
    client.post(homework.url + "criteria/", {"action": "edit", "criterion": first.pk, "name": "Context (tokens)",
                                             "definition": "d", "how_to_measure": "h"})
    first.refresh_from_db()
    assert first.name == "Context (tokens)"
    client.post(homework.url + "criteria/", {"action": "delete", "criterion": first.pk})
    assert list(homework.homework.criteria_list()) == [second]


def test_opening_the_table_closes_proposals(client, cast, homework):
    client.force_login(cast.instructor)
    client.post(homework.url + "settings/", {"action": "start_table"})
    homework.homework.refresh_from_db()
    assert homework.homework.phase == "table"
    client.force_login(cast.student)
    response = client.post(homework.url + "proposals/", {"name": "Late", "definition": "d", "how_to_measure": "h"},
                           follow=True)
    assert "proposals are closed" in response.content.decode()
    assert not CriterionProposal.objects.exists()


def test_the_table_needs_criteria_first(client, cast, homework):
    Criterion.objects.all().delete()
    client.force_login(cast.instructor)
    response = client.post(homework.url + "settings/", {"action": "start_table"}, follow=True)
    assert "the table needs at least one criterion" in response.content.decode()
    homework.homework.refresh_from_db()
    assert homework.homework.phase == ComparisonHomework.Phase.CRITERIA


@pytest.mark.parametrize("who", ["ta", "student", "outsider"])
def test_only_the_instructor_makes_the_final_list(client, cast, homework, who):
    client.force_login(getattr(cast, who))
    assert client.get(homework.url + "criteria/").status_code == 404
    assert client.post(homework.url + "criteria/", {"action": "create", "name": "X"}).status_code == 404
    assert client.post(homework.url + "settings/", {"action": "start_table"}).status_code == 404
    assert Criterion.objects.count() == 2


def test_the_instructor_chooses_whose_text_stays_when_merging(client, cast, homework, proposals):
    window, length, _price = proposals
    suggestion = SuggestedCriterion.objects.create(
        homework=homework.homework, pack_id="s1", name="Context window (tokens)",
        definition="The longest input the model reads at once, prompt and answer together, in tokens.",
        how_to_measure="The official documentation or model card, in tokens.",
    )
    client.force_login(cast.instructor)
    client.post(homework.url + "criteria/", {"action": "create", "proposals": [window.pk, length.pk],
                                             "suggestions": [suggestion.pk], "keep": f"suggestion-{suggestion.pk}",
                                             "name": "", "definition": "", "how_to_measure": ""})
    criterion = Criterion.objects.get()
    assert (criterion.name, criterion.definition, criterion.how_to_measure) == (
        suggestion.name, suggestion.definition, suggestion.how_to_measure
    )
    assert set(criterion.proposals.all()) == {window, length}


def test_without_a_choice_the_fullest_text_of_the_selected_stays(client, cast, homework, proposals):
    window, length, _price = proposals
    suggestion = SuggestedCriterion.objects.create(
        homework=homework.homework, pack_id="s1", name="Context window (tokens)",
        definition="The longest input the model reads at once, in tokens.", how_to_measure="The model card.",
    )
    client.force_login(cast.instructor)
    client.post(homework.url + "criteria/", {"action": "create", "proposals": [window.pk, length.pk],
                                             "suggestions": [suggestion.pk], "name": "", "definition": "",
                                             "how_to_measure": ""})
    assert Criterion.objects.get().definition == "The longest input the model reads at once, in tokens."


def test_the_text_chosen_to_stay_is_merged_even_if_its_box_was_not_ticked(client, cast, homework, proposals):
    window, length, _price = proposals
    client.force_login(cast.instructor)
    client.post(homework.url + "criteria/", {"action": "create", "proposals": [window.pk],
                                             "keep": f"proposal-{length.pk}", "name": "", "definition": "",
                                             "how_to_measure": ""})
    criterion = Criterion.objects.get()
    assert criterion.name == "Context length"
    assert set(criterion.proposals.all()) == {window, length}


def test_the_criteria_page_offers_a_text_to_keep_for_every_row(client, cast, homework, proposals):
    client.force_login(cast.instructor)
    page = client.get(homework.url + "criteria/").content.decode()
    assert page.count('type="radio" name="keep"') == 3
    assert "Keep the text of “Context window”" in page


def test_the_review_list_puts_students_in_natural_order(client, cast, homework):
    from courses.models import Membership
    from tests.conftest import make_user

    for number in (10, 2):
        Membership.objects.create(user=make_user(f"s{number}", f"Student {number}"), course=cast.course,
                                  role=Membership.Role.STUDENT)
    client.force_login(cast.instructor)
    page = client.get(homework.url + "grades/").content.decode()
    assert page.index("Student 2") < page.index("Student 10")
