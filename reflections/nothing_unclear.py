"""Whether a reflection answer reports no topic at all ("Nothing", "N/A", "I wasn't confused by anything", "all good").

Read clause by clause: the answer is split at punctuation and before "but", "except",
"until" ..., and each clause is read from four kinds of words: negations ("no", "nothing",
"n't"), words of trouble ("confusing", "lost", "struggle"), words of ease ("clear", "made
sense", "understood") and content words (what is left once stop words are taken out).

- A clause says "all clear" when it is a bare negation ("No", "Nothing really", "None so
  far"), or when each negation turns the word of trouble or ease that follows it (within
  NEGATION_REACH words) into ease ("nothing was confusing", "there was nothing I didn't
  understand", "I had no trouble") and no word of trouble is left ("it all made sense").
- It says "trouble" when one is left ("nothing made sense", "that lost me", "no idea what
  teacher forcing is", "I understood nothing").
- It names a topic when it has a content word and starts with an exception ("... until
  the masking part", "apart from beam search"), asks a question ("Why do we divide by
  sqrt(d_k)?") or makes a wish ("I would have liked more practice problems").
- It is a comment when it has a content word otherwise: it says what was clear without
  speaking of the whole ("the KV cache was not confusing"), or nothing about being clear
  ("The non linear modeling is interesting").

An answer is "nothing unclear" when its first clause that says anything says "all clear"
and no clause says "trouble" or names a topic; later clauses may comment ("Nothing. I got
clarification on UDFs": `reading` tells those apart, and the theme finder files them under
the thing commented on when it is a theme). On the real data the annotators put "Nothing
was confusing. I would have liked more practice problems" under the problems, not under "No
Confusion", and so does this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEGATIONS = frozenset("no not nothing none nope nah never without neither nor nobody nil cannot".split())
TROUBLE = re.compile(
    r"(?:confus\w*|unclear|lost|troubl\w*|difficult\w*|hard\w*|struggl\w*|stuck|puzzl\w*|complicated|"
    r"challeng\w*|tricky|unsure|uncertain|doubts?|questions?|problems?|issues?|idea|clue)"
)
# A topic ("the top hat questions", "example problems") unless negated ("no questions").
TROUBLE_ONLY_NEGATED = frozenset("question questions problem problems issue issues idea clue".split())
EASY = re.compile(
    r"(?:clear\w*|understood|understand\w*|sense|fine|good|ok|okay|straightforward|easy|easier|well|got|"
    r"follow\w*|confident|explanatory|comprehensible|obvious|simple|great|perfect\w*)"
)
# Words that speak of the whole lesson, not of one part of it.
WHOLE = frozenset("everything anything all nothing none".split())
# Words of a "nothing unclear" answer that name no topic.
FILLER = frozenset("""
comes come came mind report stood stands stand out particular far moment currently now thanks thank
guess honestly sorry mostly pretty super right totally entirely really today class lesson lecture pace paced
pacing self smooth smoothly makes made
""".split())
# A wish names what the student wants more of ("I would have liked more practice problems").
WISH = re.compile(r"\b(?:would|wish|could|should|need|needs|hope|want|wanted)\b")
# A clause that starts with one of these names an exception ("but the masking part").
EXCEPTION = re.compile(
    r"\s*(?:but|except|excepting|besides|however|though|although|until|till|unless|only|apart from|"
    r"other than|aside from|save for|maybe|perhaps|possibly|probably|wish|still)\b"
)
CLAUSE_BREAK = re.compile(
    r"[.!;:,\n]+|(?=\b(?:but|except|however|though|although|until|apart from|other than|aside from)\b)"
)
# "Nothing everything was clear": a bare "nothing" the student did not punctuate.
LEADING_NEGATION = re.compile(r"\s*(?:nothing|none|nope|no)\b(?:\s+really)?(?=\s+(?:everything|it|i|all|most)\b)")
WORD = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?")


# A negation turns the next word of trouble or ease within this many words ("nothing in
# today's class was confusing"); one that turns none is a bare negation ("Nothing really").
NEGATION_REACH = 6


@dataclass
class Clause:
    clear: int  # words of ease, or of trouble under a negation
    trouble: int  # words of trouble, or of ease under a negation ("nothing made sense")
    bare_negation: bool
    whole: bool
    content: bool
    exception: bool
    question: bool
    wish: bool

    @property
    def verdict(self) -> str:
        """"clear", "trouble", "topic", "comment" (names something, asks nothing), or "neutral"."""
        if (self.exception or self.question or self.wish) and self.content:
            return "topic"
        if self.trouble:
            return "trouble"
        if self.clear:
            # What was clear is named as the whole ("nothing in today's class was confusing"),
            # not as one part ("the attention part was clear"), which is a comment on a topic.
            return "comment" if self.content and not self.whole else "clear"
        if self.bare_negation:  # "Nothing really"; "the attention part not so much"
            return ("comment" if self.whole else "trouble") if self.content else "clear"
        return "comment" if self.content else "neutral"


def read_clause(text: str, question: bool = False) -> Clause:
    from .clustering import STOP_WORDS

    words = [re.sub(r"'s$", "", word) for word in WORD.findall(text)]
    clear = trouble = 0
    negations, since_negation, bare_negation = 0, 0, False
    whole = content = False
    last_turned, last_easy_turned = None, False
    for position, word in enumerate(words):
        since_negation += 1
        if negations and since_negation > NEGATION_REACH:
            bare_negation, negations = bare_negation or negations % 2 == 1, 0
        if word.endswith("n't") or word in NEGATIONS:
            if last_turned == position - 1 and word in WHOLE:  # "I understood nothing"
                clear, trouble = (clear - 1, trouble + 1) if last_easy_turned else (clear + 1, trouble - 1)
                last_turned = None
                continue
            negations, since_negation = negations + 1, 0
            whole = whole or word in WHOLE
            continue
        if TROUBLE.fullmatch(word) and (negations or word not in TROUBLE_ONLY_NEGATED):
            easy = False
        elif EASY.fullmatch(word):
            easy = True
        else:
            whole = whole or word in WHOLE
            content = content or (word not in STOP_WORDS and word not in FILLER and word not in WHOLE
                                  and not word.isdigit())
            continue
        last_easy_turned = easy != (negations % 2 == 1)
        if last_easy_turned:
            clear += 1
        else:
            trouble += 1
        negations, last_turned = 0, position
    bare_negation = bare_negation or negations % 2 == 1
    return Clause(clear, trouble, bare_negation, whole, content, bool(EXCEPTION.match(text)), question,
                  bool(WISH.search(text)))


def clauses(text: str) -> list[Clause]:
    normal = re.sub(r"\bn/?a\b", "nothing", text.lower().replace("\u2019", "'"))
    found = []
    for sentence in re.findall(r"[^?]+\??", normal):
        question = sentence.rstrip().endswith("?")
        sentence = sentence.rstrip("? \n")
        head = LEADING_NEGATION.match(sentence)
        parts = [head.group(0), sentence[head.end() :]] if head else [sentence]
        found += [read_clause(part, question) for whole in parts for part in CLAUSE_BREAK.split(whole) if part.strip()]
    return found


def says_nothing_unclear(text: str) -> bool:
    """True when the answer reports no topic: see the module's doc."""
    return reading(text) != NAMES_A_TOPIC


