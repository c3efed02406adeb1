"""Quiz texts as plain text, for spreadsheets: the words as they read, and what a reader needs of the rest."""

import pytest

from quizzes.text import plain_text


@pytest.mark.parametrize(("markdown", "plain"), [
    ("BERT is **encoder-only**, *mostly*", "BERT is encoder-only, mostly"),
    ("Softmax: $e^{z_k}$", "Softmax: $e^{z_k}$"),
    ("See [the paper](https://arxiv.org/abs/1706.03762).", "See the paper (https://arxiv.org/abs/1706.03762)."),
    ("**[Attention](https://example.org/a)** is all", "Attention (https://example.org/a) is all"),
    ("<https://example.org/x>", "https://example.org/x"),
    ("[https://example.org](https://example.org)", "https://example.org"),
    ("[](https://example.org/empty)", "https://example.org/empty"),
])
def test_formatting_goes_and_link_addresses_stay(markdown, plain):
    assert plain_text(markdown) == plain


@pytest.mark.parametrize("typed", ["2017.", "1)", "---"])
def test_a_text_markdown_reads_as_empty_stays_as_typed(typed):
    assert plain_text(typed) == typed
