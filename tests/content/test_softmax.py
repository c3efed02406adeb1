"""The softmax exercise: full marks for the reference, and the overflow explained to a naive exp."""

FOLDER = "01-softmax"

NAIVE = """
import torch

def softmax(logits, dim=-1):
    exponentials = logits.exp()
    return exponentials / exponentials.sum(dim=dim, keepdim=True)
"""

WHOLE_TENSOR_MAXIMUM = """
import torch

def softmax(logits, dim=-1):
    exponentials = (logits - logits.max()).exp()
    return exponentials / exponentials.sum(dim=dim, keepdim=True)
"""

ALWAYS_THE_LAST_DIMENSION = """
import torch

def softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)
"""

TORCH_SOFTMAX = """
import torch.nn.functional as F

def softmax(logits, dim=-1):
    return F.softmax(logits, dim=dim)
"""


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 13


def test_the_starter_gets_nothing(exercise):
    graded = exercise.grade_file("starter.py")
    assert graded.score == 0
    assert "NotImplementedError" in graded.message("lesson_example")


def test_a_naive_exp_is_told_about_overflow_and_the_maximum_trick(exercise):
    graded = exercise.grade(NAIVE)
    assert graded.failed == {
        "logits_around_a_hundred", "logits_around_a_thousand", "logits_around_minus_a_thousand",
        "one_slice_from_minus_to_plus_a_thousand",
    }
    assert graded.score == 8
    message = graded.message("logits_around_a_hundred")
    assert "for the row of logits around +100" in message
    assert "exp(z) overflows to inf for z above about 88.7, and inf / inf = nan" in message
    assert "Subtract the largest logit of each slice along `dim`" in message


def test_subtracting_the_maximum_of_the_whole_tensor_is_caught_on_rows_far_apart(exercise):
    graded = exercise.grade(WHOLE_TENSOR_MAXIMUM)
    assert graded.failed == {"logits_around_a_hundred", "logits_around_a_thousand", "logits_around_minus_a_thousand"}
    assert graded.score == 9
    message = graded.message("logits_around_a_hundred")
    assert "you probably subtracted the maximum of the whole tensor" in message
    assert "`logits.amax(dim=dim, keepdim=True)`" in message


def test_a_softmax_that_ignores_dim_is_told_which_dimension_it_used(exercise):
    graded = exercise.grade(ALWAYS_THE_LAST_DIMENSION)
    assert graded.failed == {
        "along_the_given_dimension", "one_slice_from_minus_to_plus_a_thousand", "float64_in_three_dimensions"
    }
    assert graded.message("along_the_given_dimension") == (
        "With dim=0, your output sums to 1 along the last dimension instead of dimension 0. "
        "Use `dim` in every reduction (the maximum and the sum), not -1."
    )


def test_torch_softmax_fails_its_own_test_and_says_where_it_is_used(exercise):
    graded = exercise.grade(TORCH_SOFTMAX)
    assert graded.failed == {"built_from_exp_sum_and_max"}
    assert graded.score == 12
    assert graded.message("built_from_exp_sum_and_max").startswith(
        "Your code ran `torch.nn.functional.softmax`. That is torch's own softmax: in this exercise you build it "
        "yourself"
    )
    assert graded.message("built_from_exp_sum_and_max").endswith("Look at line 5 (`softmax`).")


def test_torch_softmax_reached_through_a_built_name_is_caught_by_what_ran(exercise):
    graded = exercise.grade("""
import torch

def softmax(logits, dim=-1):
    return getattr(torch, "soft" + "max")(logits, dim)
""")
    assert graded.failed == {"built_from_exp_sum_and_max"}
    assert graded.message("built_from_exp_sum_and_max").startswith("Your code ran `aten::softmax`.")


def test_torch_softmax_run_in_another_thread_fails_the_rule_and_only_the_rule(exercise):
    graded = exercise.grade("""
import concurrent.futures, torch

def softmax(logits, dim=-1):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(torch.softmax, logits, dim).result()
""")
    assert graded.failed == {"built_from_exp_sum_and_max"}
    # The thread shares the process, and the process has no softmax kernel.
    assert graded.message("built_from_exp_sum_and_max").startswith("Your code ran `aten::softmax`. That is torch's")


def test_a_method_of_your_own_named_softmax_is_not_torchs(exercise):
    graded = exercise.grade("""
import torch

class Normalizer:
    def softmax(self, logits, dim):
        shifted = logits - logits.amax(dim=dim, keepdim=True)
        return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)

def softmax(logits, dim=-1):
    return Normalizer().softmax(logits, dim)
""")
    assert graded.score == graded.max_score == 13


def test_hidden_tests_say_what_kind_of_case_failed_and_keep_the_rest_to_themselves(exercise):
    graded = exercise.grade(NAIVE)
    hidden = graded.test("logits_around_a_thousand")
    assert not hidden.visible
    assert (hidden.passed, hidden.stdout) == (False, "")
    assert hidden.message.startswith("A hidden test with logits around 1000 failed, its rows hundreds apart.")
    assert "nan" not in hidden.message
    assert "index" not in hidden.message


def test_a_softmax_that_takes_the_maximum_of_the_whole_batch_fails_the_hidden_tests_too(exercise):
    # The shape of a real submission: one maximum over every row, as a Python float.
    graded = exercise.grade("""
    import torch

    def softmax(logits, dim=-1):
        biggest = torch.max(logits)
        numerator = torch.exp(logits - biggest)
        denominator = torch.sum(numerator, dim=dim, keepdim=True)
        return numerator / denominator
    """)
    assert {"logits_around_a_thousand", "logits_around_minus_a_thousand"} <= graded.failed
    assert "each row's own maximum" in graded.message("logits_around_a_thousand")

