# ran: aten::softmax
import torch

GRAPH = """graph(%x : Tensor, %d : int):
  %none : NoneType = prim::Constant()
  %r : Tensor = aten::softmax(%x, %d, %none)
  return (%r)"""


def softmax(x, dim=-1):
    return torch._C._create_function_from_graph("f", torch._C.parse_ir(GRAPH))(x, dim)
