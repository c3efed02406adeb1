"""Group short free-text answers into themes named by the phrase the students used: key phrases, then embeddings.

Pure functions over texts and their embeddings (no Django, no database), shared by the
Celery task and the `reflection_themes` command, and measured on real classes' reflections
grouped by human annotators (bench/reflections.py, tests/reflections/test_clustering_quality.py).

Why phrases first: an instructor reading a pile of answers groups them by the topic they
name ("tension", "free body diagrams", "top hat questions"), and students name a topic with
the same few words. On the real data, grouping by shared key phrases agrees with the humans
far better than clustering sentence embeddings, which mostly see how an answer is phrased
("I found ... interesting", "I was confused by ..."). Embeddings are kept for what words
cannot do: placing an answer that shares no phrase with a theme, and picking typical examples.

How it works:
1. Each answer's key terms: its content words (stop words and the words every reflection
   uses, such as "interesting" or "confused", left out), stemmed so that "trees", "tree" and
   "traversals", "traverse" meet, and pairs of neighbouring content words ("binary tree",
   "pros and cons"). A word written joined is its two-word form ("tophat", "top hat"); a stem
   that starts another ("demo", "demonstration") stands for both.
2. "Nothing was confusing", "N/A", "everything was clear" and the like, with no "but ..."
   after them, are a theme of their own: it is what a good lesson leaves, not noise.
3. Themes are chosen greedily: the term shared by most of the answers not yet in a theme
   (two-word terms count a little more, being more precise) becomes a theme with every such
   answer, while a term is used by at least MIN_THEME_SHARE of all the answers, half as many
   of them still without a theme (see `choose_terms`).
   The number of themes is therefore the number of phrases enough students used.
4. An answer with none of the chosen terms joins the theme whose embedding centroid is
   closest, if it is close enough (cosine >= JOIN_SIMILARITY); otherwise it goes to "Other".
5. A theme's label is the term most of its answers share, preferring one the rest of the
   class does not use, as most of them wrote it (`describe`, also used after a staff edit);
   its examples are answers that use that term and lie closest to the centroid of those that do.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import numpy as np

from .nothing_unclear import says_nothing_unclear

MIN_THEME_SHARE = 0.06
MIN_THEME_SIZE = 2
TWO_WORD_BONUS = 1.3
JOIN_SIMILARITY = 0.45
REPRESENTATIVES = 3
MAX_LABEL_LENGTH = 80

TOPIC = "topic"
ALL_CLEAR = "all_clear"
OTHER = "other"
ALL_CLEAR_LABEL = "Nothing unclear / all clear"
OTHER_LABEL = "Other"

# English function words. (Written out rather than imported from scikit-learn, so that the
# web process, which labels themes after a staff edit, never has to import it.)
FUNCTION_WORDS = set("""
a about above across after again against all almost along already also although always am among an and another
any anyone anything are around as at back be became because become been before behind being below beside besides
between beyond both but by can cannot could did do does doing done down during each either else enough even ever
every few for from further had has have having he her here hers herself him himself his how however i if in into
is it its itself just least less let may me might mine more most much must my myself neither never no nobody none
nor not now of off often on once one only onto or other others otherwise our ours ourselves out over own per
perhaps please quite rather same shall she should since so some someone such than that the their theirs them
themselves then there therefore these they this those though through thus to together too toward towards under
until up upon us very via was we were what whatever when whenever where whether which while who whoever whole whom
whose why will with within without would yet you your yours yourself yourselves s t d ll m re ve
""".split())
# Words that say how a student feels about a topic, or that every reflection uses, not which topic.
REFLECTION_WORDS = set("""
understand understood understanding know knew learn learned learnt learning like liked want would lot lots thing
things got get gets bit exactly lost confused confusing confusion clear unclear part idea ok okay yes think thinking
thought just fully better did does didn don doesn isn wasn need needed needs make way good well really still explained
explain explanation explanations lesson course class today todays maybe sure quite stuff also used use work works
going went fast slow remember write everything something anything nothing much many able mean means time compared
word words model models correct different what interesting interested interest interests found find finding helpful
help helped helps little enjoyed enjoy enjoying see seeing saw seen new detail details detailed information info
lecture lectures last cool fun discussed discuss discussing discussion talk talked talking more most pretty
particularly especially overall definitely kind sort felt feel feeling clarification clarify specifically mostly
topic topics concept concepts material content session week day great nice awesome amazing hard easy difficult
tricky appreciate appreciated
""".split())
STOP_WORDS = frozenset(FUNCTION_WORDS | REFLECTION_WORDS)
WORD = re.compile(r"<[A-Za-z/]+>|[A-Za-z0-9][A-Za-z0-9_+#]*(?:['\u2019][A-Za-z]+)?")
# Pairs of content words at most this many words apart are a two-word term ("pros and cons").
PAIR_REACH = 2
# A stem of at least this many letters that starts a longer one stands for it ("demo", "demonstr").
PREFIX_MIN = 4

@dataclass
class FoundTheme:
    label: str
    members: list[int]
    representatives: list[int]
    centroid: np.ndarray = field(repr=False)
    kind: str = TOPIC

    @property
    def size(self) -> int:
        return len(self.members)


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@dataclass
class Analysis:
    """The key terms of every answer, and how each term was written (for labels)."""

    terms: list[set[str]]
    written: dict[str, Counter]
    # Three neighbouring content words, only to name a theme ("free body diagrams"), per answer.
    triples: list[set[str]] = field(default_factory=list)


def analyse(texts: list[str]) -> Analysis:
    """Step 1 for every answer at once (a stem stands for a longer one only within these answers)."""
    raw: list[list[tuple[str, str]]] = []  # per answer: (term, as written)
    for text in texts:
        words = WORD.findall(text)
        lower = [re.split("['\u2019]", word.lower())[0] for word in words]
        content = [
            (position, stem(word)) for position, word in enumerate(lower)
            if word not in STOP_WORDS and len(word) > 1 and not word.isdigit()
        ]
        found = [(term, words[position]) for position, term in content]
        for (first, a), (second, b) in pairwise(content):
            if second - first <= PAIR_REACH:
                found.append((f"{a} {b}", " ".join(words[first : second + 1])))
        for (first, a), (_, b), (third, c) in zip(content, content[1:], content[2:], strict=False):
            if third - first <= 2 * PAIR_REACH:
                found.append((f"{a} {b} {c}", " ".join(words[first : third + 1])))
        raw.append(found)
    single = {term for found in raw for term, _ in found if " " not in term}
    alias = _prefix_aliases(single)
    terms: list[set[str]] = []
    triples: list[set[str]] = []
    written: dict[str, Counter] = {}
    for found in raw:
        own: dict[str, str] = {}
        three: dict[str, str] = {}
        for term, as_written in found:
            if term.count(" ") == 2:
                three.setdefault(" ".join(alias.get(part, part) for part in term.split(" ")), as_written)
                continue
            if " " in term:
                a, b = term.split(" ")
                joined = a + b
                key = alias.get(joined, joined) if joined in single else f"{alias.get(a, a)} {alias.get(b, b)}"
            else:
                key = alias.get(term, term)
            own.setdefault(key, as_written)
        terms.append(set(own))
        triples.append(set(three))
        for key, as_written in (own | three).items():
            written.setdefault(key, Counter())[as_written] += 1
    return Analysis(terms, written, triples)


def _prefix_aliases(stems: set[str]) -> dict[str, str]:
    """Each stem that a shorter stem of the same answers starts (at least half of it) -> that stem."""
    ordered = sorted(stems)
    alias: dict[str, str] = {}
    for index, short in enumerate(ordered):
        if len(short) < PREFIX_MIN or short in alias:
            continue
        for longer in ordered[index + 1 :]:
            if not longer.startswith(short):
                break
            if 2 * len(short) >= len(longer):
                alias.setdefault(longer, short)
    return alias


def unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 1e-9 else mean).astype(np.float32)


def representatives(
    members: list[int], embeddings: np.ndarray, texts: list[str], count: int = REPRESENTATIVES,
    typical: list[int] | None = None,
) -> list[int]:
    """The members closest to the centre of `typical` (default: all members), skipping repeated texts.

    Only `typical` members are picked while there are enough of them: for a theme named by a
    phrase, those are the answers that use it.
    """
    member_set = set(members)
    pool = [index for index in (typical or members) if index in member_set] or members
    centre = unit_mean(embeddings[pool])
    ranked = sorted(pool, key=lambda index: (-float(embeddings[index] @ centre), index))
    ranked += sorted(member_set - set(pool), key=lambda index: (-float(embeddings[index] @ centre), index))
    chosen: list[int] = []
    seen: set[str] = set()
    for index in ranked:
        key = " ".join(texts[index].lower().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(index)
        if len(chosen) == count:
            break
    return chosen


def choose_terms(analysis: Analysis, candidates: list[int], total: int) -> list[tuple[str, list[int]]]:
    """Step 3: (term, its answers) for each theme, the most shared term first.

    A term qualifies while MIN_THEME_SHARE of all the answers use it and at least half as
    many of them (and two) are in no theme yet: a topic that many students named stays a
    theme even when some of them also named a larger one.
    """
    needed = max(MIN_THEME_SIZE, math.ceil(MIN_THEME_SHARE * total))
    still_needed = max(MIN_THEME_SIZE, math.ceil(needed / 2))
    everywhere = Counter(term for index in candidates for term in analysis.terms[index])
    left = set(candidates)
    chosen = []
    while left:
        shared = Counter(term for index in left for term in analysis.terms[index])
        best = max(
            ((count * (TWO_WORD_BONUS if " " in term else 1.0), term) for term, count in shared.items()
             if count >= still_needed and everywhere[term] >= needed),
            default=None,
            key=lambda scored: (scored[0], _tie_break(scored[1])),
        )
        if best is None:
            break
        term = best[1]
        members = sorted(index for index in left if term in analysis.terms[index])
        chosen.append((term, members))
        left -= set(members)
    return chosen


def _tie_break(term: str) -> tuple:
    # Deterministic among equal scores: the later in the alphabet loses.
    return tuple(-ord(character) for character in term)


def label_of(term: str, analysis: Analysis) -> str:
    forms = analysis.written.get(term)
    if not forms:
        return term
    label = _display_form(forms)[:MAX_LABEL_LENGTH]
    return label[:1].upper() + label[1:]


def _display_form(forms: Counter) -> str:
    """The phrase as most students wrote it, minus capitals that only start a sentence."""
    usual = max(forms.items(), key=lambda item: (item[1], sum(map(str.isupper, item[0])), item[0]))[0]
    length = len(usual.split(" "))
    words = []
    for position in range(length):
        spellings: Counter = Counter()
        for variant, count in forms.items():
            if len(variant.split(" ")) == length:
                spellings[variant.split(" ")[position]] += count
        word = max(spellings.items(), key=lambda item: (item[1], sum(map(str.isupper, item[0])), item[0]))[0]
        if word[:1].isupper() and word[1:] == word[1:].lower() and word.lower() in spellings:
            word = word.lower()
        words.append(word)
    return " ".join(words)


def term_frequency(texts: list[str]) -> Counter:
    """How many of the texts use each key term: what a theme's label is measured against."""
    return Counter(term for terms in analyse(list(texts)).terms for term in terms)


