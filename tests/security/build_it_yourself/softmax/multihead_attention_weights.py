# ran: torch.nn.modules.activation.MultiheadAttention.__init__
import torch


def softmax(x, dim=-1):
    rows = x.movedim(dim, -1)
    flat = rows.reshape(-1, 1, rows.shape[-1])
    attention = torch.nn.MultiheadAttention(1, 1, bias=False, batch_first=True)
    with torch.no_grad():
        attention.in_proj_weight.fill_(1.0)
    keys = flat.transpose(1, 2)
    _, weights = attention(torch.ones(flat.shape[0], 1, 1), keys, keys)
    return weights.reshape(rows.shape).movedim(-1, dim)
