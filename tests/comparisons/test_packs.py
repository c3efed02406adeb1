"""The `comparisons/` folder of course packs: the homework, its list of models and suggested criteria."""

from comparisons.models import ComparedModel, ComparisonHomework, ModelPick, SuggestedCriterion
from courses.packs import load_pack
from tests.conftest import pack_problems as problems

FILE = "lessons/01-transformers/comparisons/llm-comparison.toml"


def test_the_demo_homework_lists_the_seeds_models(db, demo_pack):
    report = load_pack(demo_pack)
    assert report.counts["comparisons"] == {"created": 1}
    homework = ComparisonHomework.objects.get()
    assert homework.phase == "criteria"
    assert homework.max_points == 10
    assert [m.name for m in homework.active_models()] == [
        "GPT-4o", "Claude", "Gemini", "Llama 3.1 405B", "DeepSeek-V3", "Mistral Large", "Lucie"]
    assert SuggestedCriterion.objects.count() == 7
    assert "<strong>Homework:</strong>" in homework.instructions_html


def test_reloading_changes_nothing(db, pack):
    load_pack(pack)
    assert load_pack(pack).counts["comparisons"] == {"unchanged": 1}


def test_a_model_removed_from_the_pack_is_archived_and_picks_are_kept(db, pack, cast):
    load_pack(pack)
    homework = ComparisonHomework.objects.get()
    lucie = ComparedModel.objects.get(name="Lucie")
    ModelPick.objects.create(homework=homework, student=cast.student, model=lucie)
    path = pack / FILE
    text = path.read_text()
    start = text.index('[[model]]\nid = "c7331a50')
    path.write_text(text[:start] + text[text.index("[[suggested_criterion]]"):])
    assert load_pack(pack).counts["comparisons"] == {"updated": 1}
    lucie.refresh_from_db()
    assert lucie.archived
    assert ModelPick.objects.get().model == lucie
    assert "Lucie" not in [m.name for m in homework.active_models()]


def test_a_homework_needs_models(pack):
    path = pack / FILE
    text = path.read_text()
    path.write_text(text[:text.index("[[model]]")])
    assert problems(pack) == [f"{FILE}:1: missing required key `model`"]


def test_errors_name_the_file_and_line(pack):
    path = pack / FILE
    text = path.read_text().replace('points = 10', 'points = "ten"').replace('name = "Claude"', 'nom = "Claude"')
    path.write_text(text)
    lines = text.splitlines()
    points = next(n for n, line in enumerate(lines, 1) if line.startswith("points"))
    nom = next(n for n, line in enumerate(lines, 1) if line.startswith("nom"))
    found = problems(pack)
    assert f"{FILE}:{points}: `points` must be a whole number or a number, not text" in found
    assert f"{FILE}:{nom}: unknown key `nom` (expected one of: id, maker, name)" in found
    assert f"{FILE}:{nom - 2}: missing required key `model.1.name`" in found


def test_a_model_listed_twice_is_refused(pack):
    path = pack / FILE
    path.write_text(path.read_text().replace('name = "Claude"', 'name = "GPT-4o"'))
    assert any("the model 'GPT-4o' is listed twice" in problem for problem in problems(pack))
