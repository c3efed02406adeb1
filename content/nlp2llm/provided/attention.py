"""Multi-head attention laid out like torch.nn.MultiheadAttention (batch first), so weights can be copied.

Part of the toy translator that student code is given, so it lives in every sandbox's memory:
it computes attention with torch's own F.scaled_dot_product_attention and nothing of ours, so
it gives a submission nothing torch does not already give it (and the attention exercise's
"build it yourself" test takes that kernel away). The reference solution of the attention
exercise (content.nlp2llm.reference.functional) must never be in the sandbox's memory.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


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
        heads_q = self._split_heads(functional.linear(query, weight_q, bias_q))
        heads_k = self._split_heads(functional.linear(key, weight_k, bias_k))
        heads_v = self._split_heads(functional.linear(value, weight_v, bias_v))
        batch, _, length, _ = heads_q.shape
        source_length = heads_k.shape[-2]
        # (batch, 1, L, S): True where a query may attend to a key.
        allowed = torch.ones(length, source_length, dtype=torch.bool)
        if causal:
            allowed = allowed.tril()
        allowed = allowed.expand(batch, 1, length, source_length)
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask.reshape(batch, 1, 1, source_length)
        # A query that may see no key gets zeros (torch would give nan).
        sees_nothing = ~allowed.any(dim=-1, keepdim=True)
        heads_out = functional.scaled_dot_product_attention(heads_q, heads_k, heads_v, attn_mask=allowed)
        heads_out = heads_out.masked_fill(sees_nothing, 0.0)
        output = self.out_proj(heads_out.transpose(1, 2).reshape(batch, length, self.d_model))
        if not need_weights:
            return output, None
        # The weights are torch's attention of the identity: each query's row of softmax(Q K^T / sqrt(d)).
        identity = torch.eye(source_length, dtype=heads_q.dtype).expand(batch, self.num_heads, -1, -1)
        weights = functional.scaled_dot_product_attention(heads_q, heads_k, identity, attn_mask=allowed)
        weights = weights.masked_fill(sees_nothing, 0.0)
        return output, weights.mean(dim=1) if average_attn_weights else weights
