# ran: aten::softmax
import torch


def softmax(x, dim=-1):
    rows = x.movedim(dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    return torch.func.vmap(lambda row: torch.softmax(row, 0))(flat).reshape(rows.shape).movedim(-1, dim)
