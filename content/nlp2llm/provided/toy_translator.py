"""A small deterministic encoder-decoder Transformer over the toy vocabulary, and the model registry."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from content.nlp2llm.provided.attention import MultiHeadAttention
from content.nlp2llm.provided.vocabulary import PAD_ID, VOCABULARY
from graders.sandbox.models import register_model


def sinusoidal_positional_encoding(length: int, d_model: int) -> torch.Tensor:
    """The (length, d_model) table of Vaswani et al.: sin at even columns, cos at odd ones.

    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i + 1] = cos(the same angle).
    """
    positions = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    even_columns = torch.arange(0, d_model, 2, dtype=torch.float64)
    angles = positions / torch.pow(10000.0, even_columns / d_model)
    encoding = torch.zeros(length, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(angles)
    # With an odd d_model the last even column has no cosine partner.
    encoding[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return encoding.to(torch.get_default_dtype())


class EncoderLayer(nn.Module):
    """Self-attention then a feed-forward block, each with a residual and a LayerNorm (post-norm)."""

    def __init__(self, d_model: int, num_heads: int, d_feedforward: int) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, num_heads)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, d_feedforward), nn.ReLU(), nn.Linear(d_feedforward, d_model)
        )
        self.norm_attention = nn.LayerNorm(d_model)
        self.norm_feedforward = nn.LayerNorm(d_model)

    def forward(self, hidden: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
        attended, _ = self.self_attention(hidden, hidden, hidden, key_padding_mask=padding_mask, need_weights=False)
        hidden = self.norm_attention(hidden + attended)
        return self.norm_feedforward(hidden + self.feedforward(hidden))


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention over the encoder's memory, then a feed-forward block."""

    def __init__(self, d_model: int, num_heads: int, d_feedforward: int) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, num_heads)
        self.cross_attention = MultiHeadAttention(d_model, num_heads)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, d_feedforward), nn.ReLU(), nn.Linear(d_feedforward, d_model)
        )
        self.norm_self = nn.LayerNorm(d_model)
        self.norm_cross = nn.LayerNorm(d_model)
        self.norm_feedforward = nn.LayerNorm(d_model)

    def forward(
        self, hidden: torch.Tensor, memory: torch.Tensor, source_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        attended, _ = self.self_attention(hidden, hidden, hidden, causal=True, need_weights=False)
        hidden = self.norm_self(hidden + attended)
        attended, _ = self.cross_attention(
            hidden, memory, memory, key_padding_mask=source_padding_mask, need_weights=False
        )
        hidden = self.norm_cross(hidden + attended)
        return self.norm_feedforward(hidden + self.feedforward(hidden))


class ToyTranslator(nn.Module):
    """Encoder-decoder Transformer: `encode` the source once, then `decode_step` one token at a time.

    Ids are (batch, length) LongTensors over the toy vocabulary; `<pad>` in the source is masked.
    """

    def __init__(
        self,
        vocabulary_size: int,
        *,
        d_model: int = 16,
        num_heads: int = 2,
        d_feedforward: int = 32,
        num_layers: int = 2,
        max_length: int = 64,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_length = max_length
        self.embedding = nn.Embedding(vocabulary_size, d_model)
        self.register_buffer(
            "positional_encoding", sinusoidal_positional_encoding(max_length, d_model), persistent=False
        )
        self.encoder_layers = nn.ModuleList(EncoderLayer(d_model, num_heads, d_feedforward) for _ in range(num_layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(d_model, num_heads, d_feedforward) for _ in range(num_layers))
        self.output_projection = nn.Linear(d_model, vocabulary_size)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        if length > self.max_length:
            raise ValueError(f"sequences of {length} tokens are longer than the model's {self.max_length}")
        return self.embedding(ids) * math.sqrt(self.d_model) + self.positional_encoding[:length]

    def source_padding_mask(self, source_ids: torch.Tensor) -> torch.Tensor:
        """(batch, source_length) bool, True at `<pad>`."""
        return source_ids == PAD_ID

    def encode(self, source_ids: torch.Tensor) -> torch.Tensor:
        """Encoder output ("memory"), (batch, source_length, d_model)."""
        padding_mask = self.source_padding_mask(source_ids)
        hidden = self._embed(source_ids)
        for layer in self.encoder_layers:
            hidden = layer(hidden, padding_mask)
        return hidden

    def decode(self, memory: torch.Tensor, decoder_input_ids: torch.Tensor, source_ids: torch.Tensor) -> torch.Tensor:
        """Logits (batch, target_length, vocabulary) for every decoder position (teacher forcing)."""
        source_padding_mask = self.source_padding_mask(source_ids)
        hidden = self._embed(decoder_input_ids)
        for layer in self.decoder_layers:
            hidden = layer(hidden, memory, source_padding_mask)
        return self.output_projection(hidden)

    def decode_step(
        self, memory: torch.Tensor, decoder_input_ids: torch.Tensor, source_ids: torch.Tensor
    ) -> torch.Tensor:
        """Logits (batch, vocabulary) for the token that follows `decoder_input_ids`."""
        return self.decode(memory, decoder_input_ids, source_ids)[:, -1]

    def forward(self, source_ids: torch.Tensor, decoder_input_ids: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(source_ids), decoder_input_ids, source_ids)


TOY_TRANSLATOR_SEED = 212


def build_toy_translator(seed: int = TOY_TRANSLATOR_SEED) -> ToyTranslator:
    """The course's toy translator: untrained weights drawn from `seed`, in eval mode.

    The global random state is left as it was, so building the model inside a student's
    process changes none of their random numbers.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ToyTranslator(len(VOCABULARY))
    return model.eval()


MODEL_FACTORIES: dict[str, Callable[..., nn.Module]] = {"toy_translator": build_toy_translator}
# The sandbox imports this package before running student code and builds models by name.
for _name, _factory in MODEL_FACTORIES.items():
    register_model(_name)(_factory)
