"""Group short free-text answers into themes named by the phrase the students used: key phrases, then embeddings.

Pure functions over texts and their embeddings (no Django, no database), shared by the
Celery task and the `reflection_themes` command, and measured on real classes' reflections
grouped by human annotators (bench/reflections.py, tests/reflections/test_real_reflections.py).

Why phrases first: an instructor reading a pile of answers groups them by the topic they
name ("tension", "free body diagrams", "top hat questions"), and students name a topic with
the same few words. On the real data, grouping by shared key phrases agrees with the humans
far better than clustering sentence embeddings, which mostly see how an answer is phrased
("I found ... interesting", "I was confused by ..."). Embeddings do what words cannot:
telling whether phrases that share a word are one topic or two, merging themes that say
the same in other words, placing an answer that shares no phrase with a theme, and picking
typical examples.

How it works:
1. Each answer's key terms: its content words (stop words and the words every reflection
   uses, such as "interesting" or "confused", and their other forms left out), stemmed so
   that "trees", "tree" and "traversals", "traverse" meet, and pairs of neighbouring content
   words ("binary tree", "pros and cons"). A word written joined is its two-word form
   ("tophat", "top hat"); a stem that starts another ("demo", "demonstration") stands for
   both; an acronym stands for the words it abbreviates when an answer writes them out
   ("BPE", "byte pair encoding"; `acronym_expansions`).
2. "Nothing was confusing", "N/A", "all good", "I wasn't confused by anything", with no
   exception, question or wish after them, are a theme of their own: it is what a good
   lesson leaves, not noise (reflections/nothing_unclear.py).
3. Themes are chosen greedily: the term shared by most of the answers not yet in a theme
   (two-word terms count a little more, being more precise) becomes a theme with every such
   answer, while a term is used by at least MIN_THEME_SHARE of all the answers, half as many
   of them still without a theme (see `choose_terms`). A word that ends distinct phrases
   ("byte pair encoding", "positional encoding": answers far apart in embedding space) is
   no theme; its phrases are (`_distinct_phrases`).
   The number of themes is therefore the number of phrases enough students used.
4. Themes whose answers mean the same in other words are merged: their mean embeddings at a
   cosine of MERGE_SIMILARITY or more ("graphs" and "charts", "exam" and "quiz").
5. An answer with none of the chosen terms joins the theme whose embedding centroid is
   closest, if it is close enough (cosine >= JOIN_SIMILARITY), the theme has room (fewer
   such answers than answers naming its phrase) and the answer names no other kind of the
   theme's thing; otherwise it goes to "Other".
6. A theme's label is the term most of its answers share, preferring one the rest of the
   class does not use, as most of them wrote it, in the longer phrase most of them say it in
   ("Carbon footprint"), an acronym spelt out ("Byte pair encoding (BPE)"), several terms
   ("Graphs / Charts") when one names half of the theme or less (`describe`, also used
   after a staff edit); its examples are answers that use the label, the closest to the
   centroid of those that do.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations, pairwise

import numpy as np

from . import nothing_unclear

MIN_THEME_SHARE = 0.06
MIN_THEME_SIZE = 2
TWO_WORD_BONUS = 1.3
JOIN_SIMILARITY = 0.45
# Cosines between the mean embeddings of two groups of answers. On the dev units, groups at
# 0.75 or more were one human theme 8 times in 10 (one in 5 pairs at random); below 0.5 the
# phrases sharing a word mostly named different ones (docs/benchmarks.md).
SPLIT_SIMILARITY = 0.5
MERGE_SIMILARITY = 0.75
REPRESENTATIVES = 3
MAX_LABEL_LENGTH = 80
MAX_LABEL_TERMS = 3

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
def _reflection_stems() -> frozenset[str]:
    """The stems of the reflection words, so that their other forms are left out too ("working", "explains")."""
    return frozenset(stem(word) for word in REFLECTION_WORDS)


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
    # Words an acronym of the answers stands for, in lower case -> the acronym ("byte pair encoding": "BPE").
    acronyms: dict[str, str] = field(default_factory=dict)


def analyse(texts: list[str]) -> Analysis:
    """Step 1 for every answer at once (a stem stands for a longer one only within these answers)."""
    written_words = [WORD.findall(text) for text in texts]
    expansions = acronym_expansions(written_words)
    raw: list[list[tuple[str, str]]] = []  # per answer: (term, as written)
    acronyms_used: list[set[str]] = []
    for words in written_words:
        used = {word for word in words if word in expansions}
        words = [part for word in words for part in (expansions[word] if word in used else [word])]
        acronyms_used.append(used)
        lower = [re.split("['\u2019]", word.lower())[0] for word in words]
        content = [
            (position, stem(word)) for position, word in enumerate(lower)
            if word not in STOP_WORDS and stem(word) not in _reflection_stems() and len(word) > 1 and not word.isdigit()
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
    # "WDM" rather than "WDMs" where both are written.
    acronyms = {" ".join(expansions[acronym]).lower(): acronym for acronym in sorted(expansions, key=len, reverse=True)}
    return Analysis(terms, written, triples, acronyms)


ACRONYM = re.compile(r"[A-Za-z]{2,6}")
# Short words that may give an acronym one of its small letters ("mixture of experts", MoE).
ACRONYM_GLUE = frozenset("of and for to in on".split())


def acronym_expansions(written_words: list[list[str]]) -> dict[str, list[str]]:
    """Each acronym written in the answers ("BPE", "MoE", "WDM") -> the words it stands for, as written.

    An acronym is a word of 2-6 letters with at least two capitals (a plural "s" aside); it
    stands for a run of words, each giving it its first letter (the first word one or two,
    "RoPE" for "rotary position embedding"; a small letter may come from "of", "and"), that
    starts and ends with a content word and that some answer writes out in full. The run
    written most often wins.
    """
    acronyms = {}
    for words in written_words:
        for word in words:
            letters = word[:-1] if word.endswith("s") and word[:-1].isupper() else word
            if ACRONYM.fullmatch(letters) and sum(map(str.isupper, letters)) >= 2:
                acronyms.setdefault(word, letters)
    if not acronyms:
        return {}
    runs: dict[str, Counter] = {word: Counter() for word in acronyms}
    acronyms_lower = {letters.lower() for letters in acronyms.values()}
    by_initial: dict[str, list[tuple[str, str]]] = {}
    for word, letters in acronyms.items():
        by_initial.setdefault(letters[0].lower(), []).append((word, letters))
    for words in written_words:
        lower = [word.lower() for word in words]
        for start, first in enumerate(lower):
            if first[:1] not in by_initial or first in STOP_WORDS or words[start].isupper():
                continue
            if first.rstrip("s") in acronyms_lower:
                continue
            for word, letters in by_initial[first[:1]]:
                for take in (1, 2):
                    if first[:take] != letters[:take].lower() or take >= len(letters):
                        continue
                    end = _spells(letters[take:], words, lower, start + 1)
                    if end is not None:
                        runs[word][tuple(words[start:end])] += 1
                        break
    expansions = {}
    for word, found in runs.items():
        if found:
            run = max(found.items(), key=lambda item: (item[1], [part.lower() for part in item[0]]))[0]
            expansions[word] = [part.lower() if part[1:].islower() else part for part in run]
    return expansions


def _spells(letters: str, words: list[str], lower: list[str], start: int) -> int | None:
    """Where the run from `start` that spells `letters` one word a letter ends, if it does."""
    end = start + len(letters)
    if end > len(words) or lower[end - 1] in STOP_WORDS:
        return None
    for letter, word, written in zip(letters, lower[start:end], words[start:end], strict=True):
        glue = word in ACRONYM_GLUE and letter.islower()
        if word[:1] != letter.lower() or (word in STOP_WORDS and not glue) or written.isupper():
            return None
    return end


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

    Only `typical` members are picked, even if that makes fewer than `count`: for a theme
    named by a phrase, those are the answers that use it, and an example must show the label.
    """
    member_set = set(members)
    pool = [index for index in (typical or members) if index in member_set] or members
    centre = unit_mean(embeddings[pool])
    ranked = sorted(pool, key=lambda index: (-float(embeddings[index] @ centre), index))
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


