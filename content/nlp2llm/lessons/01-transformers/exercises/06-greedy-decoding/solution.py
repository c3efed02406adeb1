import torch


@torch.no_grad()
def greedy_decode(
    model: torch.nn.Module, source_ids: list[int], start_id: int, eos_id: int, max_length: int = 20
) -> list[int]:
    """Generated ids after <s>, argmax at every step, up to and including <EOS> or max_length tokens."""
    source = torch.tensor([source_ids], dtype=torch.long)
    memory = model.encode(source)
    generated = [start_id]
    for _ in range(max_length):
        logits = model.decode_step(memory, torch.tensor([generated], dtype=torch.long), source)
        next_id = int(logits[0].argmax())
        generated.append(next_id)
        if next_id == eos_id:
            break
    return generated[1:]
