"""What the sandbox gives student code: the toy translator, its vocabulary, and their model registry.

The zygote imports this package before it forks any sandbox, so everything here is readable by
every submission (a `gc.get_objects()` finds it): it must hold no exercise's solution and no
expected value. Each exercise's solution.py and the reference implementations
(content.nlp2llm.reference) stay on the trusted side.

It sits in the course pack it serves; `content/` and `content/nlp2llm/` are namespace packages
(no `__init__.py`), so this is `content.nlp2llm.provided` and the pack holds no other Python
boilerplate. Only the zygote's memory holds it: no file of `content/` is in a sandbox's view.
"""

from content.nlp2llm.provided.attention import MultiHeadAttention
from content.nlp2llm.provided.toy_translator import (
    MODEL_FACTORIES,
    TOY_TRANSLATOR_SEED,
    ToyTranslator,
    build_toy_translator,
    sinusoidal_positional_encoding,
)
from content.nlp2llm.provided.vocabulary import EOS_ID, PAD_ID, START_ID, TOKEN_IDS, UNK_ID, VOCABULARY

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
