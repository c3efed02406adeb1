"""Multi-head attention laid out like torch.nn.MultiheadAttention (batch first), so weights can be copied.

Part of the toy translator that student code is given. It is written with torch's own softmax,
not with the reference solution of the attention exercise (graders.reference.functional), which
must never be in the sandbox's memory.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, weights) of scaled dot-product attention over (batch, heads, length, head_dim) inputs.

    `key_padding_mask` (batch, S) is True at padded keys; a query that may see no key gets zeros.
    """
    query_length, key_length = query.shape[-2], key.shape[-2]
    scores = (query @ key.transpose(-2, -1)) * (1.0 / math.sqrt(query.shape[-1]))
    allowed = torch.ones(query_length, key_length, dtype=torch.bool)
    if causal:
        allowed = allowed.tril()
    if key_padding_mask is not None:
        batch = key_padding_mask.shape[0]
        allowed = allowed & ~key_padding_mask.reshape(batch, *([1] * (scores.dim() - 2)), key_length)
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    weights = weights.masked_fill(~allowed.any(dim=-1, keepdim=True), 0.0)
    return weights @ value, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention whose state_dict has the keys and shapes of nn.MultiheadAttention.

    `in_proj_weight` stacks the query, key and value projections (3 * d_model, d_model);
    `out_proj` is the output projection. Inputs are (batch, length, d_model).
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model = d_model
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # The same initialisation as nn.MultiheadAttention.
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def _split_heads(self, projected: torch.Tensor) -> torch.Tensor:
        batch, length, _ = projected.shape
        head_dim = self.d_model // self.num_heads
        return projected.reshape(batch, length, self.num_heads, head_dim).transpose(1, 2)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        causal: bool = False,
        need_weights: bool = True,
        average_attn_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Returns (output (batch, L, d_model), weights or None).

        Weights are (batch, L, S) averaged over heads, or (batch, heads, L, S) with
        `average_attn_weights=False`. `key_padding_mask` is (batch, S), True at padding.
        """
        weight_q, weight_k, weight_v = self.in_proj_weight.chunk(3)
        bias_q, bias_k, bias_v = self.in_proj_bias.chunk(3)
        heads_q = self._split_heads(nn.functional.linear(query, weight_q, bias_q))
        heads_k = self._split_heads(nn.functional.linear(key, weight_k, bias_k))
        heads_v = self._split_heads(nn.functional.linear(value, weight_v, bias_v))
        heads_out, weights = attend(
            heads_q, heads_k, heads_v, key_padding_mask=key_padding_mask, causal=causal
        )
        batch, _, length, _ = heads_out.shape
        output = self.out_proj(heads_out.transpose(1, 2).reshape(batch, length, self.d_model))
        if not need_weights:
            return output, None
        return output, weights.mean(dim=1) if average_attn_weights else weights
