import torch


def teacher_forcing_batch(
    targets: list[list[int]], start_id: int, eos_id: int, pad_id: int, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """(decoder_input_ids, labels), both (batch, longest + 1) long tensors.

    decoder input = <s> + target, padded with pad_id; labels = target + <EOS>, padded with ignore_index.
    """
    raise NotImplementedError("build the decoder inputs and the labels here")
