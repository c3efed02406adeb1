# ran: aten::_scaled_dot_product_attention_math

import torch


def allowed_pairs(query, key, key_padding_mask, causal):
    allowed = torch.ones(query.shape[0], query.shape[1], key.shape[1], dtype=torch.bool)
    if causal:
        allowed = allowed & torch.ones(query.shape[1], key.shape[1], dtype=torch.bool).tril()
    if key_padding_mask is not None:
        allowed = allowed & ~key_padding_mask[:, None, :]
    return allowed

def scaled_dot_product_attention(query, key, value, key_padding_mask=None, causal=False):
    allowed = allowed_pairs(query, key, key_padding_mask, causal)
    return torch.ops.aten._scaled_dot_product_attention_math(query, key, value, attn_mask=allowed)[0]
