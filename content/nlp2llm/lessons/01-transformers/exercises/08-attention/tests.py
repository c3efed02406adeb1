"""Tests of the attention exercise: compared with F.scaled_dot_product_attention, with and without masks.

A wrong output is first compared with the usual wrong attentions (no scale, a mask the wrong way
round...). Otherwise its mistake is read from its signature: called once more with the identity
matrix as the values, an attention returns its own weights, (batch, L, S), and those show whether
they sum to one over the keys, the queries or the batch, and whether masked keys get weight.
"""

import math

import torch
import torch.nn.functional as F

from graders.code import StudentCodeFailed, test
from graders.sandbox.ready_made import ATTENTION

BUILD_IT_YOURSELF = "None of torch's attention functions, and one query over two keys"


def allowed_pairs(batch, length, source_length, key_padding_mask=None, causal=False, *, strict=False, upper=False):
    """(batch, L, S) True where a query may attend to a key; the flags build the usual wrong causal masks."""
    allowed = torch.ones(batch, length, source_length, dtype=torch.bool)
    if causal:
        square = torch.ones(length, source_length, dtype=torch.bool)
        allowed = allowed & (square.triu(1 if strict else 0) if upper else square.tril(-1 if strict else 0))
    if key_padding_mask is not None:
        allowed = allowed & ~key_padding_mask[:, None, :]
    return allowed


def torch_attention(query, key, value, key_padding_mask=None, causal=False):
    allowed = allowed_pairs(query.shape[0], query.shape[1], key.shape[1], key_padding_mask, causal)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=allowed)


def attention_like(query, key, value, allowed, *, scale=None, fill=float("-inf"), after_softmax=False, dim=-1):
    """Attention written out, with the knobs of the usual mistakes."""
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale
    if after_softmax:
        weights = torch.softmax(scores, dim=dim) * allowed
    else:
        weights = torch.softmax(scores.masked_fill(~allowed, fill), dim=dim)
    return weights @ value


NO_SCALE = "Your output is attention without the scale: divide the scores Q K^T by sqrt(d_k) before the softmax."
WRONG_SCALE = "You divided the scores by d_k: divide them by its square root, sqrt(d_k)."
SOFTMAX_OVER_QUERIES = (
    "Your softmax runs over the queries (dim=-2, or dim=1 for these 3-dimensional scores): each key's weights "
    "sum to 1 instead of each query's. Run it over the keys (dim=-1)."
)
SOFTMAX_OVER_BATCH = (
    "Your softmax runs over the batch (dim=0): each weight is shared with the same position of the other "
    "sentences, so the sentences change each other's output. Run it over the keys (dim=-1)."
)
SOFTMAX_OVER_QUERIES_OR_BATCH = (
    "Your softmax runs over the queries or over the batch, not over the keys: with one sentence and one query "
    "both give every weight 1. Run it over the keys (dim=-1), so that each query's weights sum to 1."
)
NO_SOFTMAX = (
    "Your attention weights do not sum to 1 over the keys ({sums}): the scores Q K^T / sqrt(d_k) must go "
    "through a softmax over the keys (dim=-1) before they weigh the values."
)
PADDING_IGNORED = (
    "Padded keys get attention: your output changes when the keys and values at padding positions change. "
    "Hide the keys where key_padding_mask is True: set their scores to -inf before the softmax (masked_fill)."
)
CAUSAL_IGNORED = (
    "Position i attends to positions after it: with causal=True, hide the keys j > i (scores set to -inf "
    "above the diagonal, torch.triu(..., diagonal=1)) before the softmax."
)
MASK_AFTER_SOFTMAX = (
    "You applied the mask after the softmax: the masked weights are 0, but the others no longer sum to 1. "
    "Set the masked scores to -inf before the softmax (masked_fill), so the softmax shares all the weight among "
    "the allowed keys."
)
MASKED_WITH_ZERO = (
    "You set the masked scores to 0, which is an ordinary score: exp(0) = 1 still gives those keys weight. "
    "Set them to -inf, so that their weight is exp(-inf) = 0."
)
INVERTED_PADDING = (
    "Your mask hides the real keys and keeps the padding: key_padding_mask is True at padding, the keys that "
    "must get no attention."
)
UPPER_CAUSAL = (
    "Your causal mask lets position i see the positions after it and not those before: keep keys j <= i "
    "(torch.tril), hide j > i."
)
STRICT_CAUSAL = (
    "Your causal mask also hides the diagonal: position i may see itself (keys j <= i, torch.tril with the "
    "diagonal)."
)


def close_to(tensor, target, atol=1e-4) -> bool:
    return bool(((tensor - target).abs() <= atol).all())


