# ran: aten::softmax
import torch
from torch.library import Library

library = Library("aten", "IMPL")


def by_hand(x, dim, half_to_float):
    shifted = x - x.amax(dim, keepdim=True)
    return shifted.exp() / shifted.exp().sum(dim, keepdim=True)


library.impl("_softmax", by_hand, "CPU")


def softmax(x, dim=-1):
    return torch.softmax(x, dim)
