import torch


def sample_next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One token id per row of `logits` (..., n_vocab): argmax if temperature is 0, else a draw
    from softmax(logits / temperature) restricted to the top_k largest logits."""
    raise NotImplementedError("write the sampler here")
