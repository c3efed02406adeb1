# ran: torch._refs.softmax
import torch


def softmax(x, dim=-1):
    return torch._refs.softmax(x, dim)