def weights_of(t, query, key, kwargs):
    """The student's attention weights (batch, L, S): their output for the identity matrix as the values."""
    batch, source_length = key.shape[0], key.shape[1]
    identity = torch.eye(source_length, dtype=key.dtype).expand(batch, source_length, source_length).clone()
    try:
        weights = t.call("scaled_dot_product_attention", query, key, identity, **kwargs)
    except StudentCodeFailed:
        return None
    if weights.shape != (batch, query.shape[1], source_length):
        return None
    return weights.double()


def normalized_over(weights, finite, axis) -> bool:
    """Whether the weights sum to one along `axis` wherever that slice has numbers."""
    sums = torch.where(finite, weights, torch.zeros_like(weights)).sum(dim=axis)
    present = finite.any(dim=axis)
    return bool(present.any()) and close_to(sums[present], 1.0)


def mistake_from_weights(weights, allowed) -> str:
    """What is wrong, read from the weights alone; empty when they look right or say nothing clear."""
    finite = torch.isfinite(weights)
    if not bool(finite.all()):
        # nan where every score of a slice was -inf: a softmax over an axis that a mask can empty.
        for axis, message in ((0, SOFTMAX_OVER_BATCH), (1, SOFTMAX_OVER_QUERIES)):
            if normalized_over(weights, finite, axis):
                return message
        return ""
    hidden = ~allowed
    leaks = hidden & (weights.abs() > 1e-6)
    padded_keys = ~allowed.any(dim=1, keepdim=True)  # hidden from every query: padding
    if bool((leaks & padded_keys).any()):
        return PADDING_IGNORED
    if bool(leaks.any()):
        return CAUSAL_IGNORED if bool(allowed.tril().eq(allowed).all()) else PADDING_IGNORED
    over_keys = weights.sum(dim=-1)
    if close_to(over_keys, 1.0):
        return ""
    queries, batch = normalized_over(weights, finite, 1), normalized_over(weights, finite, 0)
    if queries and batch:
        return SOFTMAX_OVER_QUERIES_OR_BATCH
    if queries:
        return SOFTMAX_OVER_QUERIES
    if batch:
        return SOFTMAX_OVER_BATCH
    if bool(hidden.any()) and bool((weights >= -1e-6).all()) and bool((over_keys <= 1 + 1e-4).all()):
        return MASK_AFTER_SOFTMAX
    low, high = float(over_keys.min()), float(over_keys.max())
    sums = (f"a query's weights sum to {low:.3g}" if math.isclose(low, high, rel_tol=1e-3)
            else f"a query's weights sum to anything from {low:.3g} to {high:.3g}")
    return NO_SOFTMAX.format(sums=sums)


def check_attention(t, query, key, value, key_padding_mask=None, causal=False, what="your output"):
    kwargs = {}
    if key_padding_mask is not None:
        kwargs["key_padding_mask"] = key_padding_mask
    if causal:
        kwargs["causal"] = True
    got = t.call("scaled_dot_product_attention", query, key, value, **kwargs)
    expected = torch_attention(query, key, value, key_padding_mask, causal)
    batch, length, source_length = query.shape[0], query.shape[1], key.shape[1]
    allowed = allowed_pairs(batch, length, source_length, key_padding_mask, causal)
    if got.shape == expected.shape and not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
        mistakes = [
            (attention_like(query, key, value, allowed, scale=1.0), NO_SCALE),
            (attention_like(query, key, value, allowed, scale=1 / query.shape[-1]), WRONG_SCALE),
        ]
        if key_padding_mask is not None or causal:
            mistakes += [
                (attention_like(query, key, value, allowed, after_softmax=True), MASK_AFTER_SOFTMAX),
                (attention_like(query, key, value, allowed, fill=0.0), MASKED_WITH_ZERO),
            ]
        if key_padding_mask is not None:
            inverted = allowed_pairs(batch, length, source_length, ~key_padding_mask, causal)
            mistakes.append((attention_like(query, key, value, inverted), INVERTED_PADDING))
        if causal:
            for options, message in (({"upper": True}, UPPER_CAUSAL), ({"strict": True}, STRICT_CAUSAL)):
                wrong = allowed_pairs(batch, length, source_length, key_padding_mask, causal, **options)
                mistakes.append((attention_like(query, key, value, wrong), message))
        for wrong_output, message in mistakes:
            if torch.allclose(got, wrong_output, rtol=1e-4, atol=1e-5, equal_nan=True):
                t.fail(f"{message} ({what} differs from F.scaled_dot_product_attention's.)")
        weights = weights_of(t, query, key, kwargs)
        mistake = mistake_from_weights(weights, allowed) if weights is not None else ""
        if mistake:
            t.fail(f"{mistake} ({what} differs from F.scaled_dot_product_attention's.)")
    t.check_close(got, expected, rtol=1e-4, atol=1e-5, what=what,
                  nonfinite_hint="A query whose every key is masked would give nan, but no such query exists here: "
                  "check which pairs your mask hides.")


