"""In a browser: five students answer the end-of-lesson reflection on their phones, the instructor
reviews the themes; a student fills in a row of the LLM-comparison table and the instructor verifies it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from comparisons.models import ComparisonHomework, Criterion, SuggestedCriterion, TableEntry
from courses.models import Membership
from courses.packs import load_pack
from reflections.models import ReflectionAnswer, Theme
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import fits_the_width, screenshot, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
ANSWERS = [
    ("How the tokenizer splits words into subwords", "Teacher forcing: why give the decoder the true words?",
     "DeepSeek's mixture of experts"),
    ("Greedy decoding until the end-of-sequence token", "I don't get teacher forcing and the shifted labels",
     "How ChatGPT is trained with RLHF"),
    ("Cross-entropy keeps only the log-probability of the right token", "The cross-entropy exercise with the logits",
     "Why Lucie gave wrong answers"),
    ("The three families: encoder-only, decoder-only, encoder-decoder", "why the cross entropy has a minus and a log",
     "Benchmarks to compare LLMs"),
    ("Softmax turns logits into probabilities", "teacher forcing vs feeding back our own predictions",
     "Positional encoding"),
]


def test_five_students_answer_and_the_instructor_sees_themes(new_page, demo_pack, celery_eager, tmp_path):
    course = load_pack(demo_pack).course
    teacher = make_user("teacher", "Joseba Teacher")
    Membership.objects.create(user=teacher, course=course, role="instructor")
    students = [make_user(f"student{n}", f"Student {n}") for n in range(5)]
    for student in students:
        Membership.objects.create(user=student, course=course, role="student")

    instructor = new_page()
    sign_in(instructor, "teacher", PASSWORD)
    instructor.goto(f"/c/{course.slug}/lessons/transformers/")
    instructor.get_by_role("button", name="Open the reflection now").click()
    instructor.get_by_text("The reflection is open").wait_for()

    review_url = f"/c/{course.slug}/lessons/transformers/reflection/review/"
    for number, (student, (understood, struggled, curious)) in enumerate(zip(students, ANSWERS, strict=True)):
        if number == 4:  # the instructor watches the last answers arrive
            instructor.goto(review_url)
            instructor.get_by_text("4 of 5 students answered (80%)").wait_for()
        phone = new_page(viewport=PHONE)
        sign_in(phone, student.username, PASSWORD)
        phone.goto(f"/c/{course.slug}/")
        phone.get_by_role("link", name="Answer now").click()  # the banner: one tap to the form
        phone.wait_for_url("**/lessons/transformers/reflection/")
        assert fits_the_width(phone)
        phone.get_by_label("Write down something you understood well.").fill(understood)
        phone.get_by_label("Write down something you did not fully understand.").fill(struggled)
        phone.get_by_label("Write something you would like to know more about.").fill(curious)
        phone.get_by_role("button", name="Send my answers").click()
        phone.get_by_text("Thank you! Your answers are saved.").wait_for()
        assert phone.get_by_label("Write down something you understood well.").input_value() == understood
        phone.context.close()
    assert ReflectionAnswer.objects.count() == 15
    assert not ReflectionAnswer.objects.filter(prompt__anonymous=True).exclude(student=None).exists()

    # The open review page notices the new themes and shows them by itself.
    instructor.get_by_text("5 of 5 students answered (100%)").wait_for()
    struggled_section = instructor.locator("section.prompt-review").first
    assert "did not fully understand" in struggled_section.locator("h2").inner_text()
    labels = struggled_section.locator(".theme h3 .label").all_inner_texts()
    assert labels
    order = {"topic": 0, "all_clear": 1, "other": 2}  # topics largest first, then the two special themes
    assert labels == [theme.label for theme in sorted(
        Theme.objects.filter(prompt__kind="struggled"), key=lambda theme: (order[theme.kind], -theme.answers.count()))]
    assert struggled_section.locator(".representatives blockquote").count() >= 2
    assert "Student 0" not in struggled_section.inner_text()  # anonymous prompt: no names

    first_theme = struggled_section.locator(".theme").first
    first_theme.get_by_text("Rename, merge, mark as addressed").click()
    first_theme.get_by_label("Note (e.g. “revisit at the start of lesson 2”)").fill("Revisit at the start of lesson 2")
    first_theme.get_by_role("button", name="Mark as addressed").click()
    instructor.get_by_text("is marked as addressed").wait_for()
    assert instructor.locator(".theme.addressed .note").first.inner_text().endswith("Revisit at the start of lesson 2")
    screenshot(instructor, "reflections-review", tmp_path)


def test_a_student_fills_a_row_and_the_instructor_verifies_it(new_page, demo_pack):
    course = load_pack(demo_pack).course
    teacher = make_user("teacher", "Joseba Teacher")
    Membership.objects.create(user=teacher, course=course, role="instructor")
    student = make_user("alice", "Alice Martin")
    Membership.objects.create(user=student, course=course, role="student")
    homework = ComparisonHomework.objects.get()
    for position, name in enumerate(["Context window", "Openness"], start=1):
        criterion = Criterion.objects.create(homework=homework, name=name, position=position)
        criterion.suggestions.add(SuggestedCriterion.objects.get(name=name))
    homework.phase, homework.deadline = "table", timezone.now() + timedelta(days=7)
    homework.save()

    phone = new_page(viewport=PHONE)
    sign_in(phone, "alice", PASSWORD)
    phone.goto(f"/c/{course.slug}/")
    phone.get_by_role("link", name="LLM comparison").click()
    phone.get_by_label("DeepSeek-V3").check()
    phone.get_by_role("button", name="Research this model").click()
    phone.get_by_role("heading", name="Your row: DeepSeek-V3").wait_for()
    phone.get_by_label("Context window: Value").fill("128K tokens")
    phone.get_by_label("Context window: Source link").fill("https://github.com/deepseek-ai/DeepSeek-V3")
    phone.get_by_label("Openness: Value").fill("Open weights (MIT code, model licence)")
    phone.get_by_label("Openness: Source link").fill("not a link")
    phone.get_by_role("button", name="Save my row").click()
    phone.get_by_text("Give a full web address starting with https://").wait_for()
    phone.get_by_label("Openness: Source link").fill("https://huggingface.co/deepseek-ai/DeepSeek-V3")
    phone.get_by_role("button", name="Save my row").click()
    phone.get_by_text("Saved: 2 cells changed.").wait_for()
    assert fits_the_width(phone)
    assert TableEntry.objects.count() == 2

    instructor = new_page()
    sign_in(instructor, "teacher", PASSWORD)
    instructor.goto(homework.get_absolute_url())
    instructor.get_by_role("link", name="Class table").click()
    row = instructor.get_by_role("row", name="DeepSeek-V3")
    assert "128K tokens" in row.inner_text()
    assert "Alice Martin" in row.inner_text()
    row.get_by_role("link", name="Review Context window of DeepSeek-V3 by Alice Martin").click()
    instructor.get_by_role("button", name="Context window: verified").click()
    instructor.get_by_text("Context window: verified.").wait_for()
    instructor.get_by_label("Comment to the student (optional)").nth(1).fill("Cite the model card, not the repo.")
    instructor.get_by_role("button", name="Openness: needs a source").click()
    instructor.get_by_text("Openness: needs a source.").wait_for()
    assert sorted(TableEntry.objects.values_list("status", flat=True)) == ["needs_source", "verified"]

    phone.reload()
    phone.locator(".badge.ok", has_text="Verified").wait_for()
    assert "Cite the model card, not the repo." in phone.content()
