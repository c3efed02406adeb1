"""'Build it yourself' rules hold whatever the submission does in its own process.

Each file under build_it_yourself/<exercise>/ is a submission that reaches torch's ready-made
softmax, loss or attention some way (the kernel under another name, a tensor of another kind,
with torch's function and dispatch modes disabled, the record of what ran cleared, torch's own
Python implementations, a kernel of its own registered over torch's, the toy model's attention
found in memory...). Its first line says what the rule's test must report it ran (or that it
may run out of time first). The rule's
test fails with that, saying why and where; the tests without the rule still grade the values;
and the course's own solution, graded next by the same pool, gets full marks.
"""

from pathlib import Path

import pytest

from graders.code import grade_code
from tests.conftest import ROOT
from tests.security.conftest import settled

ATTACKS = Path(__file__).parent / "build_it_yourself"
COURSE = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises"
EXERCISES = {
    "softmax": ("01-softmax", "built_from_exp_sum_and_max"),
    "cross_entropy": ("02-cross-entropy", "built_from_your_own_log_softmax"),
    "attention": ("08-attention", "built_from_matrix_products"),
}
CASES = sorted(ATTACKS.glob("*/*.py"))


@pytest.mark.parametrize("attack", CASES, ids=[f"{path.parent.name}-{path.stem}" for path in CASES])
def test_torchs_ready_made_piece_fails_the_rules_test_however_it_is_reached(pool, attack):
    folder, rule_test = EXERCISES[attack.parent.name]
    source = attack.read_text()
    ran, may_time_out, _ = source.splitlines()[0].removeprefix("# ran: ").partition(", or the time limit")
    verdict = grade_code(COURSE / folder, source, pool)
    assert verdict.status == "graded", verdict.message
    outcome = next(test for test in verdict.tests if test.name == rule_test)
    assert not outcome.passed
    if not (may_time_out and outcome.message.startswith("Time limit of 2 s exceeded in test")):
        assert outcome.message.startswith(f"Your code ran `{ran}`. That is torch's"), outcome.message
    assert verdict.score <= verdict.max_score - outcome.max_points
    assert settled(pool)
    solution = (COURSE / folder / "solution.py").read_text()
    after = grade_code(COURSE / folder, solution, pool)
    assert (after.status, after.score) == ("graded", after.max_score), after.message


def test_a_forbidden_call_fails_its_own_test_and_no_other(pool):
    # torch.softmax itself, the most common case: 12 of 13.
    verdict = grade_code(
        COURSE / "01-softmax", "import torch\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n", pool
    )
    assert [test.name for test in verdict.tests if not test.passed] == ["built_from_exp_sum_and_max"]


def test_the_attacks_cover_each_exercise_with_a_rule():
    assert {path.parent.name for path in CASES} == set(EXERCISES)
    assert len(CASES) >= 25


def sandboxes_taken(pool, monkeypatch, folder, source):
    taken = []
    acquire = pool.acquire

    def counting(*args, **kwargs):
        taken.append(kwargs.get("unavailable"))
        return acquire(*args, **kwargs)

    monkeypatch.setattr(pool, "acquire", counting)
    return grade_code(COURSE / folder, source, pool), taken


def test_a_submission_that_builds_it_itself_is_graded_in_the_rules_sandbox_alone(pool, monkeypatch):
    folder = "01-softmax"
    verdict, taken = sandboxes_taken(pool, monkeypatch, folder, (COURSE / folder / "solution.py").read_text())
    assert verdict.score == verdict.max_score
    assert len(taken) == 1
    assert taken[0] is not None  # the rule's sandbox


def test_tests_failed_only_because_of_the_rule_are_graded_again_in_a_plain_sandbox(pool, monkeypatch):
    source = "import torch\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n"
    verdict, taken = sandboxes_taken(pool, monkeypatch, "01-softmax", source)
    assert [test.name for test in verdict.tests if not test.passed] == ["built_from_exp_sum_and_max"]
    assert taken[0] is not None
    assert taken[1:] == [None]


def test_a_module_that_needs_torchs_softmax_while_loading_fails_the_rules_test_only(pool):
    solution = (COURSE / "01-softmax" / "solution.py").read_text()
    source = solution + "\nHALF = torch.softmax(torch.zeros(2), 0)\n"
    verdict = grade_code(COURSE / "01-softmax", source, pool)
    failed = [test for test in verdict.tests if not test.passed]
    assert [test.name for test in failed] == ["built_from_exp_sum_and_max"]
    assert failed[0].message.startswith("Your code ran `aten::softmax` while loading. That is torch's own softmax")
