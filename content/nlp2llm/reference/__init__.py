"""Reference implementations of the course's Transformer pieces, checked against torch's own.

Trusted side only: nothing here may be imported by the sandbox's zygote, and no file of
content/ is in a sandbox's view. Grading does not import it either: a submission is graded
against its exercise's solution.py. What student code is given (the toy translator and its
vocabulary) is in content.nlp2llm.provided, re-exported here for the trusted side's convenience.
Its tests are tests/content/test_reference_*.py.
"""

from content.nlp2llm.provided import (
    MultiHeadAttention,
    ToyTranslator,
    build_toy_translator,
    sinusoidal_positional_encoding,
)
from content.nlp2llm.provided.toy_translator import MODEL_FACTORIES
from content.nlp2llm.reference.batching import TeacherForcingBatch, pad_sequences, teacher_forcing_batch
from content.nlp2llm.reference.decoding import greedy_decode, sample_decode, sample_next_token
from content.nlp2llm.reference.functional import (
    IGNORE_INDEX,
    attention_with_weights,
    causal_mask,
    cross_entropy,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
)
from content.nlp2llm.reference.vocabulary import (
    EOS_ID,
    PAD_ID,
    START_ID,
    TOKEN_IDS,
    UNK_ID,
    VOCABULARY,
    decode_ids,
    encode_text,
    tokenize,
)

__all__ = [
    "EOS_ID",
    "IGNORE_INDEX",
    "MODEL_FACTORIES",
    "PAD_ID",
    "START_ID",
    "TOKEN_IDS",
    "UNK_ID",
    "VOCABULARY",
    "MultiHeadAttention",
    "TeacherForcingBatch",
    "ToyTranslator",
    "attention_with_weights",
    "build_toy_translator",
    "causal_mask",
    "cross_entropy",
    "decode_ids",
    "encode_text",
    "greedy_decode",
    "log_softmax",
    "pad_sequences",
    "sample_decode",
    "sample_next_token",
    "scaled_dot_product_attention",
    "sinusoidal_positional_encoding",
    "softmax",
    "teacher_forcing_batch",
    "tokenize",
]
