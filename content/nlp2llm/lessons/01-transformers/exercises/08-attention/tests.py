"""Tests of the attention exercise: compared with F.scaled_dot_product_attention, with and without masks.

A wrong output is first compared with the usual wrong attentions (no scale, a mask the wrong way
round..., each with masked scores set to -inf and to a finite -1e9). Otherwise its mistake is read
from its signature: called once more with the identity matrix as the values, an attention returns
its own weights, (batch, L, S), and those show first which axis they sum to one over (the keys, the
queries, the batch, or none: no softmax). Only weights that sum to one over the keys can say a mask
leaks: padding is ignored when the output moves as the padded keys and values change, and the
causal mask when a query weighs a later key.
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
SCALED_BY_D_V = (
    "You divided the scores by sqrt(d_v), the size of the values: the scale is 1 / sqrt(d_k), with d_k the size "
    "of the queries and keys (query.shape[-1]). The two agree only when d_v = d_k."
)
DIVIDED_BY_D_V = (
    "You divided the scores by d_v, the size of the values: divide them by sqrt(d_k), the square root of the size "
    "of the queries and keys (query.shape[-1])."
)
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
    "Your attention weights do not sum to 1 over the keys ({sums}), and some are negative ({lowest:.3g}), which "
    "a softmax never gives: the scores Q K^T / sqrt(d_k) must go through a softmax over the keys (dim=-1) before "
    "they weigh the values."
)
NOT_NORMALIZED = (
    "Your attention weights do not sum to 1 over the keys ({sums}): each query's weights must be the softmax of "
    "its scores Q K^T / sqrt(d_k) over the keys (dim=-1), used as they are."
)
FILLED_SCORES_AS_WEIGHTS = (
    " The masked pairs get weights of about {weight:.3g}: the very negative scores you filled in weigh the values "
    "as they are, where a softmax would make them 0."
)
INFINITE_SCORES_AS_WEIGHTS = (
    " Some of your output is inf or nan: without a softmax, a masked score of -inf weighs the values as it is, "
    "where a softmax would make its weight 0."
)
NEGATIVE_WEIGHTS = (
    "Your attention weights sum to 1 over the keys, but some are negative ({lowest:.3g}), which a softmax never "
    "gives: each query's weights must be the softmax of its scores Q K^T / sqrt(d_k) over the keys (dim=-1)."
)
PADDING_IGNORED = (
    "Padded keys get attention: your output changes when the keys and values at padding positions change. "
    "Hide the keys where key_padding_mask is True: set their scores to -inf before the softmax (masked_fill)."
)
PADDING_ON_QUERIES = (
    "Your padding mask hides the padded queries, which must still attend to the real keys: key_padding_mask "
    "(batch, S) has one flag per key and hides keys only. Spread it over the queries as (batch, 1, S) "
    "(key_padding_mask[:, None, :] or .unsqueeze(1)), not as (batch, S, 1) (.unsqueeze(-1)), which flags queries."
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
# A masked score is set to -inf or, as in much real code, to a large finite number such as -1e9 or -1e4:
# a wrong mask gives nan with the one and an even spread over the keys with the other.
FILLS = (float("-inf"), -1e9)


def close_to(tensor, target, atol=1e-4) -> bool:
    return bool(((tensor - target).abs() <= atol).all())


def same_output(got, wrong_output) -> bool:
    return got.shape == wrong_output.shape and torch.allclose(got, wrong_output, rtol=1e-4, atol=1e-5, equal_nan=True)


def attention_of(t, query, key, value, kwargs):
    """The student's output for other inputs, or None when their code fails on them."""
    try:
        return t.call("scaled_dot_product_attention", query, key, value, **kwargs)
    except StudentCodeFailed:
        return None


def weights_of(t, query, key, kwargs):
    """The student's attention weights (batch, L, S): their output for the identity matrix as the values."""
    batch, source_length = key.shape[0], key.shape[1]
    identity = torch.eye(source_length, dtype=key.dtype).expand(batch, source_length, source_length).clone()
    weights = attention_of(t, query, key, identity, kwargs)
    if weights is None or weights.shape != (batch, query.shape[1], source_length):
        return None
    return weights.double()


