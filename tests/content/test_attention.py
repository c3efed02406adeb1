"""The attention exercise: compared with F.scaled_dot_product_attention, and the scale and mask slips named."""

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
    assert graded.message("no_mask").startswith("Your softmax runs over the queries (dim=-2)")


def test_torch_attention_fails_its_own_test(exercise):
    source = """
    import torch.nn.functional as F

    def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
        return F.scaled_dot_product_attention(query, key, value, is_causal=causal)
    """
    graded = exercise.grade(source)
    assert not graded.test("built_from_matrix_products").passed
    message = graded.message("built_from_matrix_products")
    assert message.startswith("Your code ran ")
    assert "`torch.scaled_dot_product_attention`. That is torch's own attention" in message
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