def choose_terms(
    analysis: Analysis, candidates: list[int], total: int, embeddings: np.ndarray
) -> list[tuple[str, list[int]]]:
    """Step 3: (term, its answers) for each theme, the most shared term first.

    A term qualifies while MIN_THEME_SHARE of all the answers use it and at least half as
    many of them (and two) are in no theme yet: a topic that many students named stays a
    theme even when some of them also named a larger one. A word that ends distinct phrases
    gives their themes instead (`_distinct_phrases`); its answers left over may still make
    a theme of the word later, as any term's.
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
        phrases = _distinct_phrases(term, left, analysis, needed, embeddings)
        for phrase, members in phrases or [(term, sorted(index for index in left if term in analysis.terms[index]))]:
            chosen.append((phrase, members))
            left -= set(members)
    return chosen


def _distinct_phrases(
    term: str, left: set[int], analysis: Analysis, needed: int, embeddings: np.ndarray
) -> list[tuple[str, list[int]]]:
    """The themes a one-word term splits into when it ends two or more distinct phrases, else none.

    "Encoding" is "byte pair encoding" for some and "positional encoding" for others: the
    last word of a noun phrase says what kind of thing it is, the words before it which one,
    so a word that ends phrases whose answers are far apart in meaning (mean embeddings at a
    cosine below SPLIT_SIMILARITY) is no theme, its phrases used by `needed` answers are. Its
    other answers join the phrase whose answers are closest. Phrases whose answers
    are close ("nested loops", "complex loops"), and phrases that share their first word
    ("solar panels", "solar energy"), stay one theme: the real data's annotators kept such
    phrases together far more often than not.
    """
    if " " in term:
        return []
    using = sorted(index for index in left if term in analysis.terms[index])
    counts = Counter(
        other for index in using for other in analysis.terms[index]
        if " " in other and other.split(" ")[-1] == term
    )
    phrases: list[tuple[str, list[int]]] = []
    taken: set[int] = set()
    for phrase, count in counts.most_common():
        if count < MIN_THEME_SIZE:
            break
        members = [index for index in using if phrase in analysis.terms[index] and index not in taken]
        if 2 * len(members) > count:
            phrases.append((phrase, members))
            taken.update(members)
    if len(phrases) < 2 or len(phrases[0][1]) < needed:
        return []
    centroids = np.vstack([unit_mean(embeddings[members]) for _, members in phrases])
    if min(first @ second for first, second in combinations(centroids, 2)) >= SPLIT_SIMILARITY:
        return []
    # Phrases too rare to be themes are left for the other terms (or "Other"); the word's
    # answers that name no phrase join the closest of those that are.
    themes = [(phrase, members) for phrase, members in phrases if len(members) >= needed]
    for index in using:
        if index not in taken:
            closest = int((centroids[: len(themes)] @ embeddings[index]).argmax())
            themes[closest][1].append(index)
    return [(phrase, sorted(members)) for phrase, members in themes]


def merge_synonyms(groups: list[list[int]], embeddings: np.ndarray) -> list[list[int]]:
    """Step 4: themes whose answers say the same thing in other words are one theme.

    The two themes whose answers' mean embeddings are closest are merged while that cosine
    is at least MERGE_SIMILARITY ("graphs" and "charts", "exam" and "quiz", "tokenizer" and
    "byte pair encoding"), each merged theme's centroid recomputed.
    """
    groups = [list(members) for members in groups]
    while len(groups) > 1:
        centroids = np.vstack([unit_mean(embeddings[members]) for members in groups])
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        first, second = np.unravel_index(int(similarity.argmax()), similarity.shape)
        if similarity[first, second] < MERGE_SIMILARITY:
            break
        first, second = sorted((int(first), int(second)))
        groups[first] += groups.pop(second)
    return groups


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
    `term_frequency` of all the prompt's answers. Then:
    - a word is named by the longer phrase most of the group say it in ("Footprint" ->
      "Carbon footprint", "Breakout" -> "Breakout rooms"), an acronym's words in full with
      the acronym ("Byte pair encoding (BPE)");
    - when the term is in only half of the group or less (themes merged as synonyms), the
      next terms that most of the rest use are named too, "Graphs / Charts", until the
      label names most of the group.
    """
    if not theme_texts:
        return "Answers", []
    analysis = analyse(list(theme_texts))
    shared = Counter(term for terms in analysis.terms for term in terms)
    if not shared:
        return _shortened(min(theme_texts, key=len)), list(range(len(theme_texts)))

    def score(term: str, among: list[int]) -> tuple:
        count = sum(term in analysis.terms[index] for index in among)
        precision = count / max(everywhere.get(term, count), shared[term])
        return (count * (TWO_WORD_BONUS if " " in term else 1.0) * math.sqrt(precision), _tie_break(term))

    size = len(theme_texts)
    rest = list(range(size))
    names: list[str] = []
    typical: set[int] = set()
    while rest and len(names) < MAX_LABEL_TERMS:
        counts = Counter(term for index in rest for term in analysis.terms[index])
        # A term most of the (rest of the) group use, if there is one; a term of one answer
        # names no group of several.
        pool = [term for term, count in counts.items() if 2 * count > len(rest)] or [
            term for term, count in counts.items() if count >= min(MIN_THEME_SIZE, len(rest))
        ]
        if not pool or (names and len(rest) < MIN_THEME_SIZE):
            break
        term = max(pool, key=lambda candidate: score(candidate, rest))
        term, name = _fullest_phrase(term, rest, analysis)
        using = {index for index in rest if term in analysis.terms[index] | analysis.triples[index]}
        names.append(name)
        typical |= using
        rest = [index for index in rest if index not in using]
        if 2 * len(typical) > size:
            break
    if not names:
        return _shortened(min(theme_texts, key=len)), list(range(size))
    label = " / ".join(dict.fromkeys(names))[:MAX_LABEL_LENGTH]
    return label, sorted(typical)


