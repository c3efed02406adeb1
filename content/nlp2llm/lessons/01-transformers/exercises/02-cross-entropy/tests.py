"""Tests of the cross-entropy exercise: compared with F.cross_entropy, value and gradient, padding ignored.

The stability tests give each position its own offset, over a hundred apart: a log-softmax that
subtracts one maximum for the whole batch (or each sentence) instead of each position's is then
caught (a position far below that maximum has every exp underflow to 0, and log 0 = -inf), by a
visible test that names it and by hidden ones.
"""

import math

import torch
import torch.nn.functional as F

from graders.code import StudentCodeFailed, test
from graders.sandbox.ready_made import ATTENTION, LOSSES, SOFTMAX

BUILD_IT_YOURSELF = "None of torch's losses or softmaxes, and the lesson's example z = (2, 1, 0)"

LOG_OF_ZERO = (
    "The model in this test is confidently wrong: the correct token's logit is about 150 below the "
    "largest, so its probability is about exp(-150), which rounds to 0 in float32, and log(0) = -inf, "
    "while the true loss at that position is about 150. Compute log ŷ_k as a log-softmax, "
    "z_k - max(z) - log(sum_j exp(z_j - max(z))), never as log(softmax(z))."
)
SHARED_MAXIMUM = (
    "Your loss equals a log-softmax that subtracts one maximum shared by several positions (such as logits.max(), "
    "the whole batch's) instead of each position's own: a position whose logits all lie more than about 104 below "
    "that maximum has every exp(z_j - max) round to 0 in float32, and log(0) = -inf. Subtract each position's own "
    "maximum, logits.amax(dim=-1, keepdim=True)."
)
# What a shared maximum is taken over, for (batch, seq_len, n_vocab) logits: the whole batch, each
# sentence, each position of all the sentences.
SHARED_MAXIMA = ((0, 1, 2), (1, 2), (0, 2))
EPSILON_IN_THE_LOG = (
    "Your loss equals -log(softmax(z) + {epsilon:g}) (or with the softmax clamped to {epsilon:g}): the epsilon "
    "keeps the log away from 0, but it caps a position's loss at -log({epsilon:g}) ≈ {cap:.3g}, where this "
    "confidently wrong position's true loss is about 150. Compute log ŷ_k as a log-softmax instead, "
    "z_k - max(z) - log(sum_j exp(z_j - max(z)))."
)
# The epsilons real code adds inside log(softmax(z)).
EPSILONS = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12)
NOT_FINITE = (
    "The positions' logits here are up to 130 apart, and one correct token's logit is 150 below its position's "
    "largest: compute log ŷ_k as a log-softmax with each position's own maximum, "
    "z_k - max(z) - log(sum_j exp(z_j - max(z))), where no exp can overflow and no log can get 0."
)
OVERFLOW = (
    "exp overflows to inf for logits above about 88.7 in float32: subtract the largest logit of each "
    "position before exponentiating (log-softmax is unchanged by that shift)."
)
PADDING_INDEX = (
    "The labels hold {ignore_index} at padding positions, which is not a token id, so it cannot be used "
    "as an index. Replace it by any valid id (e.g. 0) before indexing or gather, then leave those "
    "positions out of the sum and of the count."
)
ALL_POSITIONS = (
    "Your loss equals the sum of the real tokens' losses divided by all batch * seq_len positions, padding "
    "included. Padding is not part of any sentence: divide by the number of positions whose label is not "
    "`ignore_index`."
)
SENTENCE_MEANS = (
    "Your loss equals the mean over sentences of each sentence's mean loss. That gives every token of a "
    "short sentence more weight than a token of a long one. Average over all real tokens of the batch at "
    "once: the sum of their losses divided by how many there are."
)
PADDING_COUNTED = (
    "Your loss counts the padding positions as if their label were token {token}. Leave them out "
    "entirely: no loss and no count for a position whose label is `ignore_index`."
)
HARD_CODED = (
    "With ignore_index=0, your loss still treats the positions labelled 0 as tokens: use the "
    "`ignore_index` argument you are given, not the constant -100."
)
SUM = "Your loss is the sum of the token losses: the training loss is their mean."
SIGN = "Your loss has the wrong sign: log ŷ is negative, and the cross-entropy is minus the log-probability."


