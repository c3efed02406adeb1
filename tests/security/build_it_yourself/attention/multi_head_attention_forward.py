# ran: torch.nn.functional.multi_head_attention_forward

import torch
import torch.nn.functional as F


def allowed_pairs(query, key, key_padding_mask, causal):
    allowed = torch.ones(query.shape[0], query.shape[1], key.shape[1], dtype=torch.bool)
    if causal:
        allowed = allowed & torch.ones(query.shape[1], key.shape[1], dtype=torch.bool).tril()
    if key_padding_mask is not None:
        allowed = allowed & ~key_padding_mask[:, None, :]
    return allowed

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    d = query.shape[-1]
    identity = torch.eye(d, dtype=query.dtype)
    output, _ = F.multi_head_attention_forward(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), d, 1, None, None, None, None, False,
        0.0, identity, None, training=False, need_weights=True, use_separate_proj_weight=True,
        q_proj_weight=identity, k_proj_weight=identity, v_proj_weight=identity,
    )
    return output.transpose(0, 1)
