"""Tests of the tokenizer exercise: the lesson's sentence, longest pieces first, unknown pieces, given vocabularies."""

import re

from graders.code import test

UNKNOWN = "<unk>"

# The lesson's ids where it gives them; the others are made up.
LESSON_VOCABULARY = {
    "<pad>": 0, "<unk>": 3, "<s>": 212, "<EOS>": 5000,
    "I": 22, "a": 12, "am": 357, "tea": 1012, "cher": 3501,
    "Je": 490, "suis": 1131, "encei": 3212, "gnant": 2757, "gnante": 2758,
    "t": 80, "te": 81, "s": 82, "e": 83, "You": 41, "are": 42, "stu": 43, "dent": 44, "dents": 45,
    "happy": 46, "un": 47, "He": 48, "is": 49, "not": 50, ".": 5, ",": 6, "?": 7, "!": 8,
}  # fmt: skip

# The same pieces with other ids, in another order: code that wrote ids in gets them wrong.
RENUMBERED = {piece: 7000 + 3 * index for index, piece in enumerate(reversed(list(LESSON_VOCABULARY)))}

# The platform's own toy vocabulary of English and French pieces.
TOY_PIECES = (
    "<pad>", "<s>", "<EOS>", "<unk>", "I", "am", "a", "tea", "You", "you", "are", "He", "he", "She", "she",
    "is", "not", "stu", "happy", "good", "Je", "suis", "en", "Tu", "tu", "es", "Il", "il", "Elle", "elle",
    "est", "un", "une", "é", "ne", "pas", "heur", "content", "bon", "cher", "dent", "sei", "gnant", "gnante",
    "tudiant", "tudiante", "eux", "euse", "e", "s", ".", ",", "?", "!",
)
TOY_VOCABULARY = {piece: index for index, piece in enumerate(TOY_PIECES)}


def split_words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text)


def tokenize_like(text: str, vocabulary: dict, *, longest: bool = True, unknown: str = "rest") -> list[str]:
    """The expected tokenizer, and the usual mistakes: shortest piece first; unknowns dropped,
    one per character, or the whole word."""
    tokens = []
    for word in split_words(text):
        start, pieces = 0, []
        while start < len(word):
            ends = range(len(word), start, -1) if longest else range(start + 1, len(word) + 1)
            piece = next((word[start:end] for end in ends if word[start:end] in vocabulary), None)
            if piece is not None:
                pieces.append(piece)
                start += len(piece)
            elif unknown == "character":
                pieces.append(UNKNOWN)
                start += 1
            else:
                if unknown == "rest":
                    pieces.append(UNKNOWN)
                elif unknown == "word":
                    pieces = [UNKNOWN]
                break
        tokens.extend(pieces)
    return tokens


MISTAKES = [
    (
        {"longest": False},
        "You took the shortest matching piece first (e.g. `a` + `m` for `am`). At each position take the "
        "longest piece of the vocabulary that the rest of the word starts with: try the longest candidate first.",
    ),
    (
        {"unknown": "dropped"},
        "Your tokens leave out the part of the word that no piece matches. It must not vanish: the rest of "
        "the word becomes one \"<unk>\".",
    ),
    (
        {"unknown": "character"},
        "You wrote one \"<unk>\" per unmatched character. When no piece matches, the whole rest of the word "
        "becomes a single \"<unk>\", and you go on with the next word.",
    ),
    (
        {"unknown": "word"},
        "You replaced the whole word by \"<unk>\", dropping the pieces you had already matched. Keep them: "
        "only the rest of the word, from where no piece matches, becomes \"<unk>\".",
    ),
]


def whole_words(text: str, vocabulary: dict) -> list[str]:
    return [word if word in vocabulary else UNKNOWN for word in split_words(text)]