def torch_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, -2), labels.flatten(), ignore_index=ignore_index)


def torch_loss_and_gradient(logits, labels, ignore_index=-100):
    leaf = logits.clone().requires_grad_(True)
    loss = torch_loss(leaf, labels, ignore_index)
    (gradient,) = torch.autograd.grad(loss, [leaf])
    return loss.detach(), gradient


def token_losses(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """(batch, seq_len) losses, 0 at padding."""
    return F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=ignore_index, reduction="none")


def position_offsets(t, batch: int, seq_len: int, spread: float) -> torch.Tensor:
    """(batch, seq_len, 1): each position's logits moved by its own amount, from 0 down to -spread."""
    return -spread * t.rand(batch, seq_len, 1).round(decimals=1)


def padded_batch(t, lengths, seq_len, n_vocab, ignore_index=-100, scale=2.0):
    logits = scale * t.randn(len(lengths), seq_len, n_vocab)
    labels = t.randint(0, n_vocab, (len(lengths), seq_len))
    for row, length in enumerate(lengths):
        labels[row, length:] = ignore_index
    return logits, labels


def loss_of(t, logits, labels, **kwargs) -> torch.Tensor:
    """The student's loss; a failure caused by indexing with the ignore index says what to do."""
    try:
        return t.call("cross_entropy", logits, labels, **kwargs)
    except StudentCodeFailed as failed:
        ignore_index = kwargs.get("ignore_index", -100)
        text = str(failed)
        if str(ignore_index) in text or "out of bounds" in text or "non-negative" in text:
            t.fail(f"{text}\n\n{PADDING_INDEX.format(ignore_index=ignore_index)}")
        raise


def close(got: torch.Tensor, value: torch.Tensor) -> bool:
    return got.shape == value.shape and bool(torch.isclose(got.double(), value.double(), rtol=1e-4, atol=1e-5))


def same(got, value: torch.Tensor) -> bool:
    """`close`, with inf equal to inf and nan to nan: how a numerical mistake is recognised."""
    return (isinstance(got, torch.Tensor) and got.shape == value.shape
            and bool(torch.isclose(got.double(), value.double(), rtol=1e-4, atol=1e-5, equal_nan=True)))


def epsilon_loss(logits, labels, epsilon, *, clamped=False, ignore_index=-100) -> torch.Tensor:
    """The loss of -log(softmax(z) + epsilon), or of the softmax clamped to epsilon."""
    probabilities = torch.softmax(logits, dim=-1)
    probabilities = probabilities.clamp(min=epsilon) if clamped else probabilities + epsilon
    kept = labels != ignore_index
    picked = probabilities.gather(-1, labels.masked_fill(~kept, 0).unsqueeze(-1)).squeeze(-1)
    return -picked.log()[kept].sum() / kept.sum()


def shared_maximum_loss(logits, labels, dims, ignore_index=-100) -> torch.Tensor:
    """The loss of a log-softmax that subtracts one maximum over `dims`, computed as a student would."""
    shifted = logits - logits.amax(dim=dims, keepdim=True)
    log_probabilities = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
    kept = labels != ignore_index
    picked = log_probabilities.gather(-1, labels.masked_fill(~kept, 0).unsqueeze(-1)).squeeze(-1)
    return -picked[kept].sum() / kept.sum()


