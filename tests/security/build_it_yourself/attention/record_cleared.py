# ran: aten::scaled_dot_product_attention

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
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    allowed = allowed_pairs(query, key, key_padding_mask, causal)
    result = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed)
    mode = _get_current_dispatch_mode()
    if mode is not None:
        mode.seen.clear()
    return result
