"""Math answers over the project's own case files: agreement, undecided and wrong verdicts, and the
time per verdict and per "interpreted as" preview against a trivial answer measured in the same run, as JSON.

    python bench/symbolic.py [--rounds 3] [FILE.jsonl ...]

Every record is checked `--rounds` times through the equivalence worker, as grading does
(warm, with the default time limit); between records a trivial `x` against `x` is checked
as the baseline, so that the ratios stay meaningful on a shared machine. "wrong" counts
records expected equivalent that came back not equivalent (a right answer called wrong);
"wrongly_right" the reverse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile
from graders.symbolic import equivalence, interpret
from graders.symbolic.batch import check_answer_record, record_spec

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "check_answers.jsonl"
TRIVIAL = {"student": "x", "reference": "x"}
PREVIEW_REPEATS = 20


def timed(function, *arguments) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*arguments)
    return (time.perf_counter() - started) * 1000, result


def summary(values: list[float], unit: str = "ms") -> dict:
    return {
        f"p50_{unit}": percentile(values, 0.5),
        f"p95_{unit}": percentile(values, 0.95),
        f"max_{unit}": round(max(values), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[CASES])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    records = [
        json.loads(line)
        for file in options.files
        for line in file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    equivalence._worker.warm()
    verdict_ms, baseline_ms, preview_us, preview_baseline_us = [], [], [], []
    counts = {"agree": 0, "undecided": 0, "wrong": 0, "wrongly_right": 0, "other": 0}
    slowest: list[tuple[float, str]] = []
    for round_number in range(options.rounds):
        for record in records:
            baseline_ms.append(timed(check_answer_record, TRIVIAL)[0])
            elapsed, result = timed(check_answer_record, record)
            verdict_ms.append(elapsed)
            slowest.append((elapsed, record.get("id", record["student"])))
            if round_number == 0 and "expected" in record:
                expected = record["expected"]
                if result["as_expected"]:
                    counts["agree"] += 1
                elif result["equivalent"] is None:
                    counts["undecided"] += 1
                elif expected is True and result["equivalent"] is False:
                    counts["wrong"] += 1
                elif expected is False and result["equivalent"] is True:
                    counts["wrongly_right"] += 1
                else:
                    counts["other"] += 1
    spec_of = [(record["student"], record_spec(record)) for record in records]
    trivial_spec = record_spec(TRIVIAL)
    for text, spec in spec_of:
        for _ in range(PREVIEW_REPEATS):
            preview_baseline_us.append(timed(interpret, "x", trivial_spec)[0] * 1000)
            try:
                preview_us.append(timed(interpret, text, spec)[0] * 1000)
            except ValueError:
                continue
    expected = sum("expected" in record for record in records)
    verdicts = summary(verdict_ms)
    previews = summary(preview_us, "us")
    print(
        json.dumps(
            {
                "files": [str(file) for file in options.files],
                "records": len(records),
                "with_expected": expected,
                **counts,
                "agreement": round(counts["agree"] / expected, 4) if expected else None,
                "rounds": options.rounds,
                "verdict": verdicts,
                "verdict_baseline": summary(baseline_ms),
                "verdict_p95_over_baseline_p50": round(verdicts["p95_ms"] / percentile(baseline_ms, 0.5), 1),
                "slowest": [{"ms": round(ms, 1), "case": case} for ms, case in sorted(slowest, reverse=True)[:5]],
                "preview": previews,
                "preview_baseline": summary(preview_baseline_us, "us"),
                "preview_p95_over_baseline_p50": round(previews["p95_us"] / percentile(preview_baseline_us, 0.5), 1),
                "targets": {"verdict_p95_ms": 1000, "preview_p95_us": 50_000},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