def diagnose(t, got, logits, labels, ignore_index=-100) -> None:
    """Fail with the known mistake `got` comes from, if it is one of them."""
    if not isinstance(got, torch.Tensor) or got.dim() != 0 or not got.is_floating_point():
        return
    expected = torch_loss(logits, labels, ignore_index)
    if close(got, expected):
        return
    losses = token_losses(logits, labels, ignore_index)
    kept = labels != ignore_index
    per_sentence = losses.sum(dim=1) / kept.sum(dim=1).clamp(min=1)
    sentences = kept.any(dim=1)
    candidates = [
        (losses.sum() / labels.numel(), ALL_POSITIONS),
        (per_sentence[sentences].mean(), SENTENCE_MEANS),
        (losses.sum(), SUM),
        (-expected, SIGN),
    ]
    if not kept.all():
        as_token_zero = torch_loss(logits, labels.masked_fill(~kept, 0), ignore_index=-12345)
        candidates.append((as_token_zero, PADDING_COUNTED.format(token=0)))
    for value, message in candidates:
        if close(got, value):
            t.fail(f"{message} (Expected {expected.item():.6g}, got {got.item():.6g}.)")


# Torch's losses and softmaxes (and its attention, which holds one) are taken away in this
# test's sandbox, however they are reached.
@test(title=BUILD_IT_YOURSELF, points=1, forbids=LOSSES | SOFTMAX | ATTENTION,
      rule="That is torch's ready-made loss or softmax: in this exercise you write the cross-entropy yourself "
      "from the logits (torch.logsumexp is allowed), so it is not allowed here (the other tests check your "
      "values either way).")
def built_from_your_own_log_softmax(t):
    logits, labels = torch.tensor([[[2.0, 1.0, 0.0]]]), torch.tensor([[0]])
    got = loss_of(t, logits, labels)
    t.check_close(
        got,
        torch_loss(logits, labels),
        rtol=1e-4,
        hint="The lesson's example: z = (2, 1, 0) with the first class correct gives -log(0.665) ≈ 0.41.",
    )


@test(title="One sentence without padding, compared with F.cross_entropy", points=2)
def one_sentence_without_padding(t):
    logits, labels = padded_batch(t, [5], 5, 10)
    got = loss_of(t, logits, labels)
    diagnose(t, got, logits, labels)
    t.check_close(got, torch_loss(logits, labels), rtol=1e-4, what="your loss")


@test(title="Padding is ignored", points=3)
def padding_is_ignored(t):
    logits, labels = padded_batch(t, [6, 4, 2], 6, 11)
    got = loss_of(t, logits, labels)
    diagnose(t, got, logits, labels)
    t.check_close(got, torch_loss(logits, labels), rtol=1e-4, what="your loss for sentences of 6, 4 and 2 tokens")


@test(title="The ignore_index you are given", points=1)
def the_given_ignore_index(t):
    logits, labels = padded_batch(t, [5, 3], 5, 9)
    labels = labels.clamp(min=1)
    labels[1, 3:] = 0
    got = loss_of(t, logits, labels, ignore_index=0)
    expected = torch_loss(logits, labels, ignore_index=0)
    if close(got, torch_loss(logits, labels, ignore_index=-100)):
        t.fail(HARD_CODED)
    diagnose(t, got, logits, labels, ignore_index=0)
    t.check_close(got, expected, rtol=1e-4, what="your loss with ignore_index=0")


@test(title="Gradient with respect to the logits, compared with autograd through F.cross_entropy", points=2)
def gradient_matches_torch(t):
    logits, labels = padded_batch(t, [4, 2], 4, 7)
    got, grads = t.call("cross_entropy", logits, labels, grad_of=[0])
    expected, expected_gradient = torch_loss_and_gradient(logits, labels)
    t.check_close(got, expected, rtol=1e-4, what="your loss")
    padding = labels == -100
    if bool(grads[0][padding].abs().gt(1e-7).any()):
        t.fail(
            "Your gradient is not zero at padding positions, so padding would still train the model. "
            "Leave padded positions out of the loss itself (not only out of the count)."
        )
    t.check_close(grads[0], expected_gradient, atol=1e-5, what="the gradient of your loss with respect to the logits")


