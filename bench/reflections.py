"""The theme finder against human themes on every real dev unit, with its baselines, and its time for 300 answers.

    .venv/bin/python bench/reflections.py [--repeats 5]

Reads the real reflections where they lie ($REFLECTIONS_REAL_DATA, by default
../shared/data/reflectsumm-dev beside the checkout) and prints JSON:
- the mean adjusted Rand index (ARI) of the finder, of the keyword baseline (each answer's
  theme is its most frequent content word) and of k-means on the same embeddings given the
  true number of themes (an oracle: no real method knows it), over all units, over the units
  used to choose the finder's parameters and over the held-out ones;
- how the finder's themes look: themes per unit against the humans', the share of answers in
  "Other", the share of a theme's answers that use its label;
- seconds: per unit, and for 300 real answers (embedding, finding themes), the median of
  `--repeats` runs, with the load average of the machine before and after, and in the same
  runs the embedding as it was before (arrival order, torch's default threads) as a baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from reflections import clustering, evaluation
from reflections.embeddings import embed, load_embedding_model


def kmeans_oracle(vectors: np.ndarray, labels: list[str]) -> list[int]:
    from sklearn.cluster import KMeans

    return KMeans(len(set(labels)), n_init=10, random_state=0).fit_predict(vectors).tolist()


def label_use(themes: list[clustering.FoundTheme], texts: list[str]) -> list[float]:
    """For each topic theme, the share of its answers that use the term its label was made from."""
    everywhere = clustering.term_frequency(texts)
    shares = []
    for theme in themes:
        if theme.kind == clustering.TOPIC:
            _, using = clustering.describe([texts[index] for index in theme.members], everywhere)
            shares.append(len(using) / theme.size)
    return shares


def mean(values) -> float:
    return round(float(np.mean(values)), 4) if len(values) else float("nan")


def embed_as_before(texts: list[str]) -> np.ndarray:
    """The baseline: embedding as it was before (batches in arrival order, torch's own thread count)."""
    model = load_embedding_model()
    return np.vstack([
        model.encode(texts[start : start + 32], batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        for start in range(0, len(texts), 32)
    ])


def time_300(units: list[evaluation.Unit], repeats: int) -> dict:
    """Embedding and finding the themes of 300 real answers, alternating with the baseline embedding."""
    texts = [text for unit in units for text in unit.answers][:300]
    load_before = os.getloadavg()
    embed_seconds, find_seconds, before_seconds = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = embed(texts)
        embed_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        clustering.find_themes(texts, vectors)
        find_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        embed_as_before(texts)
        before_seconds.append(time.perf_counter() - started)
    total = [a + b for a, b in zip(embed_seconds, find_seconds, strict=True)]
    return {
        "answers": len(texts),
        "embed_seconds_median": round(statistics.median(embed_seconds), 3),
        "baseline_embed_as_before_seconds_median": round(statistics.median(before_seconds), 3),
        "find_themes_seconds_median": round(statistics.median(find_seconds), 3),
        "total_seconds_median": round(statistics.median(total), 3),
        "total_seconds_max": round(max(total), 3),
        "repeats": repeats,
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of the 300-answer timing (default 5)")
    args = parser.parse_args()

    units = evaluation.load_units()
    load_embedding_model()
    started = time.perf_counter()
    vectors = embed([text for unit in units for text in unit.answers])
    embed_seconds = time.perf_counter() - started
    rows, offset = [], 0
    for unit in units:
        unit_vectors = vectors[offset : offset + len(unit.answers)]
        offset += len(unit.answers)
        started = time.perf_counter()
        themes = clustering.find_themes(unit.answers, unit_vectors)
        seconds = time.perf_counter() - started
        numbers = evaluation.theme_numbers(themes, len(unit.answers))
        rows.append({
            "held_out": unit.held_out,
            "finder": evaluation.adjusted_rand(unit.labels, numbers),
            "keyword_baseline": evaluation.adjusted_rand(unit.labels, evaluation.keyword_baseline(unit.answers)),
            "kmeans_true_k": evaluation.adjusted_rand(unit.labels, kmeans_oracle(unit_vectors, unit.labels)),
            "seconds": seconds,
            "themes": sum(theme.kind == clustering.TOPIC for theme in themes),
            "human_themes": len(set(unit.labels)),
            "other_share": sum(theme.size for theme in themes if theme.kind == clustering.OTHER) / len(numbers),
            "label_use": label_use(themes, unit.answers),
        })

    def scores(selected: list[dict]) -> dict:
        return {method: mean([row[method] for row in selected])
                for method in ("finder", "keyword_baseline", "kmeans_true_k")}

    report = {
        "data": str(evaluation.real_data_folder()),
        "units": len(units),
        "answers": sum(len(unit.answers) for unit in units),
        "mean_ari": {
            "all_units": scores(rows),
            "tuning_units": scores([row for row in rows if not row["held_out"]]),
            "held_out_units": scores([row for row in rows if row["held_out"]]),
            "held_out_count": sum(row["held_out"] for row in rows),
        },
        "themes": {
            "per_unit_mean": mean([row["themes"] for row in rows]),
            "human_per_unit_mean": mean([row["human_themes"] for row in rows]),
            "answers_in_other": mean([row["other_share"] for row in rows]),
            "answers_using_their_themes_label": mean([share for row in rows for share in row["label_use"]]),
        },
        "seconds": {
            "find_themes_per_unit_mean": round(float(np.mean([row["seconds"] for row in rows])), 4),
            "embed_per_answer": round(embed_seconds / offset, 4),
            "for_300_answers": time_300(units, args.repeats),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
