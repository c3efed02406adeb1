"""The sandbox alone, without Celery or a database: per-submission latency through the warm
pool against a cold interpreter per submission, as JSON. The `*_for_a_rule` figures are for a
"build it yourself" test's sandbox (torch's softmax and attention taken away, see
graders/sandbox/ready_made.py): the submission's own latency, and the refill path's spawn.

    python bench/sandbox.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile
from graders.sandbox import SandboxPool
from graders.sandbox.ready_made import ATTENTION, SOFTMAX

SOURCE = "import torch\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim=dim)\n"
BUILT = (
    "def softmax(x, dim=-1):\n    shifted = x - x.amax(dim=dim, keepdim=True)\n"
    "    return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)\n"
)
RULE = SOFTMAX | ATTENTION
COLD = "import torch; x = torch.randn(4, 7); print(torch.softmax(x, dim=-1).sum().item())"


def summary(milliseconds: list[float]) -> dict:
    ordered = sorted(milliseconds)
    return {
        "runs": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": percentile(ordered, 0.9),
        "max_ms": round(ordered[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=2)
    options = parser.parse_args()
    x = torch.randn(4, 7)
    warm, spawn, warm_for_rule, spawn_for_rule = [], [], [], []
    started = time.perf_counter()
    with SandboxPool(size=options.pool_size) as pool:
        pool_start_ms = (time.perf_counter() - started) * 1000
        for _ in range(options.runs):
            # Let the refiller catch up, as between submissions on a worker.
            while len(pool.warm) < pool.size:
                time.sleep(0.005)
            begin = time.perf_counter()
            with pool.acquire() as sandbox:
                sandbox.load(SOURCE)
                outcome = sandbox.call("softmax", [x], {"dim": -1})
            warm.append((time.perf_counter() - begin) * 1000)
            assert outcome.failure is None
        for _ in range(options.runs):
            # The first asks for the rule (made on the spot); from then on `size` are kept warm.
            owed = RULE in pool.warm_for_rule and len(pool.warm_for_rule[RULE]) < pool.size
            while owed or len(pool.warm) < pool.size:
                time.sleep(0.005)
                owed = RULE in pool.warm_for_rule and len(pool.warm_for_rule[RULE]) < pool.size
            begin = time.perf_counter()
            with pool.acquire(unavailable=RULE) as sandbox:
                sandbox.load(BUILT, unavailable=RULE)
                outcome = sandbox.call("softmax", [x], {"dim": -1})
            warm_for_rule.append((time.perf_counter() - begin) * 1000)
            assert outcome.failure is None
        # The refiller idle (no sandbox for the rule owed), so that it does not share the zygote.
        while len(pool.warm_for_rule[RULE]) < pool.size or len(pool.warm) < pool.size:
            time.sleep(0.005)
        for rule, times in ((None, spawn), (RULE, spawn_for_rule)):
            for _ in range(min(options.runs, 10)):
                begin = time.perf_counter()
                sandbox = pool.spawn(rule)
                times.append((time.perf_counter() - begin) * 1000)
                sandbox.close()
    cold = []
    for _ in range(options.cold_runs):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD], check=True, capture_output=True)
        cold.append((time.perf_counter() - begin) * 1000)
    print(
        json.dumps(
            {
                "warm_pool_submission": summary(warm),
                "fresh_sandbox_spawn": summary(spawn),
                "warm_pool_submission_for_a_rule": summary(warm_for_rule[1:]),
                "fresh_sandbox_spawn_for_a_rule": summary(spawn_for_rule),
                "cold_python_import_torch": summary(cold),
                "pool_start_ms": round(pool_start_ms, 1),
                "isolation": pool.mode,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
