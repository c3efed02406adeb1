"""The equivalence worker's main loop: `python -m graders.symbolic.worker`, one JSON request per line."""

from __future__ import annotations

import json
import sys

from graders.symbolic.equivalence import WORKER_MEMORY_BYTES, decide_equivalence
from graders.symbolic.parsing import MathSpec


def serve() -> None:
    """Answers {"student", "reference", "spec"} lines with {"equivalent", "method"} lines.

    Before sympy tries to prove an answer, a {"numeric": "agree" | "unknown"} line says what
    the random points found, so that a caller out of time still has that.
    """
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    # Stray prints (from sympy or anything else) must not be taken for an answer.
    channel, sys.stdout = sys.stdout, sys.stderr
    print('{"ready": true}', file=channel, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            equivalent, method = decide_equivalence(
                request["student"], request["reference"], MathSpec(**request["spec"]),
                on_numeric=lambda verdict: print(json.dumps({"numeric": verdict}), file=channel, flush=True),
            )
        except Exception:
            # Whatever sympy raises on an odd expression, the answer is "could not decide".
            equivalent, method = None, "undecided"
        print(json.dumps({"equivalent": equivalent, "method": method}), file=channel, flush=True)


if __name__ == "__main__":
    serve()
