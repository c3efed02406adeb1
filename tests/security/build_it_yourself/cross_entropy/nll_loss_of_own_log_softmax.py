# ran: torch.nn.functional.nll_loss
import torch
import torch.nn.functional as F


def cross_entropy(logits, labels, ignore_index=-100):
    log_probabilities = logits - torch.logsumexp(logits, -1, keepdim=True)
    return F.nll_loss(log_probabilities.flatten(0, -2), labels.flatten(), ignore_index=ignore_index)
