"""What the sandbox gives student code: the toy translator, its vocabulary, and their model registry.

The zygote imports this package before it forks any sandbox, so everything here is readable by
every submission (a `gc.get_objects()` finds it): it must hold no exercise's solution and no
expected value. The reference solutions live in graders.reference, on the trusted side only.
"""

from graders.provided.attention import MultiHeadAttention
from graders.provided.toy_translator import (
    MODEL_FACTORIES,
    TOY_TRANSLATOR_SEED,
    ToyTranslator,
    build_toy_translator,
    sinusoidal_positional_encoding,
)
from graders.provided.vocabulary import EOS_ID, PAD_ID, START_ID, TOKEN_IDS, UNK_ID, VOCABULARY

__all__ = [
    "EOS_ID",
    "MODEL_FACTORIES",
    "PAD_ID",
    "START_ID",
    "TOKEN_IDS",
    "TOY_TRANSLATOR_SEED",
    "UNK_ID",
    "VOCABULARY",
    "MultiHeadAttention",
    "ToyTranslator",
    "build_toy_translator",
    "sinusoidal_positional_encoding",
]
