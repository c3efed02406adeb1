"""The `reflections/` folder of course packs: prompts with stable ids, kinds and anonymity."""

from courses.packs import load_pack
from reflections.models import ReflectionAnswer, ReflectionPrompt
from tests.conftest import pack_problems as problems

LESSON = "lessons/01-transformers"


def test_the_demo_lesson_has_the_seeds_three_prompts_and_two_summary_questions(db, demo_pack):
    report = load_pack(demo_pack)
    assert report.counts["reflections"] == {"created": 5}
    prompts = list(ReflectionPrompt.objects.order_by("position"))
    assert [(p.section, p.kind, p.anonymous) for p in prompts] == [
        ("Question time", "understood", False),
        ("Question time", "struggled", True),
        ("Question time", "curious", False),
        ("Summary", "open", False),
        ("Summary", "open", False),
    ]
    assert prompts[1].text == "Write down something you did not fully understand."
    assert "three main types of transformer models" in prompts[3].text
    assert "inference and the training" in prompts[4].text


def test_reloading_changes_nothing(db, pack):
    load_pack(pack)
    assert load_pack(pack).counts["reflections"] == {"unchanged": 5}


def test_a_prompt_removed_from_the_pack_is_archived_with_its_answers(db, pack):
    load_pack(pack)
    prompt = ReflectionPrompt.objects.get(position=4)
    ReflectionAnswer.objects.create(prompt=prompt, text="encoder, decoder, both")
    (pack / LESSON / "reflections" / "02-summary.toml").unlink()
    report = load_pack(pack)
    assert report.counts["reflections"]["archived"] == 2
    prompt.refresh_from_db()
    assert prompt.archived
    assert prompt.answers.count() == 1


def test_a_prompt_that_becomes_anonymous_forgets_the_names_on_its_answers(db, pack, cast):
    load_pack(pack)
    prompt = ReflectionPrompt.objects.get(kind="understood")
    answer = ReflectionAnswer.objects.create(prompt=prompt, student=cast.student, author_key="k" * 64, text="softmax")
    imported = ReflectionAnswer.objects.create(prompt=prompt, source="import", respondent="Zoé", text="argmax")
    path = pack / LESSON / "reflections" / "01-question-time.toml"
    path.write_text(path.read_text().replace(
        'kind = "understood"\n', 'kind = "understood"\nanonymous = true\n'))
    assert load_pack(pack).counts["reflections"] == {"updated": 1, "unchanged": 4}
    answer.refresh_from_db()
    imported.refresh_from_db()
    assert answer.student is None
    assert answer.author_key == "k" * 64
    assert imported.respondent == ""


def test_errors_name_the_file_and_line(pack):
    path = pack / LESSON / "reflections" / "01-question-time.toml"
    text = path.read_text()
    text = text.replace('kind = "struggled"', 'kind = "confused"').replace('kind = "curious"', 'knd = "curious"')
    path.write_text(text)
    found = problems(pack)
    lines = text.splitlines()
    confused = next(n for n, line in enumerate(lines, 1) if "confused" in line)
    typo = next(n for n, line in enumerate(lines, 1) if line.startswith("knd"))
    assert found == [
        f"{LESSON}/reflections/01-question-time.toml:{confused}: kind 'confused' is not one of: "
        "understood, struggled, curious, open",
        f"{LESSON}/reflections/01-question-time.toml:{typo}: unknown key `knd` (expected one of: anonymous, id, kind, "
        "text)",
    ]


def test_a_prompt_needs_an_id_and_a_text(pack):
    (pack / LESSON / "reflections" / "03-more.toml").write_text('[[prompt]]\nkind = "open"\n')
    assert problems(pack) == [
        f"{LESSON}/reflections/03-more.toml:1: missing required key `prompt.0.id`",
        f"{LESSON}/reflections/03-more.toml:1: missing required key `prompt.0.text`",
    ]


def test_other_files_in_the_folder_are_refused(pack):
    (pack / LESSON / "reflections" / "notes.md").write_text("hello")
    assert problems(pack) == [
        f"{LESSON}/reflections/notes.md: unexpected file: reflections/ holds .toml files of [[prompt]] tables"
    ]


def test_prompt_ids_must_be_unique_across_the_pack(pack):
    path = pack / LESSON / "reflections" / "02-summary.toml"
    path.write_text(path.read_text().replace("dc4cfb47-2a88-4078-afd0-008cb371e8e6",
                                             "14f9bee3-cf1f-43a1-8db2-f2b27f9c66c4"))
    assert any("is already used by" in problem for problem in problems(pack))