def _fullest_phrase(term: str, among: list[int], analysis: Analysis) -> tuple[str, str]:
    """(term, label): the term as most of `among` name it, with the words they put around it, acronyms spelt out."""
    if " " not in term:
        longer = Counter(other for index in among for other in analysis.terms[index]
                         if " " in other and term in other.split(" "))
        if longer:
            pair, count = max(longer.items(), key=lambda item: (item[1], _tie_break(item[0])))
            if 2 * count > len(among):
                term = pair
    if " " in term:
        longer = Counter(
            triple for index in among for triple in analysis.triples[index]
            if triple.startswith(term + " ") or triple.endswith(" " + term)
        )
        if longer:
            triple, count = max(longer.items(), key=lambda item: (item[1], _tie_break(item[0])))
            if 2 * count > len(among):
                term = triple
    label = label_of(term, analysis)
    for expansion, acronym in analysis.acronyms.items():
        if " " in term and label.lower() in expansion:
            label = f"{expansion[:1].upper()}{expansion[1:]} ({acronym})"
    return term, label


def key_phrase_label(theme_texts: list[str], all_texts: list[str]) -> str:
    """The label `describe` gives the theme's answers among all of the prompt's."""
    return describe(theme_texts, term_frequency(all_texts))[0]


def _shortened(text: str, words: int = 8) -> str:
    parts = text.split()
    short = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return short[:MAX_LABEL_LENGTH]


