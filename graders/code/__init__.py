"""The code checker: grades a student's functions in a sandbox against an exercise's trusted tests.

    authoring.py    what tests.py uses: `@test`, TestSpec, `t` (TestContext)
    loading.py      an exercise's limits, solution and tests, loaded here and kept by version
    grading.py      the orchestrator: one submission, its sandboxes, its time budget (grade_code)
    comparison.py   `t.check_close`'s comparison of values, and its messages
    wording.py      what the student reads when code does not load or a test fails
    failures.py     how a test or a grading stops early

An exercise is a folder (or a dict of file name -> text, e.g. a stored version of the folder):

    exercise.toml   [limits] cpu_seconds, wall_seconds (per call), memory_mb, processes,
                    file_size_mb, open_files, output_kb; defaults in graders.sandbox.Limits
    solution.py     the reference solution; runs only in the trusted process
    tests.py        the tests; run only in the trusted process
    starter.py      what students start from (not read by the checker, part of the version hash)

A complete tests.py:

    import torch
    from graders.code import test

    @test(title="Rows sum to one", points=1)
    def rows_sum_to_one(t):
        x = t.randn(4, 7)
        got = t.call("softmax", x, dim=-1)
        t.check_close(got.sum(dim=-1), torch.ones(4), what="the sum of each row of the output")

    @test(title="Matches the reference", points=2)
    def matches_reference(t):
        x = t.randn(4, 7)
        t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1))

    @test(title="Large logits", points=1, hidden=True, timeout=2)
    def large_logits(t):
        x = t.randn(3, 5) * 1000
        t.check_close(
            t.call("softmax", x, dim=-1),
            t.reference("softmax", x, dim=-1),
            nonfinite_hint="exp overflows for logits around 1000: subtract the maximum first",
        )

    @test(title="Gradient", points=2)
    def gradient(t):
        logits, labels = t.randn(8, 5), t.randint(0, 5, (8,))
        got, grads = t.call("cross_entropy", logits, labels, grad_of=[0])
        expected, expected_grads = t.reference("cross_entropy", logits, labels, grad_of=[0])
        t.check_close(got, expected)
        t.check_close(grads[0], expected_grads[0], what="the gradient with respect to logits")

A `torch.Generator` passed to `t.call` reaches the student's code as a generator in the same
state, and `t.reference` gets another copy: both draw the same random numbers, and the test's
own generator does not move.

A "build it yourself" rule takes torch's ready-made pieces away in the test that states it:

    from graders.sandbox.ready_made import ATTENTION, SOFTMAX

    @test(title="Built from exp, sum and max", points=1, forbids=SOFTMAX | ATTENTION,
          rule="That is torch's own softmax: build it yourself from `exp`, `sum` and `amax`.")
    def built_yourself(t):
        t.check_close(t.call("softmax", torch.zeros(4)), torch.full((4,), 0.25))

The test runs in a sandbox of its own where those kernels and torch's Python implementations
raise before the student's module loads (however they are reached: see ready_made.py), so a
call that needs one fails this test, with `rule` and the lines that spell a name of
`forbids.spelled`, and no other. `t.source` is the student's code as text, and `t.uses(names)`
the lines that spell a name, to point the student at a line.

Inputs are made in this process from a per-test seed (derived from the test's name, so a failure
replays); only the inputs enter the sandbox. Expected values come from `t.reference` (the
solution, run here). Visible tests run first, then hidden ones, so nothing a hidden test sends
into the sandbox can come back in a visible test's feedback; hidden tests show only their title,
pass/fail and a fixed text, never output or the real message: the author's `when_hidden_fails`
when the test's check failed, and otherwise what happened (not run, the student's code raised or
hit a limit), since the author's diagnosis of a wrong answer is false for an answer never given.
"""

from graders.spec import ExerciseError, exercise_files, exercise_version

from .authoring import TestContext, TestSpec, test
from .comparison import compare_values
from .failures import StudentCodeFailed, TestFailed
from .grading import Grading, grade_code
from .loading import LoadedExercise, load_exercise, loaded_exercise
from .wording import CHANNEL_BROKEN

__all__ = [
    "CHANNEL_BROKEN",
    "ExerciseError",
    "Grading",
    "LoadedExercise",
    "StudentCodeFailed",
    "TestContext",
    "TestFailed",
    "TestSpec",
    "compare_values",
    "exercise_files",
    "exercise_version",
    "grade_code",
    "load_exercise",
    "loaded_exercise",
    "test",
]
