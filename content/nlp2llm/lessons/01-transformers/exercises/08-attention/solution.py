import math

import torch


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d_k)) V over the keys, with padded keys (True in key_padding_mask) and,
    if causal, later positions left out. Shapes: (batch, L, d_k), (batch, S, d_k), (batch, S, d_v)."""
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool)
    if causal:
        allowed = allowed.tril()
    if key_padding_mask is not None:
        # (batch, S) -> (batch, 1, S): the same keys are hidden from every query.
        allowed = allowed & ~key_padding_mask.unsqueeze(-2)
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ value
