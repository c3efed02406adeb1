import torch


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d_k)) V over the keys, with padded keys (True in key_padding_mask) and,
    if causal, later positions left out. Shapes: (batch, L, d_k), (batch, S, d_k), (batch, S, d_v)."""
    raise NotImplementedError("write the attention here")
