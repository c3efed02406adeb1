import re

UNKNOWN = "<unk>"


def split_words(text: str) -> list[str]:
    """Runs of letters and digits, and each punctuation mark on its own: "a teacher." -> a, teacher, ."""
    return re.findall(r"\w+|[^\w\s]", text)


def tokenize(text: str, vocabulary: dict[str, int]) -> list[str]:
    """The pieces of `text`: each word cut longest piece first; an unmatched rest becomes "<unk>"."""
    tokens = []
    for word in split_words(text):
        start = 0
        while start < len(word):
            ends = range(len(word), start, -1)
            piece = next((word[start:end] for end in ends if word[start:end] in vocabulary), None)
            if piece is None:
                tokens.append(UNKNOWN)
                break
            tokens.append(piece)
            start += len(piece)
    return tokens


def encode(text: str, vocabulary: dict[str, int]) -> list[int]:
    """The ids of the pieces of `text`."""
    return [vocabulary[token] for token in tokenize(text, vocabulary)]
