# ran: aten::_masked_softmax
import torch


def softmax(x, dim=-1):
    return torch._masked_softmax(x, torch.zeros_like(x, dtype=torch.bool), dim)