def join_leftovers(
    groups: list[list[int]], leftovers: list[int], embeddings: np.ndarray, terms: list[set[str]]
) -> tuple[list[list[int]], list[int]]:
    """Step 5: (groups, "Other"): each answer with no chosen phrase joins the closest theme, if close enough.

    Close enough: a cosine of at least JOIN_SIMILARITY to the theme's centroid, and the answer
    names no other kind of the theme's thing ("positional encoding" does not join "byte pair
    encoding", however close their embeddings). A theme takes fewer such answers than it has
    answers that name its phrase, so that its label still describes most of it; the answers
    closest to a theme join it first, and one a full theme turns away tries the next closest.
    """
    if not groups:
        return [], list(leftovers)
    groups = [list(members) for members in groups]
    room = [len(members) - 1 for members in groups]
    phrases = [_phrases_of(members, terms) for members in groups]
    used = Counter(term for own in terms for term in own if " " in term)
    centroids = np.vstack([unit_mean(embeddings[members]) for members in groups])
    similarity = embeddings[leftovers] @ centroids.T if leftovers else np.zeros((0, len(groups)))
    other = []
    for row in sorted(range(len(leftovers)), key=lambda row: (-float(similarity[row].max()), leftovers[row])):
        index = leftovers[row]
        for group in np.argsort(-similarity[row], kind="stable"):
            if similarity[row, group] < JOIN_SIMILARITY:
                other.append(index)
                break
            if room[group] > 0 and not _other_kind(terms[index], phrases[group], used):
                groups[group].append(index)
                room[group] -= 1
                break
        else:
            other.append(index)
    return groups, sorted(other)


