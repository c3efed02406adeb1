# ran: torch._decomp.decompositions.scaled_dot_product_flash_attention_for_cpu
import math

import torch
import torch._decomp.decompositions as decompositions


def allowed_pairs(query, key, key_padding_mask, causal):
    allowed = torch.ones(query.shape[0], query.shape[1], key.shape[1], dtype=torch.bool)
    if causal:
        allowed = allowed & torch.ones(query.shape[1], key.shape[1], dtype=torch.bool).tril()
    if key_padding_mask is not None:
        allowed = allowed & ~key_padding_mask[:, None, :]
    return allowed



def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    allowed = allowed_pairs(query, key, key_padding_mask, causal)
    bias = torch.zeros(allowed.shape, dtype=query.dtype).masked_fill(~allowed, -math.inf)
    return decompositions.scaled_dot_product_flash_attention_for_cpu(
        query[:, None], key[:, None], value[:, None], attn_mask=bias[:, None]
    )[0][:, 0]
