"""The cross-entropy exercise: padding ignored, compared with F.cross_entropy, and the usual mistakes named."""

FOLDER = "02-cross-entropy"

# The parts every wrong solution below shares: a stable log-softmax and the label gather.
LOG_SOFTMAX = """
import torch

def log_softmax(logits):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()

def token_losses(logits, labels, ignore_index):
    kept = labels != ignore_index
    picked = log_softmax(logits).gather(-1, labels.masked_fill(~kept, 0).unsqueeze(-1)).squeeze(-1)
    return -picked * kept, kept
"""

LOG_OF_SOFTMAX = """
import torch

def cross_entropy(logits, labels, ignore_index=-100):
    probabilities = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)
    kept = labels != ignore_index
    picked = probabilities.gather(-1, labels.masked_fill(~kept, 0).unsqueeze(-1)).squeeze(-1)
    return -(picked.log() * kept).sum() / kept.sum()
"""

DIVIDED_BY_ALL_POSITIONS = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits, labels, ignore_index)
    return losses.sum() / labels.numel()
"""

MEAN_OF_SENTENCE_MEANS = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits, labels, ignore_index)
    return (losses.sum(dim=1) / kept.sum(dim=1)).mean()
"""

PADDING_NOT_MASKED = """
import torch

def cross_entropy(logits, labels, ignore_index=-100):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    log_probabilities = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
    return -log_probabilities.gather(-1, labels.unsqueeze(-1)).mean()
"""

PADDING_COUNTED_ZERO = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits, labels.clamp(min=0), ignore_index)
    return losses.mean()
"""

HARD_CODED_IGNORE_INDEX = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits, labels, -100)
    return losses.sum() / kept.sum()
"""

THROUGH_ITEM = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits, labels, ignore_index)
    return torch.tensor((losses.sum() / kept.sum()).item())
"""

TORCH_CROSS_ENTROPY = """
import torch.nn.functional as F

def cross_entropy(logits, labels, ignore_index=-100):
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=ignore_index)
"""

VISIBLE = {
    "built_from_your_own_log_softmax", "one_sentence_without_padding", "padding_is_ignored",
    "the_given_ignore_index", "gradient_matches_torch", "a_confidently_wrong_prediction",
}  # fmt: skip


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 16


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_log_of_softmax_is_told_why_a_confident_mistake_gives_infinity(exercise):
    graded = exercise.grade(LOG_OF_SOFTMAX)
    assert graded.failed == {"a_confidently_wrong_prediction", "logits_around_a_thousand", "gradient_for_large_logits"}
    assert graded.score == 12
    message = graded.message("a_confidently_wrong_prediction")
    assert message.startswith("Your loss is inf; expected ")
    assert "rounds to 0 in float32, and log(0) = -inf" in message
    assert "never as log(softmax(z))" in message


def test_dividing_by_every_position_is_told_to_count_real_tokens_only(exercise):
    graded = exercise.grade(DIVIDED_BY_ALL_POSITIONS)
    assert graded.failed_visible == {"padding_is_ignored", "the_given_ignore_index", "gradient_matches_torch"}
    assert graded.score == 5
    assert graded.message("padding_is_ignored").startswith(
        "Your loss equals the sum of the real tokens' losses divided by all batch * seq_len positions"
    )


def test_a_mean_of_sentence_means_is_explained(exercise):
    graded = exercise.grade(MEAN_OF_SENTENCE_MEANS)
    assert graded.failed_visible == {"padding_is_ignored", "the_given_ignore_index", "gradient_matches_torch"}
    assert graded.score == 5
    assert graded.message("padding_is_ignored").startswith(
        "Your loss equals the mean over sentences of each sentence's mean loss."
    )
    assert "a_sentence_that_is_only_padding" in graded.failed


def test_indexing_with_the_ignore_index_shows_the_error_and_what_to_do(exercise):
    graded = exercise.grade(PADDING_NOT_MASKED)
    assert not graded.test("padding_is_ignored").passed
    message = graded.message("padding_is_ignored")
    assert "out of bounds" in message
    assert "The labels hold -100 at padding positions, which is not a token id" in message
    assert graded.test("one_sentence_without_padding").passed


def test_padding_counted_as_token_zero_is_named(exercise):
    graded = exercise.grade(PADDING_COUNTED_ZERO)
    assert graded.message("padding_is_ignored").startswith(
        "Your loss counts the padding positions as if their label were token 0."
    )


def test_a_hard_coded_ignore_index_is_told_to_use_the_argument(exercise):
    graded = exercise.grade(HARD_CODED_IGNORE_INDEX)
    assert graded.failed == {"the_given_ignore_index"}
    assert graded.score == 15
    assert graded.message("the_given_ignore_index").startswith(
        "With ignore_index=0, your loss still treats the positions labelled 0 as tokens"
    )


def test_a_loss_detached_through_item_is_told_that_no_gradient_flows(exercise):
    graded = exercise.grade(THROUGH_ITEM)
    # torch.tensor(a float) is float32 whatever the logits were.
    assert graded.failed == {"gradient_matches_torch", "gradient_for_large_logits", "float64_logits"}
    assert "No gradient flows back through the output" in graded.message("gradient_matches_torch")


def test_f_cross_entropy_fails_its_own_test_and_says_where_it_is_used(exercise):
    graded = exercise.grade(TORCH_CROSS_ENTROPY)
    assert graded.failed_visible == {"built_from_your_own_log_softmax"}
    message = graded.message("built_from_your_own_log_softmax")
    assert message.startswith("Your code ran `torch.nn.functional.cross_entropy`. That is torch's ready-made loss")
    assert "line 5 (`cross_entropy`)" in message


# The shape of a real submission: one maximum for the whole batch, then a masked mean.
ONE_MAXIMUM_FOR_THE_BATCH = """
import torch

