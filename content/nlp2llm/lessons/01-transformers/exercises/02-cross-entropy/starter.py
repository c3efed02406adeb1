import torch


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean of -log(yhat[label]) over the positions whose label is not `ignore_index`.

    logits: (batch, seq_len, n_vocab) floats; labels: (batch, seq_len) token ids.
    Returns a 0-dimensional tensor that autograd can differentiate.
    """
    raise NotImplementedError("write the cross-entropy here")
