"""The attention exercise: compared with F.scaled_dot_product_attention, and the scale and mask slips named."""

import pytest

FOLDER = "08-attention"

ATTENTION = """
import math
import torch

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    scores = query @ key.transpose(-2, -1) {scale}
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool)
    if causal:
        allowed = {causal}
    if key_padding_mask is not None:
        allowed = allowed & {padding}.unsqueeze(-2)
    {softmax}
"""

MASK_THEN_SOFTMAX = (
    "weights = torch.softmax(scores.masked_fill(~allowed, float('-inf')), dim=-1)\n    return weights @ value"
)


def attention(scale="/ math.sqrt(query.shape[-1])", causal="allowed.tril()", padding="~key_padding_mask",
              softmax=MASK_THEN_SOFTMAX):
    source = ATTENTION
    for placeholder, text in (("{scale}", scale), ("{causal}", causal), ("{padding}", padding),
                              ("{softmax}", softmax)):
        source = source.replace(placeholder, text)
    return source


MASKED = ("no_mask", "padding_mask", "causal_mask", "padding_and_causal", "cross_attention")


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 14


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_the_attention_of_the_wrong_solutions_is_right_as_it_stands(exercise):
    assert exercise.grade(attention()).score == 14


def test_attention_without_the_scale_is_told_to_divide_by_the_square_root(exercise):
    graded = exercise.grade(attention(scale=""))
    assert graded.failed_visible == {"built_from_matrix_products", *MASKED}
    assert graded.score == 0
    assert graded.message("no_mask") == (
        "Your output is attention without the scale: divide the scores Q K^T by sqrt(d_k) before the softmax. "
        "(your output differs from F.scaled_dot_product_attention's.)"
    )


def test_a_scale_of_one_over_d_is_named(exercise):
    graded = exercise.grade(attention(scale="/ query.shape[-1]"))
    assert graded.message("no_mask").startswith("You divided the scores by d_k: divide them by its square root")


def test_a_mask_applied_after_the_softmax_is_explained(exercise):
    graded = exercise.grade(attention(softmax="return torch.softmax(scores, dim=-1) * allowed @ value"))
    assert graded.test("no_mask").passed
    assert graded.failed_visible == {"padding_mask", "causal_mask", "padding_and_causal", "cross_attention"}
    assert graded.score == 3
    assert graded.message("causal_mask").startswith(
        "You applied the mask after the softmax: the masked weights are 0, but the others no longer sum to 1."
    )


def test_masked_scores_set_to_zero_are_told_to_use_minus_infinity(exercise):
    graded = exercise.grade(attention(softmax=MASK_THEN_SOFTMAX.replace("float('-inf')", "0.0")))
    assert graded.message("padding_mask").startswith(
        "You set the masked scores to 0, which is an ordinary score: exp(0) = 1 still gives those keys weight."
    )


def test_an_inverted_padding_mask_is_named(exercise):
    graded = exercise.grade(attention(padding="key_padding_mask"))
    assert graded.test("causal_mask").passed
    assert graded.score == 6
    assert graded.message("padding_mask").startswith(
        "Your mask hides the real keys and keeps the padding: key_padding_mask is True at padding"
    )


def test_a_causal_mask_the_wrong_way_round_is_named(exercise):
    graded = exercise.grade(attention(causal="allowed.triu()"))
    assert graded.failed_visible == {"causal_mask", "padding_and_causal"}
    assert graded.score == 6
    assert graded.message("causal_mask").startswith(
        "Your causal mask lets position i see the positions after it and not those before"
    )


def test_a_causal_mask_that_hides_the_diagonal_is_named(exercise):
    graded = exercise.grade(attention(causal="allowed.tril(-1)"))
    assert graded.message("causal_mask").startswith(
        "Your causal mask also hides the diagonal: position i may see itself"
    )


def test_a_softmax_over_the_queries_is_named(exercise):
    graded = exercise.grade(attention(softmax=MASK_THEN_SOFTMAX.replace("dim=-1", "dim=-2")))
    assert graded.message("no_mask").startswith("Your softmax runs over the queries (dim=-2, ")


def test_torch_attention_fails_its_own_test(exercise):
    source = """
    import torch.nn.functional as F

    def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
        return F.scaled_dot_product_attention(query, key, value, is_causal=causal)
    """
    graded = exercise.grade(source)
    assert not graded.test("built_from_matrix_products").passed
    message = graded.message("built_from_matrix_products")
    assert message.startswith("Your code ran `aten::scaled_dot_product_attention`. That is torch's own attention")
    assert graded.message("built_from_matrix_products").endswith("Look at line 5 (`scaled_dot_product_attention`).")
    assert graded.test("no_mask").passed


