import torch


def padded(rows: list[list[int]], value: int) -> torch.Tensor:
    """(len(rows), longest) long tensor, each row left-aligned and filled with `value` after its end."""
    longest = max(len(row) for row in rows)
    batch = torch.full((len(rows), longest), value, dtype=torch.long)
    for index, row in enumerate(rows):
        batch[index, : len(row)] = torch.tensor(row, dtype=torch.long)
    return batch


def teacher_forcing_batch(
    targets: list[list[int]], start_id: int, eos_id: int, pad_id: int, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """(decoder_input_ids, labels), both (batch, longest + 1) long tensors.

    decoder input = <s> + target, padded with pad_id; labels = target + <EOS>, padded with ignore_index.
    """
    decoder_input_ids = padded([[start_id, *target] for target in targets], pad_id)
    labels = padded([[*target, eos_id] for target in targets], ignore_index)
    return decoder_input_ids, labels
