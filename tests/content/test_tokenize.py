"""The tokenizer exercise: the lesson's sentence and ids, and the feedback for the usual tokenizing slips."""

FOLDER = "04-tokenize"

SPLIT = """
import re

def split_words(text):
    return re.findall(r"\\w+|[^\\w\\s]", text)

def encode(text, vocabulary):
    return [vocabulary[token] for token in tokenize(text, vocabulary)]
"""

SHORTEST_FIRST = SPLIT + """
def tokenize(text, vocabulary):
    tokens = []
    for word in split_words(text):
        start = 0
        while start < len(word):
            for end in range(start + 1, len(word) + 1):
                if word[start:end] in vocabulary:
                    tokens.append(word[start:end])
                    start = end
                    break
            else:
                tokens.append("<unk>")
                break
    return tokens
"""

# The longest piece first, then a variation on what to do when nothing matches.
LONGEST_FIRST = SPLIT + """
def longest_piece(word, start, vocabulary):
    for end in range(len(word), start, -1):
        if word[start:end] in vocabulary:
            return word[start:end]
    return None

def tokenize(text, vocabulary):
    tokens = []
    for word in split_words(text):
        start = 0
        while start < len(word):
            piece = longest_piece(word, start, vocabulary)
            {unmatched}
            tokens.append(piece)
            start += len(piece)
    return tokens
"""

UNKNOWN_DROPPED = LONGEST_FIRST.replace("{unmatched}", "if piece is None:\n                break")
ONE_UNKNOWN_PER_CHARACTER = LONGEST_FIRST.replace(
    "{unmatched}", "if piece is None:\n                piece = '<unk>'\n                start -= 4"
)

WHOLE_WORDS = SPLIT + """
def tokenize(text, vocabulary):
    return [word if word in vocabulary else "<unk>" for word in split_words(text)]
"""

ENCODE_RETURNS_PIECES = LONGEST_FIRST.replace(
    "{unmatched}", "if piece is None:\n                tokens.append('<unk>')\n                break"
) + """
def encode(text, vocabulary):
    return tokenize(text, vocabulary)
"""

POSITIONS_NOT_IDS = LONGEST_FIRST.replace(
    "{unmatched}", "if piece is None:\n                tokens.append('<unk>')\n                break"
) + """
def encode(text, vocabulary):
    return [list(vocabulary).index(token) for token in tokenize(text, vocabulary)]
"""


def test_the_reference_solution_gets_full_marks(exercise):
    graded = exercise.grade_file("solution.py")
    assert graded.score == graded.max_score == 13


def test_the_starter_gets_nothing(exercise):
    assert exercise.grade_file("starter.py").score == 0


def test_the_wrong_solutions_share_a_correct_skeleton(exercise):
    # With encode repaired, the skeleton of the wrong solutions below scores full marks: each of
    # them is wrong only where its name says.
    repaired = ENCODE_RETURNS_PIECES.replace(
        "return tokenize(text, vocabulary)", "return [vocabulary[piece] for piece in tokenize(text, vocabulary)]"
    )
    assert exercise.grade(repaired).score == 13


def test_shortest_piece_first_is_told_to_try_the_longest_candidate_first(exercise):
    graded = exercise.grade(SHORTEST_FIRST)
    assert graded.score == 0
    assert graded.message("lesson_tokens") == (
        "tokenize('I am a teacher', vocabulary) returned ['I', 'a', '<unk>', 'a', 't', 'e', 'a', 'cher']; "
        "expected ['I', 'am', 'a', 'tea', 'cher']. You took the shortest matching piece first (e.g. `a` + `m` "
        "for `am`). At each position take the longest piece of the vocabulary that the rest of the word starts "
        "with: try the longest candidate first."
    )


def test_dropping_what_no_piece_matches_is_caught(exercise):
    graded = exercise.grade(UNKNOWN_DROPPED)
    assert graded.failed_visible == {"unknown_pieces"}
    assert graded.score == 9
    assert graded.message("unknown_pieces").startswith(
        "tokenize('I am a xylophonist', vocabulary) returned ['I', 'am', 'a']; expected ['I', 'am', 'a', '<unk>']. "
        "Your tokens leave out the part of the word that no piece matches."
    )


def test_one_unknown_per_character_is_told_to_write_one_for_the_rest_of_the_word(exercise):
    graded = exercise.grade(ONE_UNKNOWN_PER_CHARACTER)
    assert graded.failed_visible == {"unknown_pieces"}
    assert graded.score == 9
    assert "You wrote one \"<unk>\" per unmatched character." in graded.message("unknown_pieces")


def test_looking_up_whole_words_is_told_to_cut_them_into_pieces(exercise):
    graded = exercise.grade(WHOLE_WORDS)
    assert graded.score == 0
    assert graded.message("lesson_tokens").endswith(
        "You looked up whole words only: cut each word into pieces of the vocabulary, longest piece first, "
        "as `teacher` -> `tea`, `cher`."
    )


def test_encode_returning_pieces_is_told_to_look_up_their_ids(exercise):
    graded = exercise.grade(ENCODE_RETURNS_PIECES)
    assert graded.failed_visible == {"lesson_ids", "unknown_pieces", "the_vocabulary_you_are_given"}
    assert graded.score == 6
    assert graded.message("lesson_ids").endswith(
        "`encode` returns the ids of the pieces, `vocabulary[piece]`, not the pieces."
    )


def test_positions_in_the_vocabulary_are_not_ids(exercise):
    graded = exercise.grade(POSITIONS_NOT_IDS)
    assert graded.message("lesson_ids") == (
        "encode('I am a teacher', vocabulary) returned [4, 6, 5, 7, 8]; expected [22, 357, 12, 1012, 3501] "
        "(the ids of ['I', 'am', 'a', 'tea', 'cher'])."
    )
