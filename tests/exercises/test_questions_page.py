"""The page of a questions exercise: each part tells the student how its answer is judged."""

PAGE = "/c/nlp/exercises/questions/"


def test_each_part_shows_its_float_policy_and_tolerance_under_the_answer_box(client, cast, questions_exercise):
    client.force_login(cast.student)
    page = client.get(PAGE).content.decode()
    # The README's example: decimals refused in the symbolic part, which asks for a simplified form.
    assert (
        '<p class="help policy">Give an exact answer: no decimals (write 1/3, sqrt(2) or pi). '
        "Simplify your answer.</p>"
    ) in page
    assert '<p class="help policy">Answers within 2% of the exact value are accepted.</p>' in page
    # In the part it belongs to: after the symbolic part's box, before the numeric part's.
    symbolic_box, numeric_box = page.index('id="part-dL_dz1"'), page.index('id="part-speed"')
    assert symbolic_box < page.index("Give an exact answer") < numeric_box < page.index("Answers within 2%")
