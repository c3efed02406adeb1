"""Group short free-text answers into themes: sentence embeddings, clustering, key-phrase labels.

Pure functions over texts and their embeddings (no Django, no database), shared by the
Celery task and the `reflection_themes` command, and measured against hand-labelled answers
in tests/reflections/test_clustering_quality.py.

How it works:
1. Embeddings (unit vectors from all-MiniLM-L6-v2) are centred on their mean and put back
   to unit length. Answers to one prompt share a lot ("I did not understand ..."); removing
   the shared part lets the clustering see what differs.
2. Ward's agglomerative clustering is cut at every number of themes from 2 to
   min(15, n // 3) and each cut is scored by its silhouette. The number of themes is the
   smallest one whose silhouette is within 90% of the best: short answers give flat
   silhouette curves, and among nearly equal cuts fewer, larger themes are easier to act on.
   Fewer than six answers make one theme.
3. A theme's label is made of its answers' own key phrases: the one- to three-word
   phrases (not starting or ending with a stop word) that are frequent in the theme and
   rare in the prompt's other answers (a class-based TF-IDF), longer phrases preferred.
4. Its representative answers are the two or three closest to its centroid.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MIN_ANSWERS_TO_SPLIT = 6
MAX_THEMES = 15
PARSIMONY = 0.9
REPRESENTATIVES = 3
MAX_LABEL_LENGTH = 80

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
# Words that say how a student feels about a topic, not which topic.
REFLECTION_WORDS = {
    "understand", "understood", "understanding", "know", "knew", "learn", "learned", "learning",
    "like", "want", "would", "lot", "thing", "things", "got", "get", "gets", "bit", "exactly",
    "lost", "confused", "confusing", "clear", "unclear", "part", "idea", "ok", "okay", "yes",
    "think", "just", "fully", "better", "did", "does", "didn", "don", "doesn", "isn", "wasn",
    "need", "make", "way", "good", "well", "really", "still", "explained", "explain",
    "lesson", "course", "class", "today", "maybe", "sure", "quite", "stuff", "also",
    "used", "use", "work", "works", "going", "went", "fast", "slow", "remember", "write",
    "everything", "something", "anything", "nothing", "much", "many", "able", "mean", "means",
    "time", "compared", "word", "words", "model", "models", "correct", "different", "what",
}
STOP_WORDS = frozenset(FUNCTION_WORDS | REFLECTION_WORDS)
APOSTROPHES = "'\u2019"  # typed and typographic
TOKEN = re.compile(rf"<[A-Za-z/]+>|[A-Za-z][A-Za-z0-9+#{APOSTROPHES}-]*|\d+(?:\.\d+)?")


@dataclass
class FoundTheme:
    label: str
    members: list[int]
    representatives: list[int]
    centroid: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.members)


def centred(embeddings: np.ndarray) -> np.ndarray:
    shifted = embeddings - embeddings.mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return shifted / np.where(norms > 1e-9, norms, 1.0)


def cluster_labels(embeddings: np.ndarray) -> np.ndarray:
    """One cluster number per row, the number of clusters chosen as described above."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    count = len(embeddings)
    if count < MIN_ANSWERS_TO_SPLIT:
        return np.zeros(count, dtype=int)
    points = centred(np.asarray(embeddings, dtype=np.float64))
    if np.allclose(points, 0.0):  # every answer says the same thing
        return np.zeros(count, dtype=int)
    tree = linkage(points, method="ward")
    cuts = []
    for themes in range(2, min(MAX_THEMES, count // 3) + 1):
        labels = fcluster(tree, t=themes, criterion="maxclust") - 1
        if len(set(labels.tolist())) < 2:
            continue
        cuts.append((silhouette_score(points, labels, metric="euclidean"), labels))
    if not cuts:
        return np.zeros(count, dtype=int)
    best = max(score for score, _ in cuts)
    return next(labels for score, labels in cuts if score >= PARSIMONY * best)


def phrases(text: str) -> dict[str, str]:
    """The text's candidate key phrases: lower-case form -> the form as written."""
    tokens = TOKEN.findall(text)
    found: dict[str, str] = {}
    for length in (1, 2, 3):
        for start in range(len(tokens) - length + 1):
            words = tokens[start : start + length]
            lower = [word.lower().strip(APOSTROPHES + "-") for word in words]
            if lower[0] in STOP_WORDS or lower[-1] in STOP_WORDS:
                continue
            if any(len(word) < 2 and not word.isdigit() for word in lower):
                continue
            if length == 1 and (lower[0].isdigit() or len(lower[0]) < 3):
                continue
            # "cross-entropy" and "cross entropy" are one phrase.
            found.setdefault(" ".join(lower).replace("-", " "), " ".join(words))
    return found


def key_phrase_label(theme_texts: list[str], all_texts: list[str], document_frequency: Counter | None = None) -> str:
    """A short label for a theme from its answers' own words, distinctive against all answers."""
    if document_frequency is None:
        document_frequency = Counter(p for text in all_texts for p in phrases(text))
    total = max(len(all_texts), 1)
    counts: Counter = Counter()
    written: dict[str, Counter] = {}
    for text in theme_texts:
        for lower, as_written in phrases(text).items():
            counts[lower] += 1
            written.setdefault(lower, Counter())[as_written] += 1
    scored = []
    for phrase, count in counts.items():
        rarity = math.log(1 + total / max(document_frequency.get(phrase, count), 1))
        score = (count / len(theme_texts)) * rarity * (1 + 0.3 * phrase.count(" "))
        scored.append((-score, phrase))
    scored.sort()
    # Phrases shared by at least two answers; if none are, the single best phrase of one.
    shared = [phrase for _, phrase in scored if counts[phrase] >= 2]
    candidates = shared or [phrase for _, phrase in scored][:1]
    chosen: list[str] = []
    for phrase in candidates:
        if any(phrase in other or other in phrase for other in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == 2:
            break
    if not chosen:
        return _shortened(min(theme_texts, key=len)) if theme_texts else "Answers"
    label = " · ".join(_display_form(written[phrase]) for phrase in chosen)
    if len(label) > MAX_LABEL_LENGTH:
        label = _display_form(written[chosen[0]])[:MAX_LABEL_LENGTH]
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
        word = max(spellings.items(), key=lambda item: (item[1], sum(map(str.isupper, item[0]))))[0]
        if word[:1].isupper() and word[1:] == word[1:].lower() and word.lower() in spellings:
            word = word.lower()
        words.append(word)
    return " ".join(words)


def _shortened(text: str, words: int = 8) -> str:
    parts = text.split()
    short = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return short[:MAX_LABEL_LENGTH]


def unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 1e-9 else mean).astype(np.float32)


def representatives(
    members: list[int], embeddings: np.ndarray, texts: list[str], count: int = REPRESENTATIVES
) -> list[int]:
    """The members closest to the theme's centre, skipping answers with the same text."""
    centre = unit_mean(embeddings[members])
    ranked = sorted(members, key=lambda index: (-float(embeddings[index] @ centre), index))
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


def find_themes(texts: list[str], embeddings: np.ndarray) -> list[FoundTheme]:
    """Themes of the texts, largest first."""
    if len(texts) == 0:
        return []
    embeddings = np.asarray(embeddings, dtype=np.float32)
    labels = cluster_labels(embeddings)
    frequency = Counter(p for text in texts for p in phrases(text))
    themes = []
    for cluster in sorted(set(labels.tolist())):
        members = [index for index, label in enumerate(labels) if label == cluster]
        themes.append(
            FoundTheme(
                label=key_phrase_label([texts[i] for i in members], texts, frequency),
                members=members,
                representatives=representatives(members, embeddings, texts),
                centroid=unit_mean(embeddings[members]),
            )
        )
    themes.sort(key=lambda theme: (-theme.size, theme.members[0]))
    return themes
