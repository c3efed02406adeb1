# ran: torch.distributions.categorical.Categorical.__init__
import torch


def cross_entropy(logits, labels, ignore_index=-100):
    kept = labels != ignore_index
    log_probabilities = torch.distributions.Categorical(logits=logits).log_prob(labels.masked_fill(~kept, 0))
    return -(log_probabilities * kept).sum() / kept.sum()