@test(title="A confidently wrong prediction, each position's logits offset differently", points=2)
def a_confidently_wrong_prediction(t):
    logits, labels = padded_batch(t, [3, 3], 3, 6)
    # Within float32's exp range (|z| < 88) for every position, but 130 apart in each sentence and
    # across them: a maximum shared by positions leaves the lower ones at exp(-130) = 0.
    logits = logits + torch.tensor([[65.0, -65.0, 0.0], [-65.0, 65.0, 10.0]])[:, :, None]
    logits[0, 2, labels[0, 2]] = logits[0, 2].max() - 150
    got = loss_of(t, logits, labels)
    expected = torch_loss(logits, labels)
    if any(same(got, shared_maximum_loss(logits, labels, dims)) for dims in SHARED_MAXIMA):
        t.fail(f"{SHARED_MAXIMUM} (Expected {expected.item():.6g}, got {got.item()}.)")
    for epsilon in EPSILONS:
        if any(same(got, epsilon_loss(logits, labels, epsilon, clamped=clamped)) for clamped in (False, True)):
            hint = EPSILON_IN_THE_LOG.format(epsilon=epsilon, cap=-math.log(epsilon))
            t.fail(f"{hint} (Expected {expected.item():.6g}, got {got.item():.6g}.)")
    if got.dim() == 0 and not bool(torch.isfinite(got)):
        # +inf is -log(0): a probability that rounded to 0 before its log was taken.
        hint = LOG_OF_ZERO if got.item() == float("inf") else NOT_FINITE
        t.fail(f"Your loss is {got.item()}; expected {expected.item():.6g}. {hint}")
    diagnose(t, got, logits, labels)
    t.check_close(got, expected, rtol=1e-4, what="your loss", hint=NOT_FINITE)


@test(title="Logits around 1000, each position offset differently", points=1, hidden=True,
      when_hidden_fails="A hidden test with logits around 1000 failed, the positions' logits up to 500 apart. "
      "exp overflows above 88.7 in float32, and one maximum for the whole batch leaves the lower positions at "
      "exp(-500): 0, whose log is -inf. Subtract each position's own maximum (amax over the last dimension).")
def logits_around_a_thousand(t):
    logits, labels = padded_batch(t, [5, 3], 5, 8)
    logits = logits + 1000 + position_offsets(t, 2, 5, 500.0)
    t.check_close(loss_of(t, logits, labels), torch_loss(logits, labels), rtol=1e-4, nonfinite_hint=OVERFLOW)


@test(title="float64 logits", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: float64 logits, compared to 1e-9. The loss must keep the dtype of "
      "the logits.")
def float64_logits(t):
    logits, labels = padded_batch(t, [4, 1, 3], 4, 6)
    logits = logits.double()
    t.check_close(loss_of(t, logits, labels), torch_loss(logits, labels), rtol=1e-9)


@test(title="A larger batch with random padding", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: six sentences of 1 to 12 tokens padded to 12, 50 classes. Only "
      "the real tokens count, each with the same weight.")
def larger_batch_with_random_padding(t):
    lengths = t.randint(1, 13, (6,)).tolist()
    logits, labels = padded_batch(t, lengths, 12, 50, scale=4.0)
    t.check_close(loss_of(t, logits, labels), torch_loss(logits, labels), rtol=1e-4)


@test(title="Gradient for logits around ±100, each position offset differently", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: the gradient for logits around ±100 whose positions are up to 300 "
      "apart. Each position's log-softmax needs its own maximum, and padding gets no gradient.")
def gradient_for_large_logits(t):
    logits, labels = padded_batch(t, [3, 2], 3, 5, scale=100.0)
    logits = logits + position_offsets(t, 2, 3, 300.0)
    got, grads = t.call("cross_entropy", logits, labels, grad_of=[0])
    expected, expected_gradient = torch_loss_and_gradient(logits, labels)
    t.check_close(got, expected, rtol=1e-4)
    t.check_close(grads[0], expected_gradient, atol=1e-5)


@test(title="A sentence that is only padding", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: a batch in which one sentence is only padding. It adds nothing "
      "to the sum and nothing to the count.")
def a_sentence_that_is_only_padding(t):
    logits, labels = padded_batch(t, [3, 0, 2], 3, 6)
    t.check_close(loss_of(t, logits, labels), torch_loss(logits, labels), rtol=1e-4)
