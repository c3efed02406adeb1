import torch


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean of -log(yhat[label]) over the positions whose label is not `ignore_index`.

    logits: (batch, seq_len, n_vocab) floats; labels: (batch, seq_len) token ids.
    Returns a 0-dimensional tensor that autograd can differentiate.
    """
    # log yhat_k = z_k - log sum_j exp(z_j), with the maximum subtracted so nothing overflows.
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    log_probabilities = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
    kept = labels != ignore_index
    # Padding still needs a valid index to gather from; its loss is dropped right after.
    safe_labels = labels.masked_fill(~kept, 0)
    token_losses = -log_probabilities.gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)
    return token_losses[kept].sum() / kept.sum()
