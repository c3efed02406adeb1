"""The reference softmax, cross-entropy, attention and positional encoding agree with torch's own."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from content.nlp2llm.reference import (
    attention_with_weights,
    causal_mask,
    cross_entropy,
    log_softmax,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    softmax,
)

FEW_EXAMPLES = settings(max_examples=30, deadline=None)
sizes = st.integers(min_value=1, max_value=5)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def random_tensor(shape, seed, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64) * scale


@FEW_EXAMPLES
@given(shape=st.lists(sizes, min_size=1, max_size=4), seed=seeds, scale=st.sampled_from([1.0, 100.0, 1e4]))
def test_softmax_and_log_softmax_match_torch_on_every_dim(shape, seed, scale):
    logits = random_tensor(shape, seed, scale)
    for dim in range(-len(shape), len(shape)):
        torch.testing.assert_close(softmax(logits, dim=dim), F.softmax(logits, dim=dim))
        torch.testing.assert_close(log_softmax(logits, dim=dim), F.log_softmax(logits, dim=dim))


def test_softmax_does_not_overflow_on_huge_logits():
    logits = torch.tensor([1000.0, 1000.0, -1000.0])
    torch.testing.assert_close(softmax(logits), torch.tensor([0.5, 0.5, 0.0]))
    assert torch.isfinite(log_softmax(logits)).all()


@FEW_EXAMPLES
@given(
    batch=sizes,
    length=sizes,
    vocabulary=st.integers(min_value=2, max_value=7),
    seed=seeds,
    label_smoothing=st.sampled_from([0.0, 0.1, 0.5]),
    data=st.data(),
)
def test_cross_entropy_matches_torch_with_padding_and_label_smoothing(
    batch, length, vocabulary, seed, label_smoothing, data
):
    logits = random_tensor((batch, length, vocabulary), seed, scale=3.0)
    labels = torch.tensor(
        data.draw(
            st.lists(
                st.lists(st.integers(min_value=0, max_value=vocabulary - 1), min_size=length, max_size=length),
                min_size=batch,
                max_size=batch,
            )
        )
    )
    # Pad the end of every row but the first, which keeps at least one real token.
    padded_lengths = data.draw(st.lists(st.integers(0, length - 1), min_size=batch, max_size=batch))
    for row, padded in enumerate(padded_lengths[1:], start=1):
        labels[row, length - padded :] = -100
    expected = F.cross_entropy(
        logits.reshape(-1, vocabulary), labels.reshape(-1), ignore_index=-100, label_smoothing=label_smoothing
    )
    torch.testing.assert_close(cross_entropy(logits, labels, label_smoothing=label_smoothing), expected)


def test_cross_entropy_is_minus_log_of_the_true_class_probability():
    logits = torch.tensor([[2.0, 1.0, 0.1]])
    probabilities = torch.softmax(logits, dim=-1)
    torch.testing.assert_close(cross_entropy(logits, torch.tensor([0])), -probabilities[0, 0].log())


def test_cross_entropy_honours_a_custom_ignore_index():
    logits = random_tensor((2, 3, 4), seed=1)
    labels = torch.tensor([[1, 2, 0], [3, 0, 0]])
    expected = F.cross_entropy(logits.reshape(-1, 4), labels.reshape(-1), ignore_index=0)
    torch.testing.assert_close(cross_entropy(logits, labels, ignore_index=0), expected)


@FEW_EXAMPLES
@given(
    batch=sizes,
    heads=st.integers(min_value=1, max_value=3),
    query_length=sizes,
    key_length=sizes,
    head_dim=st.integers(min_value=1, max_value=6),
    causal=st.booleans(),
    seed=seeds,
    data=st.data(),
)
def test_attention_matches_torch_sdpa_with_padding_and_causal_masks(
    batch, heads, query_length, key_length, head_dim, causal, seed, data
):
    query = random_tensor((batch, heads, query_length, head_dim), seed)
    key = random_tensor((batch, heads, key_length, head_dim), seed + 1)
    value = random_tensor((batch, heads, key_length, head_dim + 1), seed + 2)
    real_lengths = data.draw(st.lists(st.integers(1, key_length), min_size=batch, max_size=batch))
    key_padding_mask = torch.arange(key_length)[None, :] >= torch.tensor(real_lengths)[:, None]
    allowed = ~key_padding_mask[:, None, None, :]
    if causal:
        allowed = allowed & causal_mask(query_length, key_length)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed)
    output, weights = attention_with_weights(query, key, value, key_padding_mask=key_padding_mask, causal=causal)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(
        scaled_dot_product_attention(query, key, value, key_padding_mask=key_padding_mask, causal=causal),
        expected,
    )
    assert not weights.masked_select(~allowed.expand_as(weights)).any()


def test_attention_weights_rows_sum_to_one_and_give_padding_nothing():
    query, key, value = (random_tensor((1, 3, 4), seed) for seed in (1, 2, 3))
    padding = torch.tensor([[False, False, True]])
    _, weights = attention_with_weights(query, key, value, key_padding_mask=padding)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(1, 3, dtype=torch.float64))
    assert (weights[..., 2] == 0).all()


def test_a_query_that_sees_no_key_gets_a_zero_output_like_torch():
    query, key, value = (random_tensor((1, 2, 4), seed) for seed in (1, 2, 3))
    everything_padded = torch.tensor([[True, True]])
    output = scaled_dot_product_attention(query, key, value, key_padding_mask=everything_padded)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=~everything_padded[:, None, :])
    torch.testing.assert_close(output, expected)
    assert (output == 0).all()


@FEW_EXAMPLES
@given(length=st.integers(1, 40), d_model=st.integers(1, 17))
def test_positional_encoding_follows_the_paper_formula(length, d_model):
    encoding = sinusoidal_positional_encoding(length, d_model)
    assert encoding.shape == (length, d_model)
    for position in range(length):
        for column in range(d_model):
            angle = position / 10000 ** ((column - column % 2) / d_model)
            expected = math.sin(angle) if column % 2 == 0 else math.cos(angle)
            assert encoding[position, column].item() == pytest.approx(expected, abs=1e-6)
