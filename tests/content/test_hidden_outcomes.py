"""Hidden tests that never reached their check say so: the author's diagnosis is only for a wrong answer."""

import pytest

from tests.content.conftest import CodeExercise

# The author's sentences for a wrong answer, which an answer never given must not get.
CROSS_ENTROPY_DIAGNOSES = ("Subtract each position's own maximum", "must keep the dtype", "Only the real tokens count",
                           "needs its own maximum", "adds nothing to the sum")


@pytest.fixture(scope="module")
def cross_entropy(pool):
    return CodeExercise("02-cross-entropy", pool)


@pytest.fixture(scope="module")
def softmax(pool):
    return CodeExercise("01-softmax", pool)


def hidden_outcomes(graded):
    outcomes = [outcome for outcome in graded.verdict.tests if not outcome.visible]
    assert outcomes
    return outcomes


def test_hidden_tests_of_code_that_does_not_load_say_they_were_not_run(cross_entropy):
    # A real slip: the colon of the def forgotten.
    graded = cross_entropy.grade("""
    import torch

    def cross_entropy(logits, labels, ignore_index=-100)
        log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        mask = labels != ignore_index
        picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return -(picked * mask).sum() / mask.sum()
    """)
    assert graded.verdict.message.startswith("Line 4: ")
    for outcome in hidden_outcomes(graded):
        assert outcome.message == "Not run: your code did not load.", outcome.message


def test_hidden_tests_after_the_time_is_spent_say_they_were_not_run(cross_entropy):
    # A real slip: the loop's counter is never moved on.
    graded = cross_entropy.grade("""
    import torch

    def cross_entropy(logits, labels, ignore_index=-100):
        flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
        total, count, i = 0.0, 0, 0
        while i < flat_labels.shape[0]:
            if flat_labels[i] != ignore_index:
                row = flat_logits[i]
                total = total - (row[flat_labels[i]] - torch.logsumexp(row, dim=0))
                count += 1
        return total / count
    """)
    assert graded.score == 0
    for outcome in hidden_outcomes(graded):
        assert outcome.message.startswith("Not run: your code used up this submission's time"), outcome.message
        assert not any(diagnosis in outcome.message for diagnosis in CROSS_ENTROPY_DIAGNOSES)


def test_a_hidden_test_in_which_the_code_raised_says_so_without_the_inputs(softmax):
    # A real slip: the maximum and the sum without keepdim, which only fits the visible tests' 2-D rows by chance
    # when they are square; the hidden float64 test is (2, 3, 4) along dim=1.
    graded = softmax.grade("""
    import torch

    def softmax(logits, dim=-1):
        exps = torch.exp(logits - logits.max(dim=dim).values)
        return exps / exps.sum(dim=dim)
    """)
    message = graded.message("float64_in_three_dimensions")
    assert message == (
        "Your code raised RuntimeError in this hidden test (its details would show the test's inputs)."
    )
    assert "dtype" not in message


def test_a_hidden_test_whose_check_failed_still_says_what_kind_of_case_failed(softmax):
    graded = softmax.grade("""
    import torch

    def softmax(logits, dim=-1):
        biggest = torch.max(logits)
        numerator = torch.exp(logits - biggest)
        return numerator / torch.sum(numerator, dim=dim, keepdim=True)
    """)
    assert graded.message("logits_around_a_thousand").startswith("A hidden test with logits around 1000 failed")
