# ran: aten::scaled_dot_product_attention
import torch
import torch.nn.functional as F


def softmax(x, dim=-1):
    rows = x.movedim(dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    n = flat.shape[-1]
    query = torch.ones(flat.shape[0], 1, 1, dtype=x.dtype)
    identity = torch.eye(n, dtype=x.dtype).expand(flat.shape[0], n, n)
    out = F.scaled_dot_product_attention(query, flat.unsqueeze(-1), identity, scale=1.0)
    return out.reshape(rows.shape).movedim(-1, dim)
