"""The toy English/French subword vocabulary of the first lesson: its pieces and their ids.

Provided to student code (the toy translator's embedding is sized by it); the tokenizer that
the tokenize exercise asks for stays on the trusted side, in content.nlp2llm.reference.vocabulary.
"""

from __future__ import annotations

PAD, START, EOS, UNK = "<pad>", "<s>", "<EOS>", "<unk>"
SPECIAL_TOKENS = (PAD, START, EOS, UNK)

# Pieces that begin a word. Matching is case-sensitive, hence "You" and "you".
WORD_PIECES = (
    "I", "am", "a", "tea", "You", "you", "are", "He", "he", "She", "she", "is", "not",
    "stu", "happy", "good",
    "Je", "suis", "en", "Tu", "tu", "es", "Il", "il", "Elle", "elle", "est", "un", "une",
    "é", "ne", "pas", "heur", "content", "bon",
)  # fmt: skip
# Pieces that continue a word ("tea" + "cher"). No string is both a word piece and a
# continuation, so a plain list of pieces decodes back to text with the right spaces.
CONTINUATION_PIECES = (
    "cher", "dent", "sei", "gnant", "gnante", "tudiant", "tudiante", "eux", "euse", "e", "s",
)  # fmt: skip
PUNCTUATION = (".", ",", "?", "!")

VOCABULARY: tuple[str, ...] = SPECIAL_TOKENS + WORD_PIECES + CONTINUATION_PIECES + PUNCTUATION
TOKEN_IDS: dict[str, int] = {token: index for index, token in enumerate(VOCABULARY)}
PAD_ID, START_ID, EOS_ID, UNK_ID = (TOKEN_IDS[token] for token in SPECIAL_TOKENS)