def describe(theme_texts: list[str], everywhere: Counter) -> tuple[str, list[int]]:
    """A group's label (after a staff edit or a recomputation) and which of its answers use it.

    The label is the key term most of them share, as they wrote it. A term counts for how
    many of the group use it, and more if the rest of the prompt's answers do not (so that the
    group's own topic wins over a word the whole class used). `everywhere` is the
    `term_frequency` of all the prompt's answers.
    """
    if not theme_texts:
        return "Answers", []
    analysis = analyse(list(theme_texts))
    shared = Counter(term for terms in analysis.terms for term in terms)
    if not shared:
        return _shortened(min(theme_texts, key=len)), list(range(len(theme_texts)))

    def score(term: str) -> tuple:
        count = shared[term]
        precision = count / max(everywhere.get(term, count), count)
        return (count * (TWO_WORD_BONUS if " " in term else 1.0) * math.sqrt(precision), _tie_break(term))

    term = max(shared, key=score)
    typical = [index for index, terms in enumerate(analysis.terms) if term in terms]
    if " " in term:
        # Named in full when most of the answers that use it say it with one more word.
        longer = Counter(
            triple for index in typical for triple in analysis.triples[index]
            if triple.startswith(term + " ") or triple.endswith(" " + term)
        )
        if longer:
            triple, count = max(longer.items(), key=lambda item: (item[1], _tie_break(item[0])))
            if 2 * count > len(theme_texts):
                return label_of(triple, analysis), typical
    return label_of(term, analysis), typical


