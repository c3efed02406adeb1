"""The theme finder against human themes on every real dev unit, with its baselines, and its time for 300 answers.

    .venv/bin/python bench/reflections.py [--data FOLDER] [--repeats 5] [--float32]

Reads the real reflections where they lie: --data, else $REFLECTIONS_REAL_DATA, else
../shared/data/reflectsumm-dev beside the checkout (the ReflectSumm development set; never
copied into the project). Prints JSON:
- the mean adjusted Rand index (ARI) against the annotators' themes of the finder, of the
  keyword baseline (each answer's theme is its most frequent content word), of the same with
  stemmed words, and of k-means on the same embeddings given the true number of themes (an
  oracle: no real method knows it), over all units, over the even-numbered units (on which
  the finder's choices were made) and over the odd-numbered ones (held out); the finder's
  per-unit spread and its units below 0.2;
- how the finder's themes look: themes per unit against the humans', the share of answers in
  "Other", the share of a theme's answers that name its label and of its examples that do
  (measured by reflections.evaluation.uses_label, which does not read answers the way the
  finder does), one-word labels, and "Nothing unclear" against the annotators' "No Confusion";
- seconds: finding the themes of a unit, and embedding + finding the themes of 300 answers
  drawn at random (as long as the real answers are on average) and of the 300 longest, wall
  and CPU time, the median of --repeats runs, with the load average before and after, and
  whether the embedding ran in bfloat16 (on a CPU that multiplies it natively; --float32
  turns it off, to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from reflections import clustering, embeddings, evaluation
from reflections.embeddings import embed, embedding_threads, load_embedding_model

TIMED_ANSWERS = 300
SAMPLE_SEED = 12


def kmeans_oracle(vectors: np.ndarray, labels: list[str]) -> list[int]:
    from sklearn.cluster import KMeans

    return KMeans(len(set(labels)), n_init=10, random_state=0).fit_predict(vectors).tolist()


def mean(values) -> float:
    return round(float(np.mean(values)), 4) if len(values) else float("nan")


def time_answers(texts: list[str], repeats: int) -> dict:
    """Embedding and finding the themes of `texts`, `repeats` times: medians of wall and CPU seconds."""
    load_before = os.getloadavg()
    runs = []
    for _ in range(repeats):
        threads = embedding_threads()
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = embed(texts)
        embedded_wall, embedded_cpu = time.perf_counter(), time.process_time()
        clustering.find_themes(texts, vectors)
        runs.append({
            "embed_wall": embedded_wall - wall, "embed_cpu": embedded_cpu - cpu,
            "find_wall": time.perf_counter() - embedded_wall,
            "total_wall": time.perf_counter() - wall, "total_cpu": time.process_time() - cpu,
            "threads": threads,
        })

    def median(key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 3)

    return {
        "answers": len(texts),
        "mean_characters": round(statistics.mean(map(len, texts)), 1),
        "total_wall_seconds_median": median("total_wall"),
        "total_wall_seconds_max": round(max(run["total_wall"] for run in runs), 3),
        "total_cpu_seconds_median": median("total_cpu"),
        "embed_wall_seconds_median": median("embed_wall"),
        "embed_cpu_seconds_median": median("embed_cpu"),
        "find_themes_seconds_median": median("find_wall"),
        "torch_threads": sorted({run["threads"] for run in runs}),
        "repeats": repeats,
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def score_unit(unit: evaluation.Unit, vectors: np.ndarray) -> dict:
    started = time.perf_counter()
    themes = clustering.find_themes(unit.answers, vectors)
    seconds = time.perf_counter() - started
    topics = [theme for theme in themes if theme.kind == clustering.TOPIC]
    found_clear = {index for theme in themes if theme.kind == clustering.ALL_CLEAR for index in theme.members}
    gold_clear = {index for index, label in enumerate(unit.labels) if label == "No Confusion"}
    return {
        "held_out": unit.held_out,
        "finder": evaluation.adjusted_rand(unit.labels, evaluation.theme_numbers(themes, len(unit.answers))),
        "keyword_baseline": evaluation.adjusted_rand(unit.labels, evaluation.keyword_baseline(unit.answers)),
        "keyword_baseline_stemmed": evaluation.adjusted_rand(
            unit.labels, evaluation.keyword_baseline(unit.answers, stemmed=True)),
        "kmeans_true_k": evaluation.adjusted_rand(unit.labels, kmeans_oracle(vectors, unit.labels)),
        "seconds": seconds,
        "themes": len(topics),
        "human_themes": len(set(unit.labels)),
        "other_share": sum(theme.size for theme in themes if theme.kind == clustering.OTHER) / len(unit.answers),
        "label_coverage": [evaluation.label_coverage(theme, unit.answers) for theme in topics],
        "examples_naming_label": [evaluation.uses_label(theme.label, unit.answers[index])
                                  for theme in topics for index in theme.representatives],
        "one_word_labels": [len(theme.label.split()) == 1 for theme in topics],
        "clear_found": len(found_clear & gold_clear), "clear_wrong": len(found_clear - gold_clear),
        "clear_missed": len(gold_clear - found_clear),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The data: --data, else $REFLECTIONS_REAL_DATA, else ../shared/data/reflectsumm-dev beside the "
        f"checkout (here: {evaluation.default_real_data()}).",
    )
    parser.add_argument("--data", type=Path, default=None, help="folder of unit_*.csv files "
                        "(default: $REFLECTIONS_REAL_DATA, else ../shared/data/reflectsumm-dev beside the checkout)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each 300-answer timing (default 5)")
    parser.add_argument("--float32", action="store_true",
                        help="embed in float32 even on a CPU that multiplies bfloat16 natively (to compare)")
    args = parser.parse_args()
    if args.float32:
        embeddings.native_bfloat16 = lambda: False

    folder = args.data or evaluation.real_data_folder()
    units = evaluation.load_units(folder)
    load_embedding_model()
    started = time.perf_counter()
    vectors = embed([text for unit in units for text in unit.answers])
    embed_seconds = time.perf_counter() - started
    rows, offset = [], 0
    for unit in units:
        rows.append(score_unit(unit, vectors[offset : offset + len(unit.answers)]))
        offset += len(unit.answers)

    methods = ("finder", "keyword_baseline", "keyword_baseline_stemmed", "kmeans_true_k")

    def scores(selected: list[dict]) -> dict:
        return {method: mean([row[method] for row in selected]) for method in methods}

    coverage = [share for row in rows for share in row["label_coverage"]]
    examples = [named for row in rows for named in row["examples_naming_label"]]
    one_word = [single for row in rows for single in row["one_word_labels"]]
    finder = [row["finder"] for row in rows]
    everything = [text for unit in units for text in unit.answers]
    report = {
        "data": str(folder),
        "units": len(units),
        "answers": len(everything),
        "mean_ari": {
            "all_units": scores(rows),
            "tuning_units_even": scores([row for row in rows if not row["held_out"]]),
            "held_out_units_odd": scores([row for row in rows if row["held_out"]]),
            "held_out_count": sum(row["held_out"] for row in rows),
            "finder_per_unit_sd": round(float(np.std(finder)), 3),
            "finder_units_below_0_2": sum(score < 0.2 for score in finder),
        },
        "themes": {
            "per_unit_mean": mean([row["themes"] for row in rows]),
            "human_per_unit_mean": mean([row["human_themes"] for row in rows]),
            "answers_in_other": mean([row["other_share"] for row in rows]),
            "topic_themes": len(coverage),
            "answers_naming_their_themes_label": mean(coverage),
            "themes_whose_label_is_in_half_or_fewer": sum(share <= 0.5 for share in coverage),
            "examples_naming_their_themes_label": mean(examples),
            "one_word_labels": sum(one_word),
            "nothing_unclear_vs_no_confusion": {
                key: sum(row[f"clear_{key}"] for row in rows) for key in ("found", "wrong", "missed")
            },
        },
        "seconds": {
            "find_themes_per_unit_mean": round(float(np.mean([row["seconds"] for row in rows])), 4),
            "embed_per_answer": round(embed_seconds / len(everything), 4),
            f"for_{TIMED_ANSWERS}_random_answers": time_answers(
                random.Random(SAMPLE_SEED).sample(everything, TIMED_ANSWERS), args.repeats),
            f"for_the_{TIMED_ANSWERS}_longest_answers": time_answers(
                sorted(everything, key=len)[-TIMED_ANSWERS:], args.repeats),
        },
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "embedding_in_bfloat16": embeddings.native_bfloat16(),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