def test_a_helper_method_named_like_torchs_attention_gets_full_marks(exercise):
    # A real submission's shape: the attention is the student's own, in a method of the same name.
    source = """
    import math
    import torch

    class Attention:
        def scaled_dot_product_attention(self, query, key, value, allowed):
            scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
            weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
            return torch.nan_to_num(weights, nan=0.0) @ value

    def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
        length, source_length = query.shape[-2], key.shape[-2]
        allowed = torch.ones(length, source_length, dtype=torch.bool)
        if causal:
            allowed = allowed.tril()
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask[:, None, :]
        return Attention().scaled_dot_product_attention(query, key, value, allowed)
    """
    graded = exercise.grade(source)
    assert graded.score == graded.max_score, graded.verdict


# Real-code shapes of the mistakes the tests must name, each as a student would write it.
PADDING_MASK_FORGOTTEN = """
import math
import torch

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    if causal:
        L, S = scores.shape[-2], scores.shape[-1]
        future = torch.triu(torch.ones(L, S, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, value)
"""

NO_SOFTMAX_AT_ALL = """
import math
import torch

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    scores = query @ key.transpose(1, 2) / math.sqrt(query.shape[-1])
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, :], 0.0)
    if causal:
        scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), 0.0)
    return scores @ value
"""

MASK_AFTER_THE_SOFTMAX = """
import math
import torch
import torch.nn.functional as F

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    scores = torch.bmm(query, key.transpose(1, 2)) / math.sqrt(query.size(-1))
    weights = F.softmax(scores, dim=-1)
    hide = torch.zeros_like(weights, dtype=torch.bool)
    if key_padding_mask is not None:
        hide = hide | key_padding_mask.unsqueeze(1)
    if causal:
        hide = hide | torch.triu(torch.ones(weights.shape[-2:], dtype=torch.bool), 1)
    weights = weights.masked_fill(hide, 0.0)
    return torch.bmm(weights, value)
"""

SOFTMAX_OVER_THE_BATCH = """
import math
import torch

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask.unsqueeze(1), float("-inf"))
    if causal:
        scores = scores.masked_fill(torch.ones(scores.shape[-2:]).triu(1).bool(), float("-inf"))
    weights = torch.softmax(scores, dim=0)
    return weights @ value
"""


def test_a_forgotten_padding_mask_is_told_that_padded_keys_get_attention(exercise):
    graded = exercise.grade(PADDING_MASK_FORGOTTEN)
    assert graded.test("causal_mask").passed
    assert graded.test("no_mask").passed
    assert {"padding_mask", "padding_and_causal", "cross_attention"} <= graded.failed_visible
    for name in ("padding_mask", "padding_and_causal", "cross_attention"):
        assert graded.message(name).startswith(
            "Padded keys get attention: your output changes when the keys and values at padding positions change."
        ), graded.message(name)


def test_attention_without_a_softmax_is_told_its_weights_do_not_sum_to_one(exercise):
    graded = exercise.grade(NO_SOFTMAX_AT_ALL)
    assert graded.score == 0
    message = graded.message("no_mask")
    assert message.startswith("Your attention weights do not sum to 1 over the keys (a query's weights sum to ")
    assert "must go through a softmax over the keys (dim=-1)" in message


def test_a_mask_applied_after_the_softmax_is_named_however_it_is_written(exercise):
    graded = exercise.grade(MASK_AFTER_THE_SOFTMAX)
    assert graded.test("no_mask").passed
    for name in ("padding_mask", "causal_mask", "padding_and_causal", "cross_attention"):
        assert graded.message(name).startswith("You applied the mask after the softmax"), graded.message(name)


def test_a_softmax_over_the_batch_is_named_as_the_batch_not_the_queries(exercise):
    graded = exercise.grade(SOFTMAX_OVER_THE_BATCH)
    assert graded.message("no_mask").startswith("Your softmax runs over the batch (dim=0)")
    assert graded.message("causal_mask").startswith("Your softmax runs over the batch (dim=0)")
    # One sentence with one query: the batch and the queries cannot be told apart, and the hint says so.
    assert graded.message("built_from_matrix_products").startswith(
        "Your softmax runs over the queries or over the batch, not over the keys"
    )


def test_a_softmax_over_dim_one_is_named_as_the_queries(exercise):
    graded = exercise.grade(attention(softmax=MASK_THEN_SOFTMAX.replace("dim=-1", "dim=1")))
    assert graded.message("no_mask").startswith("Your softmax runs over the queries (dim=-2, or dim=1")
    assert graded.message("padding_mask").startswith("Your softmax runs over the queries")


def test_hidden_attention_tests_say_what_kind_of_case_failed(exercise):
    graded = exercise.grade(attention(scale="/ query.shape[-1]"))
    hidden = [outcome for outcome in graded.verdict.tests if not outcome.visible and not outcome.passed]
    assert hidden
    for outcome in hidden:
        assert outcome.message.startswith("A hidden test"), outcome.message