def check_tokens(t, text: str, vocabulary: dict) -> None:
    got = t.call("tokenize", text, vocabulary, returns=list)
    expected = tokenize_like(text, vocabulary)
    if got == expected:
        return
    shown = f"tokenize({text!r}, vocabulary) returned {got!r}; expected {expected!r}."
    if got == whole_words(text, vocabulary):
        t.fail(f"{shown} You looked up whole words only: cut each word into pieces of the vocabulary, "
               "longest piece first, as `teacher` -> `tea`, `cher`.")
    for options, message in MISTAKES:
        if got == tokenize_like(text, vocabulary, **options):
            t.fail(f"{shown} {message}")
    if not all(type(token) is str for token in got):
        t.fail(f"{shown} `tokenize` returns the pieces themselves (strings); `encode` returns their ids.")
    t.fail(shown)


def check_ids(t, text: str, vocabulary: dict, name: str = "vocabulary") -> None:
    got = t.call("encode", text, vocabulary, returns=list)
    tokens = tokenize_like(text, vocabulary)
    expected = [vocabulary[token] for token in tokens]
    if got == expected:
        return
    shown = f"encode({text!r}, {name}) returned {got!r}; expected {expected!r} (the ids of {tokens!r})."
    if got == tokens:
        t.fail(f"{shown} `encode` returns the ids of the pieces, `vocabulary[piece]`, not the pieces.")
    if got == [LESSON_VOCABULARY.get(token) for token in tokens] and vocabulary is not LESSON_VOCABULARY:
        t.fail(f"{shown} These are the ids of the lesson's vocabulary: use the `vocabulary` you are given.")
    t.fail(shown)


@test(title="The lesson's sentence: I, am, a, tea, cher", points=2)
def lesson_tokens(t):
    check_tokens(t, "I am a teacher", LESSON_VOCABULARY)


@test(title="The lesson's ids: 22 357 12 1012 3501", points=1)
def lesson_ids(t):
    check_ids(t, "I am a teacher", LESSON_VOCABULARY)


@test(title="The longest piece first", points=2)
def longest_piece_first(t):
    check_tokens(t, "You are students", LESSON_VOCABULARY)
    check_tokens(t, "Je suis enceignante", LESSON_VOCABULARY)


@test(title="Unknown pieces become one <unk>", points=2)
def unknown_pieces(t):
    check_tokens(t, "I am a xylophonist", LESSON_VOCABULARY)
    check_tokens(t, "He is a teacherz", LESSON_VOCABULARY)
    check_ids(t, "You are a teacherz", LESSON_VOCABULARY)


@test(title="Punctuation marks are words of their own", points=1)
def punctuation(t):
    check_tokens(t, "You are happy, I am a teacher!", LESSON_VOCABULARY)


@test(title="Ids come from the vocabulary you are given", points=1)
def the_vocabulary_you_are_given(t):
    check_ids(t, "I am a teacher.", RENUMBERED, name="another_vocabulary")


@test(title="The platform's toy vocabulary", points=1, hidden=True)
def toy_vocabulary(t):
    for text in ("You are a student.", "Je suis enseignante.", "She is not happy!", "Elle est heureuse"):
        check_tokens(t, text, TOY_VOCABULARY)
        check_ids(t, text, TOY_VOCABULARY)


@test(title="An empty text and extra spaces", points=1, hidden=True)
def empty_text_and_spaces(t):
    check_tokens(t, "", LESSON_VOCABULARY)
    check_ids(t, "", LESSON_VOCABULARY)
    check_tokens(t, "  I   am\ta\nteacher  ", LESSON_VOCABULARY)


@test(title="Unknown pieces at the start, in the middle and at the end of words", points=1, hidden=True)
def unknown_everywhere(t):
    check_tokens(t, "xtea teaxcher teacherx i AM", LESSON_VOCABULARY)
    check_ids(t, "xtea teaxcher teacherx i AM", RENUMBERED)


@test(title="Long words made of many pieces", points=1, hidden=True)
def long_words(t):
    words = ["".join(t.rng.choice(["tea", "cher", "s", "te", "un", "happy", "dent", "stu", "e"], 6)) for _ in range(20)]
    text = " ".join(words)
    check_tokens(t, text, LESSON_VOCABULARY)
    check_ids(t, text, LESSON_VOCABULARY)
