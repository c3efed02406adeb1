"""Reference softmax, cross-entropy, attention and positional encoding, written out in plain torch."""

from __future__ import annotations

import math

import torch

# The label value that marks a padded position: no loss is computed there (torch's default too).
IGNORE_INDEX = -100


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along `dim`, shifted by the maximum so that large logits cannot overflow."""
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    exponentials = shifted.exp()
    return exponentials / exponentials.sum(dim=dim, keepdim=True)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-softmax along `dim`: x - max - log(sum(exp(x - max))), never log(softmax(x))."""
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    ignore_index: int = IGNORE_INDEX,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Token-wise cross-entropy from logits, averaged over the tokens whose label is not ignored.

    `logits` has the vocabulary last, e.g. (batch, seq, vocab) with `labels` of shape (batch, seq).
    With label smoothing e the target is (1 - e) * one_hot + e / vocab, as in torch.
    All labels ignored gives NaN (0 / 0), as torch does.
    """
    log_probabilities = log_softmax(logits, dim=-1)
    kept = labels != ignore_index
    # Ignored positions still need a valid index for gather; their loss is zeroed below.
    safe_labels = labels.masked_fill(~kept, 0)
    negative_log_likelihood = -log_probabilities.gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)
    per_token = negative_log_likelihood
    if label_smoothing:
        uniform_loss = -log_probabilities.mean(dim=-1)
        per_token = (1.0 - label_smoothing) * negative_log_likelihood + label_smoothing * uniform_loss
    kept_float = kept.to(per_token.dtype)
    return (per_token * kept_float).sum() / kept_float.sum()


def causal_mask(query_length: int, key_length: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean (query_length, key_length) mask, True where attention is allowed (key j <= query i)."""
    return torch.ones(query_length, key_length, dtype=torch.bool, device=device).tril()


def attention_with_weights(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention; returns (output, weights).

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> output (..., L, Ev),
    weights (..., L, S). `key_padding_mask` is (batch, S), True at padded keys, which get no
    attention; the batch is the first dimension of query. `causal` lets query i see keys 0..i.
    A query that may see no key at all gets zero weights and a zero output, as torch's
    scaled_dot_product_attention gives.
    """
    query_length, key_length = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    scores = (query @ key.transpose(-2, -1)) * scale
    allowed = torch.ones(query_length, key_length, dtype=torch.bool, device=query.device)
    if causal:
        allowed = causal_mask(query_length, key_length, device=query.device)
    if key_padding_mask is not None:
        batch = key_padding_mask.shape[0]
        # (batch, S) -> (batch, 1, ..., 1, S) so it broadcasts over heads and queries.
        padding = key_padding_mask.reshape(batch, *([1] * (scores.dim() - 2)), key_length)
        allowed = allowed & ~padding
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = softmax(scores, dim=-1)
    # A row of -inf everywhere is NaN after softmax: those queries attend to nothing.
    weights = weights.masked_fill(~allowed.any(dim=-1, keepdim=True), 0.0)
    return weights @ value, weights


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """softmax(Q K^T * scale + mask) V; see `attention_with_weights` for shapes and masks."""
    output, _ = attention_with_weights(query, key, value, key_padding_mask=key_padding_mask, causal=causal, scale=scale)
    return output