def _phrases_of(members: list[int], terms: list[set[str]]) -> set[str]:
    """The two-word terms at least half of the members use: what the theme is about."""
    counts = Counter(term for index in members for term in terms[index] if " " in term)
    return {term for term, count in counts.items() if 2 * count >= len(members)}


def _other_kind(own: set[str], phrases: set[str], used: Counter) -> bool:
    """Whether the answer names a phrase that ends like one of the theme's but starts otherwise.

    Only a phrase that several answers use counts: it names a thing of its own ("positional
    encoding"), where one student's wording ("root of d_k" for "sqrt(d_k)") may be a synonym.
    """
    ends = {phrase.split(" ")[-1]: phrase for phrase in phrases}
    return any(
        " " in term and used[term] >= MIN_THEME_SIZE and term.split(" ")[-1] in ends
        and ends[term.split(" ")[-1]] not in own
        for term in own
    )


def find_themes(texts: list[str], embeddings: np.ndarray) -> list[FoundTheme]:
    """Themes of the texts: topics largest first, then "Nothing unclear", then "Other"."""
    count = len(texts)
    if count == 0:
        return []
    embeddings = np.asarray(embeddings, dtype=np.float32)
    analysis = analyse(list(texts))
    readings = [nothing_unclear.reading(text) for text in texts]
    candidates = [index for index in range(count) if readings[index] == nothing_unclear.NAMES_A_TOPIC]
    chosen = choose_terms(analysis, candidates, count, embeddings)
    # "Nothing was confusing. The demo was great": under the demo if it is a theme, else all clear.
    all_clear = []
    for index in range(count):
        if readings[index] == nothing_unclear.NAMES_A_TOPIC:
            continue
        theme = next((members for term, members in chosen if term in analysis.terms[index]), None)
        if readings[index] == nothing_unclear.CLEAR_WITH_A_COMMENT and theme is not None:
            theme.append(index)
        else:
            all_clear.append(index)
    cleared = set(all_clear)

    groups = merge_synonyms([list(members) for _, members in chosen], embeddings)
    placed = {index for members in groups for index in members} | cleared
    leftovers = [index for index in range(count) if index not in placed]
    groups, other = join_leftovers(groups, leftovers, embeddings, analysis.terms)

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
