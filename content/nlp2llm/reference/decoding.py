"""Greedy decoding until `<EOS>` and reproducible sampling with temperature and top-k."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from content.nlp2llm.provided import ToyTranslator
from content.nlp2llm.provided.vocabulary import EOS_ID, START_ID
from content.nlp2llm.reference.functional import softmax


def sample_next_token(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One token id per row of `logits` (..., vocabulary) -> (...).

    Temperature 0 is argmax. Otherwise only the `top_k` largest logits are kept (ties with
    the k-th are kept too), divided by the temperature, turned into probabilities by softmax
    and sampled with `torch.multinomial(probabilities, 1, generator=generator)`.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, not {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, not {top_k}")
        kth_largest = scaled.topk(min(top_k, scaled.shape[-1]), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth_largest, float("-inf"))
    probabilities = softmax(scaled, dim=-1)
    flat = probabilities.reshape(-1, probabilities.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(probabilities.shape[:-1])


@torch.no_grad()
def sample_decode(
    model: ToyTranslator,
    source_ids: Sequence[int],
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    max_length: int = 20,
) -> list[int]:
    """Generated ids for one source sentence, after `<s>`, up to and including `<EOS>`.

    Decoding stops at `<EOS>` or after `max_length` generated tokens. Temperature 0 is greedy.
    """
    source = torch.tensor([list(source_ids)], dtype=torch.long)
    memory = model.encode(source)
    generated = [START_ID]
    for _ in range(max_length):
        logits = model.decode_step(memory, torch.tensor([generated], dtype=torch.long), source)
        next_id = int(sample_next_token(logits[0], temperature=temperature, top_k=top_k, generator=generator))
        generated.append(next_id)
        if next_id == EOS_ID:
            break
    return generated[1:]


def greedy_decode(model: ToyTranslator, source_ids: Sequence[int], *, max_length: int = 20) -> list[int]:
    """Argmax at every step until `<EOS>` or `max_length` tokens (ties go to the lowest id)."""
    return sample_decode(model, source_ids, temperature=0.0, max_length=max_length)
