import torch


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities along `dim`: exp(z_k) / sum_j exp(z_j), safe for very large logits."""
    # Shifting by the largest logit of each slice leaves the result unchanged and keeps exp <= 1.
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    exponentials = shifted.exp()
    return exponentials / exponentials.sum(dim=dim, keepdim=True)
