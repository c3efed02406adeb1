"""Padding and the teacher-forcing batch: decoder input = <s> + target, labels = target + <EOS>."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from content.nlp2llm.provided.vocabulary import EOS_ID, PAD_ID, START_ID
from content.nlp2llm.reference.functional import IGNORE_INDEX


def pad_sequences(sequences: Sequence[Sequence[int]], padding_value: int = PAD_ID) -> torch.Tensor:
    """(batch, longest) LongTensor, each sequence left-aligned and padded at the end."""
    if not sequences:
        raise ValueError("cannot pad an empty batch")
    longest = max(len(sequence) for sequence in sequences)
    batch = torch.full((len(sequences), longest), padding_value, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = torch.tensor(list(sequence), dtype=torch.long)
    return batch


@dataclass
class TeacherForcingBatch:
    """Decoder inputs padded with `<pad>`, labels padded with the ignore index; both (batch, longest + 1)."""

    decoder_input_ids: torch.Tensor
    labels: torch.Tensor


def teacher_forcing_batch(targets: Sequence[Sequence[int]], *, ignore_index: int = IGNORE_INDEX) -> TeacherForcingBatch:
    """The training batch of the lesson: label t is the token to predict after decoder input t."""
    return TeacherForcingBatch(
        decoder_input_ids=pad_sequences([[START_ID, *target] for target in targets], PAD_ID),
        labels=pad_sequences([[*target, EOS_ID] for target in targets], ignore_index),
    )