def qkv(t, batch, length, source_length, d_k, d_v=None, dtype=torch.float32):
    return (
        t.randn(batch, length, d_k, dtype=dtype),
        t.randn(batch, source_length, d_k, dtype=dtype),
        t.randn(batch, source_length, d_v or d_k, dtype=dtype),
    )


def padding(lengths, source_length):
    """(batch, S) True after each sequence's length."""
    return torch.arange(source_length)[None, :] >= torch.tensor(lengths)[:, None]


# Torch's attention functions and modules (F.scaled_dot_product_attention, nn.MultiheadAttention,
# their kernels and Python paths) are taken away in this test's sandbox; its softmax is allowed.
@test(title=BUILD_IT_YOURSELF, points=1, forbids=ATTENTION,
      rule="That is torch's own attention: in this exercise you write it yourself (softmax of Q K^T / sqrt(d_k), "
      "times V), so it is not allowed here (the other tests check your values either way).")
def built_from_matrix_products(t):
    query = torch.tensor([[[1.0, 0.0]]])
    key = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    value = torch.tensor([[[10.0], [20.0]]])
    check_attention(t, query, key, value, what="your output for one query and two keys")


@test(title="No mask", points=2)
def no_mask(t):
    check_attention(t, *qkv(t, 2, 4, 4, 8))


@test(title="Padded keys get no attention", points=2)
def padding_mask(t):
    check_attention(t, *qkv(t, 2, 5, 5, 6), key_padding_mask=padding([5, 3], 5),
                    what="your output for sentences of 5 and 3 tokens padded to 5")


@test(title="Causal: position i sees positions 0 to i", points=2)
def causal_mask(t):
    check_attention(t, *qkv(t, 2, 5, 5, 4), causal=True, what="your causal self-attention")


@test(title="Padding and causal together", points=1)
def padding_and_causal(t):
    check_attention(t, *qkv(t, 3, 6, 6, 4), key_padding_mask=padding([6, 4, 2], 6), causal=True,
                    what="your causal self-attention over sentences of 6, 4 and 2 tokens")


@test(title="Cross-attention: 3 queries, 6 keys, values of another size", points=1)
def cross_attention(t):
    check_attention(t, *qkv(t, 2, 3, 6, 4, d_v=5), key_padding_mask=padding([6, 4], 6),
                    what="your output for 3 queries over 6 keys with d_k=4 and d_v=5")


@test(title="float64 inputs", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: float64 inputs with padding and the causal mask together. The "
      "output must keep the dtype of the inputs.")
def float64_inputs(t):
    check_attention(t, *qkv(t, 2, 5, 5, 6, dtype=torch.float64), key_padding_mask=padding([5, 2], 5), causal=True)


@test(title="d_k = 64", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: causal self-attention with d_k = 64, where the scale "
      "1 / sqrt(d_k) matters most.")
def large_d_k(t):
    check_attention(t, *qkv(t, 2, 7, 7, 64), causal=True)


@test(title="Random padding with the causal mask", points=1, hidden=True,
      when_hidden_fails="A hidden test failed: five sentences of random lengths, padded, with the causal mask. A "
      "pair is used only if both masks allow it.")
def random_padding_with_causal(t):
    lengths = t.randint(1, 9, (5,)).tolist()
    check_attention(t, *qkv(t, 5, 8, 8, 8), key_padding_mask=padding(lengths, 8), causal=True)


@test(title="Gradients for the query, the key and the value", points=2, hidden=True,
      when_hidden_fails="A hidden test failed: the gradients with respect to the query, the key and the value, "
      "with both masks. They must match autograd's through PyTorch's attention.")
def gradients(t):
    query, key, value = qkv(t, 2, 5, 5, 4)
    mask = padding([5, 3], 5)
    got, grads = t.call("scaled_dot_product_attention", query, key, value, key_padding_mask=mask, causal=True,
                        grad_of=[0, 1, 2])
    leaves = [tensor.clone().requires_grad_(True) for tensor in (query, key, value)]
    output = torch_attention(*leaves, key_padding_mask=mask, causal=True)
    grad_output = torch.randn(output.shape, generator=torch.Generator().manual_seed(t.grad_seed))
    expected_grads = torch.autograd.grad(output, leaves, grad_output)
    t.check_close(got, output.detach(), rtol=1e-4, atol=1e-5)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        t.check_close(grad, expected_grad, rtol=1e-4, atol=1e-5)
