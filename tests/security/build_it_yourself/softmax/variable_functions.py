# ran: aten::softmax
import torch


def softmax(x, dim=-1):
    return torch._C._VariableFunctions.softmax(x, dim)
