# ran: torch._decomp.decompositions._softmax
import torch._decomp.decompositions as decompositions


def softmax(x, dim=-1):
    return decompositions._softmax(x, dim, False)