def scale_mistake(t, got, query, key, value, allowed, kwargs) -> str:
    """The wrong scale `got` was computed with, if it is one of the usual ones.

    When the sizes make two wrong scales equal (d_v = 1 makes sqrt(d_v) = 1, no scale at all), the
    student's code is asked once more with values of another size, which tells them apart.
    """

    def matching(output, values) -> list[str]:
        d_k, d_v = query.shape[-1], values.shape[-1]
        scales = ((1.0, NO_SCALE), (1 / d_k, WRONG_SCALE), (1 / math.sqrt(d_v), SCALED_BY_D_V),
                  (1 / d_v, DIVIDED_BY_D_V))
        return [message for scale, message in scales
                if same_output(output, attention_like(query, key, values, allowed, scale=scale))]

    found = matching(got, value)
    if len(found) > 1:
        width = query.shape[-1] + 3  # a size of the values that gives each scale above its own value
        wider = value.repeat(1, 1, width)[..., :width]
        wider_got = attention_of(t, query, key, wider, kwargs)
        found = matching(wider_got, wider) if wider_got is not None else []
    return found[0] if len(found) == 1 else ""


def wrong_masks(batch, length, source_length, key_padding_mask, causal):
    """(allowed pairs, message) of the usual wrong masks for this call."""
    masks = []
    if key_padding_mask is not None:
        masks.append((allowed_pairs(batch, length, source_length, ~key_padding_mask, causal), INVERTED_PADDING))
        if length == source_length:
            # The padding spread over the queries, instead of over the keys or as well.
            keys = allowed_pairs(batch, length, source_length, key_padding_mask, causal)
            queries = allowed_pairs(batch, length, source_length, None, causal) & ~key_padding_mask[:, :, None]
            masks += [(queries, PADDING_ON_QUERIES), (queries & keys, PADDING_ON_QUERIES)]
    if causal:
        # torch.tril(...) used as the pairs to hide gives the strict upper triangle.
        options = (({"upper": True}, UPPER_CAUSAL), ({"upper": True, "strict": True}, UPPER_CAUSAL),
                   ({"strict": True}, STRICT_CAUSAL))
        for option, message in options:
            masks.append((allowed_pairs(batch, length, source_length, key_padding_mask, causal, **option), message))
    return masks


def known_mistake(t, got, query, key, value, key_padding_mask, causal, allowed, kwargs) -> str:
    """The usual wrong attention `got` is, computed here and compared: a wrong mask, a wrong scale."""
    batch, length, source_length = query.shape[0], query.shape[1], key.shape[1]
    if key_padding_mask is not None or causal:
        if same_output(got, attention_like(query, key, value, allowed, after_softmax=True)):
            return MASK_AFTER_SOFTMAX
        if same_output(got, attention_like(query, key, value, allowed, fill=0.0)):
            return MASKED_WITH_ZERO
    for wrong, message in wrong_masks(batch, length, source_length, key_padding_mask, causal):
        if any(same_output(got, attention_like(query, key, value, wrong, fill=fill)) for fill in FILLS):
            return message
    return scale_mistake(t, got, query, key, value, allowed, kwargs)


def normalized_over(weights, finite, axis) -> bool:
    """Whether the weights sum to one along `axis` wherever that slice has numbers."""
    sums = torch.where(finite, weights, torch.zeros_like(weights)).sum(dim=axis)
    present = finite.any(dim=axis)
    return bool(present.any()) and close_to(sums[present], 1.0)


def normalized_over_keys(weights) -> bool:
    """Whether each query's weights sum to one, among the queries whose weights are all numbers."""
    rows = torch.isfinite(weights).all(dim=-1)
    return bool(rows.any()) and close_to(weights[rows].sum(dim=-1), 1.0)


