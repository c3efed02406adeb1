import torch


def greedy_decode(
    model: torch.nn.Module, source_ids: list[int], start_id: int, eos_id: int, max_length: int = 20
) -> list[int]:
    """Generated ids after <s>, argmax at every step, up to and including <EOS> or max_length tokens."""
    raise NotImplementedError("write the decoding loop here")
