"""The equivalence worker's main loop: `python -m graders.symbolic.worker`, one JSON request per line."""

from __future__ import annotations

import json
import sys

from graders.symbolic.equivalence import WORKER_MEMORY_BYTES, AnswerTest, check_forms, decide
from graders.symbolic.parsing import MathSpec


def answer(request: dict, channel) -> dict:
    """The reply to one request: {"request": "compare", "student", "reference", "spec", "test"}
    gives {"equivalent", "method", "message"}; {"request": "forms", "student", "spec", "forms"}
    gives {"forms": [the forms the answer is not in]}."""
    spec = MathSpec(**request["spec"])
    if request.get("request") == "forms":
        try:
            return {"forms": check_forms(request["student"], spec, request["forms"])}
        except Exception:
            # A form that cannot be judged gives no hint rather than a wrong one.
            return {"forms": None}
    try:
        equivalent, method, message = decide(
            request["student"],
            request["reference"],
            spec,
            test=AnswerTest(**request.get("test", {})),
            on_numeric=lambda verdict: print(json.dumps({"numeric": verdict}), file=channel, flush=True),
        )
    except Exception:
        # Whatever sympy raises on an odd expression, the answer is "could not decide".
        equivalent, method, message = None, "undecided", ""
    return {"equivalent": equivalent, "method": method, "message": message}


def serve() -> None:
    """Answers request lines with result lines (see `answer`).

    Before sympy tries to prove an answer, a {"numeric": "unknown"} line says that the
    real-domain points could not settle it.
    """
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    # Stray prints (from sympy or anything else) must not be taken for an answer.
    channel, sys.stdout = sys.stdout, sys.stderr
    print('{"ready": true}', file=channel, flush=True)
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line), channel)), file=channel, flush=True)


if __name__ == "__main__":
    serve()