def axis_mistake(weights, allowed) -> str:
    """What is wrong with weights that do not sum to one over the keys; empty when nothing clear."""
    finite = torch.isfinite(weights)
    queries, batch = normalized_over(weights, finite, 1), normalized_over(weights, finite, 0)
    if queries and batch:
        return SOFTMAX_OVER_QUERIES_OR_BATCH
    if queries:
        return SOFTMAX_OVER_QUERIES
    if batch:
        return SOFTMAX_OVER_BATCH
    hidden = ~allowed
    masked_rows, rows = hidden.any(dim=-1), finite.all(dim=-1)
    if not bool(rows.any()) or not bool((rows | masked_rows).all()):
        # inf or nan for a query with nothing masked: not a shape these messages know.
        return ""
    sums = weights.sum(dim=-1)
    open_rows = rows & ~masked_rows
    if (bool(hidden.any()) and bool((weights[finite] >= -1e-6).all()) and close_to(weights[finite & hidden], 0.0, 1e-6)
            and bool((sums[rows] <= 1 + 1e-4).all()) and close_to(sums[open_rows], 1.0)):
        return MASK_AFTER_SOFTMAX
    # A query with a masked key would sum the fill too (-1e9): the sums shown are those of the others.
    if bool(hidden.any()) and bool(open_rows.any()):
        whose, shown = "the weights of a query with no masked key", sums[open_rows]
    else:
        whose, shown = "a query's weights", sums[rows]
    low, high = float(shown.min()), float(shown.max())
    sums_text = (f"{whose} sum to {low:.3g}" if math.isclose(low, high, rel_tol=1e-3)
                 else f"{whose} sum to anything from {low:.3g} to {high:.3g}")
    # The lowest weight of a pair the masks allow: a masked pair's is the fill, said apart below.
    lowest = float(weights[finite & allowed].min()) if bool((finite & allowed).any()) else 0.0
    message = (NO_SOFTMAX.format(sums=sums_text, lowest=lowest) if lowest < -1e-6
               else NOT_NORMALIZED.format(sums=sums_text))
    masked = weights[finite & hidden]
    if masked.numel() and bool((masked <= -1e3).all()):
        message += FILLED_SCORES_AS_WEIGHTS.format(weight=float(masked.median()))
    elif not bool(finite.all()):
        message += INFINITE_SCORES_AS_WEIGHTS
    return message


def padded_keys_matter(t, got, query, key, value, key_padding_mask, kwargs) -> bool:
    """Whether the output moves when the keys and values at padding positions change: then they get attention."""
    padded = key_padding_mask[:, :, None]
    moved = attention_of(t, query, torch.where(padded, 2.0 - 3.0 * key, key),
                         torch.where(padded, value + 10.0, value), kwargs)
    return moved is not None and not same_output(got, moved)


def mistake_from_signature(t, got, query, key, value, key_padding_mask, allowed, kwargs) -> str:
    """What is wrong, read from how the output behaves; empty when it says nothing clear.

    Which axis the weights sum to one over is decided first: with weights that are not a softmax over
    the keys, a masked pair's weight is no sign of a wrong mask (without a softmax, a score set to
    -1e9 weighs the values as -1e9).
    """
    weights = weights_of(t, query, key, kwargs)
    if weights is None:
        return ""
    if not normalized_over_keys(weights):
        return axis_mistake(weights, allowed)
    finite = weights[torch.isfinite(weights)]
    if bool((finite < -1e-6).any()):
        return NEGATIVE_WEIGHTS.format(lowest=float(finite.min()))
    if key_padding_mask is not None and padded_keys_matter(t, got, query, key, value, key_padding_mask, kwargs):
        return PADDING_IGNORED
    padded_keys = ~allowed.any(dim=1, keepdim=True)  # hidden from every query: padding
    later_keys = ~allowed & ~padded_keys
    rows = torch.isfinite(weights).all(dim=-1, keepdim=True)
    if bool((later_keys & rows & (weights.abs() > 1e-6)).any()):
        return CAUSAL_IGNORED
    return ""


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
        mistake = known_mistake(
            t, got, query, key, value, key_padding_mask, causal, allowed, kwargs
        ) or mistake_from_signature(t, got, query, key, value, key_padding_mask, allowed, kwargs)
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
