"""CPU per verdict of one exercise, the whole process tree counted (grader, zygote, keepers,
sandboxes, the pool's refill), as JSON. Robust on a shared machine where wall times are not:
it re-runs itself inside a cgroup of its own and reads the cgroup's CPU counter (cgroup v1
cpuacct or v2 cpu.stat; needs root).

    python bench/verdict_cpu.py [--exercise 01-softmax] [--verdicts 20] [--spawns 30] [--calls 0]

Prints the CPU per verdict of the exercise's solution, per plain sandbox spawned and closed, and
per sandbox of the exercise's "build it yourself" rule (if it has one). With `--calls N`, also
what one warm round trip costs (the softmax of a 4x7 tensor, N times in one loaded sandbox): CPU
in all and in the grader's thread alone, microseconds per call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXERCISES = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises"


def cpu_counter(cgroup: Path) -> float:
    """CPU seconds used by the cgroup's processes, living and ended."""
    if (cgroup / "cpuacct.usage").exists():
        return int((cgroup / "cpuacct.usage").read_text()) / 1e9
    for line in (cgroup / "cpu.stat").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    raise RuntimeError(f"no CPU counter in {cgroup}")


def own_cgroup() -> Path:
    """A fresh cgroup for this benchmark, under the v1 cpuacct hierarchy or the v2 root."""
    name = f"attentive-bench-{os.getpid()}"
    for base in (Path("/sys/fs/cgroup/cpuacct"), Path("/sys/fs/cgroup")):
        if (base / "cpuacct.usage").exists() or (base / "cgroup.controllers").exists():
            cgroup = base / name
            cgroup.mkdir()
            return cgroup
    raise RuntimeError("no cgroup to count CPU in (cgroup v1 cpuacct or v2, as root)")


def measure(options: argparse.Namespace, cgroup: Path) -> dict:
    from graders.code import exercise_files, grade_code, load_exercise
    from graders.sandbox import SandboxPool

    files = exercise_files(EXERCISES / options.exercise)
    with SandboxPool(size=2) as pool:
        for _ in range(3):
            grade_code(files, files["solution.py"], pool)
        time.sleep(2)
        before = cpu_counter(cgroup)
        for _ in range(options.verdicts):
            verdict = grade_code(files, files["solution.py"], pool)
            assert verdict.score == verdict.max_score, verdict.message
            time.sleep(0.15)  # paced, so that the refill keeps up as between real submissions
        time.sleep(2)  # the refill after the last verdict
        per_verdict = (cpu_counter(cgroup) - before) / options.verdicts
    rules = sorted({spec.forbids for spec in load_exercise(files).tests if spec.forbids is not None}, key=repr)
    per_spawn = {}
    with SandboxPool(size=0) as pool:
        for label, rule in [("plain", None), *(("rule", rule) for rule in rules[:1])]:
            pool.spawn(rule).close()  # a rule's zygote starts with its first sandbox
            time.sleep(0.5)
            before = cpu_counter(cgroup)
            for _ in range(options.spawns):
                pool.spawn(rule).close()
                time.sleep(0.02)
            time.sleep(1)
            per_spawn[label] = (cpu_counter(cgroup) - before) / options.spawns
    calls = round_trips(options.calls, cgroup) if options.calls else {}
    return {
        "exercise": options.exercise,
        "cpu_ms_per_verdict": round(per_verdict * 1000, 1),
        "cpu_ms_per_plain_sandbox_spawn": round(per_spawn["plain"] * 1000, 1),
        # The exercise's "build it yourself" rule, if it has one: its sandbox, spawned and closed.
        **({"cpu_ms_per_rule_sandbox_spawn": round(per_spawn["rule"] * 1000, 1)} if "rule" in per_spawn else {}),
        **calls,
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def round_trips(count: int, cgroup: Path) -> dict:
    import torch

    from graders.sandbox import SandboxPool

    x = torch.randn(4, 7)
    with SandboxPool(size=1) as pool, pool.acquire() as sandbox:
        assert sandbox.load("import torch\ndef softmax(z, dim=-1):\n    e = (z - z.amax(dim, keepdim=True)).exp()\n"
                            "    return e / e.sum(dim, keepdim=True)\n").failure is None
        for _ in range(50):
            sandbox.call("softmax", [x], {"dim": -1})
        time.sleep(0.5)  # the refill of the pool's sandbox taken
        before, thread_before = cpu_counter(cgroup), time.thread_time()
        for _ in range(count):
            assert sandbox.call("softmax", [x], {"dim": -1}).failure is None
        total, thread = cpu_counter(cgroup) - before, time.thread_time() - thread_before
    return {"cpu_us_per_warm_call": round(total / count * 1e6, 1),
            "grader_thread_us_per_warm_call": round(thread / count * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="01-softmax")
    parser.add_argument("--verdicts", type=int, default=20)
    parser.add_argument("--spawns", type=int, default=30)
    parser.add_argument("--calls", type=int, default=0, help="warm round trips to measure (0: none)")
    parser.add_argument("--in-cgroup", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.in_cgroup:
        print(json.dumps(measure(options, Path(options.in_cgroup)), indent=2))
        return
    cgroup = own_cgroup()
    try:
        command = [sys.executable, __file__, *sys.argv[1:], "--in-cgroup", str(cgroup)]
        child = subprocess.Popen(command, preexec_fn=lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())))
        sys.exit(child.wait())
    finally:
        time.sleep(0.5)
        cgroup.rmdir()


if __name__ == "__main__":
    main()
