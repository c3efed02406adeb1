import re


def split_words(text: str) -> list[str]:
    """Runs of letters and digits, and each punctuation mark on its own: "a teacher." -> a, teacher, ."""
    return re.findall(r"\w+|[^\w\s]", text)


def tokenize(text: str, vocabulary: dict[str, int]) -> list[str]:
    """The pieces of `text`: each word cut longest piece first; an unmatched rest becomes "<unk>"."""
    raise NotImplementedError("write the tokenizer here")


def encode(text: str, vocabulary: dict[str, int]) -> list[int]:
    """The ids of the pieces of `text`."""
    raise NotImplementedError("map the pieces to their ids here")