def key_phrase_label(theme_texts: list[str], all_texts: list[str]) -> str:
    """The label `describe` gives the theme's answers among all of the prompt's."""
    return describe(theme_texts, term_frequency(all_texts))[0]


def _shortened(text: str, words: int = 8) -> str:
    parts = text.split()
    short = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return short[:MAX_LABEL_LENGTH]


def find_themes(texts: list[str], embeddings: np.ndarray) -> list[FoundTheme]:
    """Themes of the texts: topics largest first, then "Nothing unclear", then "Other"."""
    count = len(texts)
    if count == 0:
        return []
    embeddings = np.asarray(embeddings, dtype=np.float32)
    analysis = analyse(list(texts))
    all_clear = [index for index, text in enumerate(texts) if says_nothing_unclear(text)]
    cleared = set(all_clear)
    candidates = [index for index in range(count) if index not in cleared]
    chosen = choose_terms(analysis, candidates, count)

    groups = [list(members) for _, members in chosen]
    placed = {index for members in groups for index in members} | cleared
    other = []
    if groups:
        centroids = np.vstack([unit_mean(embeddings[members]) for members in groups])
        for index in range(count):
            if index in placed:
                continue
            similarity = centroids @ embeddings[index]
            best = int(similarity.argmax())
            if similarity[best] >= JOIN_SIMILARITY:
                groups[best].append(index)
            else:
                other.append(index)
    else:
        other = [index for index in range(count) if index not in placed]

    everywhere = Counter(term for terms in analysis.terms for term in terms)
    themes = []
    for members in groups:
        members = sorted(members)
        label, typical = describe([texts[index] for index in members], everywhere)
        themes.append(FoundTheme(
            label=label, members=members,
            representatives=representatives(members, embeddings, texts, typical=[members[i] for i in typical]),
            centroid=unit_mean(embeddings[members]),
        ))
    themes.sort(key=lambda theme: (-theme.size, theme.members[0]))
    for kind, label, members in ((ALL_CLEAR, ALL_CLEAR_LABEL, all_clear), (OTHER, OTHER_LABEL, other)):
        if members:
            themes.append(FoundTheme(
                label=label, members=members, representatives=representatives(members, embeddings, texts),
                centroid=unit_mean(embeddings[members]), kind=kind,
            ))
    return themes
