"""The reference multi-head attention gives nn.MultiheadAttention's outputs once its weights are copied in."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from content.nlp2llm.reference import MultiHeadAttention, causal_mask


def copied_pair(d_model, num_heads, seed):
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(d_model, num_heads, batch_first=True, dtype=torch.float64)
    # Non-zero biases, so a bias taken from the wrong slice would show.
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = MultiHeadAttention(d_model, num_heads).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    heads=st.integers(1, 3),
    head_dim=st.integers(1, 4),
    query_length=st.integers(1, 5),
    key_length=st.integers(1, 5),
    causal=st.booleans(),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_multi_head_attention_matches_torch(batch, heads, head_dim, query_length, key_length, causal, seed, data):
    d_model = heads * head_dim
    ours, theirs = copied_pair(d_model, heads, seed)
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, query_length, d_model, generator=generator, dtype=torch.float64)
    memory = torch.randn(batch, key_length, d_model, generator=generator, dtype=torch.float64)
    real_lengths = data.draw(st.lists(st.integers(1, key_length), min_size=batch, max_size=batch))
    padding = torch.arange(key_length)[None, :] >= torch.tensor(real_lengths)[:, None]
    attn_mask = ~causal_mask(query_length, key_length) if causal else None
    for average in (True, False):
        expected, expected_weights = theirs(
            query, memory, memory, key_padding_mask=padding, attn_mask=attn_mask, average_attn_weights=average
        )
        output, weights = ours(
            query, memory, memory, key_padding_mask=padding, causal=causal, average_attn_weights=average
        )
        torch.testing.assert_close(output, expected)
        torch.testing.assert_close(weights, expected_weights)


def test_state_dict_has_the_keys_and_shapes_of_torch():
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    ours = MultiHeadAttention(8, 2)
    assert {key: value.shape for key, value in ours.state_dict().items()} == {
        key: value.shape for key, value in theirs.state_dict().items()
    }


def test_need_weights_false_returns_no_weights():
    ours = MultiHeadAttention(4, 2)
    hidden = torch.randn(1, 3, 4)
    output, weights = ours(hidden, hidden, hidden, need_weights=False)
    assert output.shape == (1, 3, 4)
    assert weights is None