CLEAR = "clear"
CLEAR_WITH_A_COMMENT = "clear with a comment"
NAMES_A_TOPIC = "names a topic"


def reading(text: str) -> str:
    """CLEAR ("Nothing really"), CLEAR_WITH_A_COMMENT ("Nothing. I got clarification on UDFs") or NAMES_A_TOPIC.

    A comment names something without a difficulty, a question or a wish: the annotators of
    the real data filed such answers under "No Confusion" or under the thing commented on,
    about as often; the theme finder files them under the thing when it is a theme.
    """
    if not re.search(r"[A-Za-z0-9]", text):
        # "-", "...": nothing to report; "?" is no answer either way.
        return CLEAR if text.strip() and "?" not in text else NAMES_A_TOPIC
    verdicts = [clause.verdict for clause in clauses(text)]
    if "trouble" in verdicts or "topic" in verdicts:
        return NAMES_A_TOPIC
    # A comment may follow what the answer opens with ("Nothing. I got clarification on UDFs"),
    # not lead to it ("It allowed me to understand the lesson").
    opening = next((verdict for verdict in verdicts if verdict != "neutral"), None)
    if opening != "clear":
        return NAMES_A_TOPIC
    if "comment" not in verdicts:
        return CLEAR
    return CLEAR_WITH_A_COMMENT if verdicts.index("comment") > verdicts.index("clear") else NAMES_A_TOPIC