# The Annotated Transformer's shape, common in real code: the masked scores filled with a finite -1e9
# (or -1e4, or -inf), then `scores.softmax(dim=-1)`; {softmax} is where students slip.
ANNOTATED = """
import math
import torch

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    mask = torch.ones(scores.shape, dtype=torch.bool)
    if key_padding_mask is not None:
        mask = mask & ~key_padding_mask.{padding}
    if causal:
        mask = mask & torch.tril(torch.ones(scores.shape[-2:], dtype=torch.bool))
    scores = scores.masked_fill(mask == 0, {fill})
    p_attn = {softmax}
    return torch.matmul(p_attn, value)
"""
FILLS = ("-1e9", "-1e4", "float('-inf')")
WITH_PADDING = ("padding_mask", "padding_and_causal", "cross_attention")
WITH_A_MASK = ("padding_mask", "causal_mask", "padding_and_causal", "cross_attention")


def annotated(fill, softmax="scores.softmax(dim=-1)", padding="unsqueeze(1)"):
    return ANNOTATED.replace("{fill}", fill).replace("{softmax}", softmax).replace("{padding}", padding)


@pytest.mark.parametrize("fill", FILLS)
def test_masked_scores_filled_with_a_large_finite_number_get_full_marks(exercise, fill):
    graded = exercise.grade(annotated(fill))
    assert graded.score == graded.max_score == 14, graded.verdict


@pytest.mark.parametrize("fill", FILLS)
def test_attention_without_a_softmax_is_told_so_and_never_that_its_masks_leak(exercise, fill):
    graded = exercise.grade(annotated(fill, softmax="scores"))
    for name in ("no_mask", *WITH_A_MASK):
        message = graded.message(name)
        assert message.startswith("Your attention weights do not sum to 1 over the keys ("), message
        assert "must go through a softmax over the keys (dim=-1)" in message
        assert "Padded keys get attention" not in message
        assert "attends to positions after it" not in message
    if fill == "float('-inf')":
        assert "Some of your output is inf or nan: without a softmax, a masked score of -inf" in graded.message(
            "causal_mask"
        )
    else:
        assert f"The masked pairs get weights of about {float(fill):.3g}" in graded.message("padding_mask")


@pytest.mark.parametrize("fill", FILLS)
def test_a_softmax_over_the_queries_is_named_whatever_fills_the_masked_scores(exercise, fill):
    graded = exercise.grade(annotated(fill, softmax="scores.softmax(dim=-2)"))
    for name in ("no_mask", *WITH_A_MASK):
        assert graded.message(name).startswith("Your softmax runs over the queries (dim=-2"), graded.message(name)


@pytest.mark.parametrize("fill", FILLS)
def test_a_softmax_over_the_batch_is_named_whatever_fills_the_masked_scores(exercise, fill):
    graded = exercise.grade(annotated(fill, softmax="scores.softmax(dim=0)"))
    for name in ("no_mask", *WITH_A_MASK):
        assert graded.message(name).startswith("Your softmax runs over the batch (dim=0)"), graded.message(name)


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("padding", ["unsqueeze(-1)", "unsqueeze(2)"])
def test_a_padding_mask_spread_over_the_queries_is_named(exercise, fill, padding):
    graded = exercise.grade(annotated(fill, padding=padding))
    assert graded.test("no_mask").passed
    assert graded.test("causal_mask").passed
    for name in ("padding_mask", "padding_and_causal"):
        assert graded.message(name).startswith(
            "Your padding mask hides the padded queries, which must still attend to the real keys"
        ), graded.message(name)


def test_a_padding_mask_over_the_queries_and_the_keys_is_named(exercise):
    graded = exercise.grade(annotated("-1e9", padding="unsqueeze(1) & ~key_padding_mask.unsqueeze(-1)"))
    assert graded.message("padding_mask").startswith("Your padding mask hides the padded queries")


@pytest.mark.parametrize("fill", FILLS)
def test_a_forgotten_padding_mask_is_found_by_moving_the_padded_keys(exercise, fill):
    graded = exercise.grade(annotated(fill).replace("mask = mask & ~key_padding_mask.unsqueeze(1)", "pass"))
    assert graded.test("causal_mask").passed
    for name in WITH_PADDING:
        assert graded.message(name).startswith("Padded keys get attention: your output changes when the keys and "
                                               "values at padding positions change."), graded.message(name)


def test_dividing_by_the_square_root_of_the_values_size_is_named(exercise):
    graded = exercise.grade(annotated("-1e9").replace("math.sqrt(d_k)", "math.sqrt(value.size(-1))"))
    # d_v = d_k in the tests of the masks; one value per key (d_v = 1) and d_v = 5 here tell them apart.
    assert graded.failed_visible == {"built_from_matrix_products", "cross_attention"}
    for name in graded.failed_visible:
        assert graded.message(name).startswith("You divided the scores by sqrt(d_v), the size of the values"), (
            graded.message(name)
        )
