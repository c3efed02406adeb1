"""What a grading's heartbeat costs its worker process, as JSON: CPU and wall per verdict.

    python bench/heartbeat.py [--verdicts 1000] [--work-ms 5]

Holds a submission's heartbeat as `exercises.grading.grade` holds it (every
GRADING_HEARTBEAT_SECONDS, with the "running" announcement due after
RUNNING_ANNOUNCED_AFTER_SECONDS) around `--work-ms` of sleep, `--verdicts` times, and reports
the process's CPU per hold (every thread's, those that ended included) beside the wall time.
The work ends before any beat or announcement is due, as most verdicts do, so what is counted is
the heartbeat's own coming and going; the announcement is replaced by a call that does nothing.
No database or broker is touched. Run it in two worktrees to compare two trees.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verdicts", type=int, default=1000, help="how many heartbeats to hold")
    parser.add_argument("--work-ms", type=float, default=5.0, help="the work each one is held around")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")
    var = tempfile.mkdtemp(prefix="attentive-bench-heartbeat-")
    os.environ["ATTENTIVE_VAR_DIR"] = var  # the settings make folders there; removed at the end
    try:
        measure(options)
    finally:
        shutil.rmtree(var, ignore_errors=True)


def measure(options: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings

    from exercises import grading

    def nothing(*args) -> None:
        return None

    def hold() -> None:
        # Trees before 964f280 announced "running" from a timer thread of their own.
        if hasattr(grading, "running_announced_if_slow"):
            grading.signals.send_submission_changed = nothing
            with (grading.running_announced_if_slow(1),
                  grading.SUBMISSIONS.heartbeat(1, 1, settings.GRADING_HEARTBEAT_SECONDS)):
                time.sleep(options.work_ms / 1000)
        else:
            with grading.SUBMISSIONS.heartbeat(1, 1, settings.GRADING_HEARTBEAT_SECONDS,
                                               first=(grading.RUNNING_ANNOUNCED_AFTER_SECONDS, nothing)):
                time.sleep(options.work_ms / 1000)

    for _ in range(50):
        hold()
    cpu, wall = time.process_time(), time.monotonic()
    for _ in range(options.verdicts):
        hold()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(json.dumps({
        "benchmark": "heartbeat",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "verdicts": options.verdicts,
        "work_ms": options.work_ms,
        "cpu_us_per_verdict": round(cpu * 1e6 / options.verdicts, 1),
        "wall_ms_per_verdict": round(wall * 1000 / options.verdicts, 3),
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
