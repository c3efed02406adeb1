"""The grading process's own pool: started once, torch kept to one thread beside it, sound tests not re-run."""

from collections import OrderedDict

import torch

from graders import engine
from graders.code import exercise_files
from tests.conftest import SOFTMAX_EXERCISE


def test_a_grading_process_runs_torch_on_one_thread():
    assert engine.sandbox_pool() is engine.sandbox_pool()
    assert torch.get_num_threads() == 1


def test_tests_found_sound_are_not_graded_again_for_the_same_files(monkeypatch):
    files = exercise_files(SOFTMAX_EXERCISE)
    graded = []
    real_grade_code = engine.grade_code

    def counting_grade_code(*args, **kwargs):
        graded.append(args[1])
        return real_grade_code(*args, **kwargs)

    monkeypatch.setattr(engine, "grade_code", counting_grade_code)
    monkeypatch.setattr(engine, "_sound_versions", OrderedDict())
    assert engine.test_the_tests(files) == []
    assert graded == [files["solution.py"], files["starter.py"]]
    assert engine.test_the_tests(dict(files)) == []
    assert len(graded) == 2
    changed = {**files, "tests.py": files["tests.py"] + "\n"}
    assert engine.test_the_tests(changed) == []
    assert len(graded) == 4


def test_tests_found_unsound_are_checked_again(monkeypatch):
    files = {**exercise_files(SOFTMAX_EXERCISE), "starter.py": exercise_files(SOFTMAX_EXERCISE)["solution.py"]}
    monkeypatch.setattr(engine, "_sound_versions", OrderedDict())
    first = engine.test_the_tests(files)
    assert [problem.file for problem in first] == ["starter.py"]
    assert engine.test_the_tests(files) == first


def test_the_versions_found_sound_are_bounded_and_the_least_recently_used_goes_first(monkeypatch):
    """A web process sees a new version at every edit of an exercise; it keeps only the last ones."""
    files = exercise_files(SOFTMAX_EXERCISE)
    checked = []
    monkeypatch.setattr(engine, "_check_the_tests", lambda files: checked.append(files["tests.py"]) or [])
    monkeypatch.setattr(engine, "_sound_versions", OrderedDict())
    monkeypatch.setattr(engine, "SOUND_VERSIONS_KEPT", 3)
    versions = [{**files, "tests.py": files["tests.py"] + "\n" * n} for n in range(4)]
    for version in versions[:3]:
        assert engine.test_the_tests(version) == []
    assert engine.test_the_tests(versions[0]) == []  # used again: now the most recent
    assert len(checked) == 3
    assert engine.test_the_tests(versions[3]) == []  # a fourth: the least recently used (1) goes
    assert len(engine._sound_versions) == 3
    for kept in (versions[0], versions[2], versions[3]):
        assert engine.test_the_tests(kept) == []
    assert len(checked) == 4
    assert engine.test_the_tests(versions[1]) == []  # forgotten: checked again
    assert len(checked) == 5