def cross_entropy(logits, labels, ignore_index=-100):
    m = logits.max()
    log_probs = logits - m - torch.log(torch.sum(torch.exp(logits - m), dim=-1, keepdim=True))
    mask = labels != ignore_index
    safe_labels = torch.where(mask, labels, torch.zeros_like(labels))
    nll = -torch.gather(log_probs, -1, safe_labels.unsqueeze(-1)).squeeze(-1)
    return nll[mask].sum() / mask.sum()
"""


def test_one_maximum_for_the_whole_batch_fails_the_tests_whose_positions_are_far_apart(exercise):
    graded = exercise.grade(ONE_MAXIMUM_FOR_THE_BATCH)
    assert graded.failed == {"a_confidently_wrong_prediction", "logits_around_a_thousand", "gradient_for_large_logits"}
    assert graded.score == 12
    message = graded.message("logits_around_a_thousand")
    assert message.startswith("A hidden test with logits around 1000 failed, the positions' logits up to 500 apart.")
    assert "Subtract each position's own maximum" in message


def test_one_maximum_for_the_whole_batch_is_named_by_a_visible_test(exercise):
    message = exercise.grade(ONE_MAXIMUM_FOR_THE_BATCH).message("a_confidently_wrong_prediction")
    assert message.startswith(
        "Your loss equals a log-softmax that subtracts one maximum shared by several positions (such as "
        "logits.max(), the whole batch's) instead of each position's own"
    )
    assert "logits.amax(dim=-1, keepdim=True)" in message
    assert "log(softmax(z))" not in message


def test_one_maximum_for_each_sentence_is_named_too(exercise):
    source = ONE_MAXIMUM_FOR_THE_BATCH.replace("m = logits.max()", "m = logits.amax(dim=(1, 2), keepdim=True)")
    message = exercise.grade(source).message("a_confidently_wrong_prediction")
    assert message.startswith("Your loss equals a log-softmax that subtracts one maximum shared by several positions")


# The shape of real code that keeps the log away from 0 with an epsilon.
EPSILON_IN_THE_LOG = """
import torch

def cross_entropy(logits, labels, ignore_index=-100):
    probs = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    probs = probs / probs.sum(dim=-1, keepdim=True)
    mask = (labels != ignore_index).float()
    picked = probs.gather(-1, (labels * (labels != ignore_index)).unsqueeze(-1)).squeeze(-1)
    return -(torch.log(picked + 1e-9) * mask).sum() / mask.sum()
"""


def test_an_epsilon_inside_the_log_is_told_that_it_caps_the_loss(exercise):
    graded = exercise.grade(EPSILON_IN_THE_LOG)
    assert graded.failed_visible == {"a_confidently_wrong_prediction"}
    message = graded.message("a_confidently_wrong_prediction")
    assert message.startswith("Your loss equals -log(softmax(z) + 1e-09) (or with the softmax clamped to 1e-09)")
    assert "caps a position's loss at -log(1e-09) ≈ 20.7" in message


# Real code "to be safe": the logits made float32 first, which a float64 batch notices.
ALWAYS_FLOAT32 = LOG_SOFTMAX + """
def cross_entropy(logits, labels, ignore_index=-100):
    losses, kept = token_losses(logits.float(), labels, ignore_index)
    return losses.sum() / kept.sum()
"""


def test_a_submission_that_fails_only_hidden_tests_reads_what_kind_of_case_failed(exercise):
    graded = exercise.grade(ALWAYS_FLOAT32)
    assert graded.failed == {"float64_logits"}
    assert not graded.failed_visible
    for name in graded.failed:
        outcome = graded.test(name)
        assert not outcome.visible
        assert outcome.message.startswith("A hidden test"), outcome.message
        assert "differs at index" not in outcome.message
        assert outcome.stdout == ""
