"""The code checker: messages a student reads, and what hidden tests keep to themselves."""

import sys
import textwrap

import pytest

from graders.code import exercise_files, exercise_version, grade_code
from graders.sandbox import SandboxPool

SOLUTION = """
import torch


def softmax(x, dim=-1):
    shifted = x - x.max(dim=dim, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)


def cross_entropy(logits, labels):
    log_probs = logits - logits.logsumexp(dim=-1, keepdim=True)
    return -log_probs[torch.arange(len(labels)), labels].mean()
"""

TESTS = """
import torch

from graders.code import test


@test(title="Softmax matches", points=2)
def softmax_matches(t):
    x = t.randn(4, 7)
    t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1))


@test(title="Large logits", points=1)
def large_logits(t):
    x = t.randn(2, 6) * 1000
    t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1),
                  nonfinite_hint="exp overflows: subtract the maximum before exponentiating.")


@test(title="Cross-entropy gradient", points=2)
def cross_entropy_gradient(t):
    logits, labels = t.randn(8, 5), t.randint(0, 5, (8,))
    got, grads = t.call("cross_entropy", logits, labels, grad_of=[0])
    expected, expected_grads = t.reference("cross_entropy", logits, labels, grad_of=[0])
    t.check_close(got, expected)
    t.check_close(grads[0], expected_grads[0], what="the gradient with respect to logits")


@test(title="Hidden softmax", points=1, hidden=True)
def hidden_softmax(t):
    x = t.randn(3, 3)
    t.check_close(t.call("softmax", x, dim=0), t.reference("softmax", x, dim=0))
"""

FILES = {"exercise.toml": "[limits]\nwall_seconds = 2\n", "solution.py": SOLUTION, "tests.py": TESTS}


def grade(pool, source, files=FILES):
    return grade_code(files, textwrap.dedent(source), pool)


def by_name(verdict):
    return {outcome.name: outcome for outcome in verdict.tests}


def test_the_solution_gets_full_marks(pool):
    verdict = grade_code(FILES, FILES["solution.py"], pool)
    assert (verdict.status, verdict.score, verdict.max_score) == ("graded", 6.0, 6.0)
    assert verdict.exercise_version == exercise_version(FILES)


def test_a_syntax_error_names_the_line_in_plain_words(pool):
    verdict = grade(pool, "import torch\n\ndef softmax(x, dim=-1:\n    return x\n")
    assert verdict.status == "graded"
    assert verdict.score == 0
    assert verdict.message.startswith("Line 3: ")
    assert "check the parentheses" in verdict.message
    assert "Traceback" not in verdict.message


def test_an_indentation_error_says_to_check_the_indentation(pool):
    verdict = grade(pool, "def softmax(x, dim=-1):\nreturn x\n")
    assert verdict.message.startswith("Line 2: ")
    assert "indentation" in verdict.message


def test_an_error_at_import_shows_the_students_traceback(pool):
    verdict = grade(pool, "import torch\nvalue = 1 / 0\n")
    assert 'File "submission.py", line 2' in verdict.message
    assert "ZeroDivisionError" in verdict.message
    assert all(not outcome.passed for outcome in verdict.tests)


def test_a_traceback_keeps_only_the_students_frames(pool):
    source = """
    import torch
    def helper(x):
        return torch.softmax(x, dim=5)
    def softmax(x, dim=-1):
        return helper(x)
    def cross_entropy(logits, labels):
        return 0
    """
    message = by_name(grade(pool, source))["softmax_matches"].message
    assert message.startswith("`softmax(x, dim=-1)` with x of shape (4, 7) raised IndexError")
    assert 'File "submission.py", line 6, in softmax' in message
    assert 'File "submission.py", line 4, in helper' in message
    assert "runner.py" not in message
    assert "torch/" not in message


def test_a_wrong_value_names_the_first_mismatch_and_the_error(pool):
    source = """
    import torch
    def softmax(x, dim=-1):
        return torch.softmax(x, dim) * 1.01
    """
    message = by_name(grade(pool, source))["softmax_matches"].message
    assert message.startswith(
        "`softmax(x, dim=-1)` with x of shape (4, 7) differs at index (0, 0): expected "
    )
    assert "max abs error" in message
    assert "rtol=1e-05" in message


def test_the_authors_hint_explains_an_overflow(pool):
    source = """
    def softmax(x, dim=-1):
        return x.exp() / x.exp().sum(dim=dim, keepdim=True)
    """
    message = by_name(grade(pool, source))["large_logits"].message
    assert "nan" in message
    assert "subtract the maximum" in message


def test_a_wrong_shape_and_a_wrong_type_are_named(pool):
    shape = by_name(grade(pool, "def softmax(x, dim=-1):\n    return x.sum(dim)\n"))[
        "softmax_matches"
    ].message
    assert "has shape (4,); expected shape (4, 7)" in shape
    kind = by_name(grade(pool, "def softmax(x, dim=-1):\n    return x.tolist()\n"))["softmax_matches"].message
    assert "returned a list; expected a tensor" in kind


def test_a_gradient_that_does_not_flow_is_reported(pool):
    source = """
    import torch
    def cross_entropy(logits, labels):
        return torch.nn.functional.cross_entropy(logits.detach(), labels)
    """
    message = by_name(grade(pool, source))["cross_entropy_gradient"].message
    assert "No gradient flows back" in message


def test_a_wrong_gradient_fails_while_the_value_passes_first(pool):
    source = """
    import torch
    class Scaled(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x
        @staticmethod
        def backward(ctx, grad):
            return grad * 2
    def cross_entropy(logits, labels):
        return torch.nn.functional.cross_entropy(Scaled.apply(logits), labels)
    """
    message = by_name(grade(pool, source))["cross_entropy_gradient"].message
    assert message.startswith("The gradient with respect to logits differs at index")


def test_a_hidden_test_shows_neither_output_nor_its_real_message(pool):
    source = """
    import torch
    def softmax(x, dim=-1):
        print("inputs:", x.tolist())
        return x
    """
    verdict = grade(pool, source)
    hidden = by_name(verdict)["hidden_softmax"]
    visible = by_name(verdict)["softmax_matches"]
    assert (hidden.passed, hidden.stdout, hidden.visible) == (False, "", False)
    assert hidden.message == "A hidden test failed: hidden softmax."
    assert visible.stdout.startswith("inputs:")
    assert visible.message
    assert verdict.tests[-1].name == "hidden_softmax"  # hidden tests run last


def test_a_limit_is_named_with_its_test_in_the_verdict(pool):
    source = "def softmax(x, dim=-1):\n    while True:\n        pass\n"
    verdict = grade(pool, source)
    assert "Time limit of 2 s exceeded in test `Softmax matches`." in verdict.message
    assert by_name(verdict)["softmax_matches"].message.startswith(
        "Time limit of 2 s exceeded in test `Softmax matches`"
    )


def test_a_broken_exercise_is_an_error_not_a_grade(pool):
    verdict = grade(pool, SOLUTION, {**FILES, "exercise.toml": "[limits]\nmemory = 3\n"})
    assert verdict.status == "error"
    assert "unknown limit 'memory'" in verdict.message


def test_an_unavailable_sandbox_gives_an_infrastructure_error_that_costs_the_student_nothing():
    closed = SandboxPool(size=0)
    closed.closed = True
    verdict = grade(closed, SOLUTION)
    assert verdict.status == "error"
    assert verdict.infrastructure
    assert verdict.message.startswith("Grading is delayed: the grader could not run your code")


def test_a_folder_and_its_files_grade_the_same_version(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    assert exercise_files(tmp_path) == FILES
    assert exercise_version(FILES) != exercise_version({**FILES, "tests.py": TESTS + "\n"})


@pytest.mark.parametrize("name", ["solution.py", "tests.py"])
def test_an_exercise_without_its_files_is_refused(pool, name):
    files = {key: value for key, value in FILES.items() if key != name}
    assert grade(pool, SOLUTION, files).status == "error"


SAMPLING_FILES = {
    "exercise.toml": "[limits]\nwall_seconds = 2\n",
    "solution.py": (
        "import torch\n\n"
        "def sample(probabilities, generator):\n"
        "    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)\n"
    ),
    "tests.py": (
        "import torch\nfrom graders.code import test\n\n"
        "@test(title='Same draws')\n"
        "def same_draws(t):\n"
        "    probabilities, generator = t.rand(50, 6), torch.Generator().manual_seed(3)\n"
        "    t.check_close(t.call('sample', probabilities, generator),\n"
        "                  t.reference('sample', probabilities, generator))\n"
        "    t.check_close(t.call('sample', probabilities, generator=generator),\n"
        "                  t.reference('sample', probabilities, generator=generator))\n"
    ),
}


def test_the_student_and_the_reference_draw_from_generators_in_the_same_state(pool):
    assert grade(pool, SAMPLING_FILES["solution.py"], SAMPLING_FILES).score == 1


def test_a_submission_that_ignores_the_generator_draws_other_numbers(pool):
    source = """
    import torch

    def sample(probabilities, generator):
        return torch.multinomial(probabilities, 1).squeeze(-1)
    """
    outcome = by_name(grade(pool, source, SAMPLING_FILES))["same_draws"]
    assert not outcome.passed
    assert "generator = a torch.Generator seeded with 3" in outcome.message


MODEL_FILES = {
    "exercise.toml": "",
    "solution.py": "def apply(model, x):\n    return model(x).detach()\n",
    "tests.py": (
        "from graders.code import test\n\n"
        "@test(title='Applies the model')\n"
        "def applies_the_model(t):\n"
        "    model, x = t.model('linear_for_tests', seed=5), t.randn(4, 3)\n"
        "    t.check_close(t.call('apply', model, x), t.reference('apply', model, x))\n"
    ),
}


def test_the_reference_builds_models_from_the_registries_the_pool_preloads(pool, monkeypatch):
    # As in a fresh worker process: nothing has imported the registry module here yet.
    from graders.sandbox import models

    monkeypatch.setattr(models, "_factories", {})
    monkeypatch.delitem(sys.modules, "tests.sandbox.registered_models", raising=False)
    verdict = grade(pool, MODEL_FILES["solution.py"], MODEL_FILES)
    assert (verdict.score, verdict.tests[0].message) == (1, "")


def test_a_test_can_see_which_names_the_student_code_uses(pool):
    files = {
        **FILES,
        "tests.py": TESTS + textwrap.dedent('''
            @test(title="Own softmax", points=1)
            def own_softmax(t):
                uses = t.uses({"softmax", "log_softmax"})
                t.check(not uses, f"uses torch's softmax: {uses}")
        '''),
    }
    borrowed = "import torch\nfrom torch.nn.functional import log_softmax\n" + \
        "def softmax(x, dim=-1):\n    return x.softmax(dim)\n"
    assert by_name(grade(pool, borrowed, files))["own_softmax"].message == (
        "uses torch's softmax: [(2, 'log_softmax'), (4, 'softmax')]"
    )
    assert by_name(grade(pool, SOLUTION, files))["own_softmax"].passed


HIDDEN_TESTS = TESTS + """

@test(title="Hidden cross-entropy", points=1, hidden=True,
      when_hidden_fails="A hidden test with a batch of one failed: take the mean over the batch.")
def hidden_cross_entropy(t):
    logits, labels = t.randn(1, 5), t.randint(0, 5, (1,))
    t.check_close(t.call("cross_entropy", logits, labels), t.reference("cross_entropy", logits, labels))
"""
HIDDEN_FILES = {**FILES, "tests.py": HIDDEN_TESTS}
GOOD_SOFTMAX = """
import torch
def softmax(x, dim=-1):
    return torch.softmax(x, dim)
"""


def test_a_hidden_test_whose_check_fails_shows_the_authors_sentence(pool):
    source = GOOD_SOFTMAX + """
def cross_entropy(logits, labels):
    return torch.nn.functional.cross_entropy(logits, labels) * 2
"""
    hidden = by_name(grade(pool, source, HIDDEN_FILES))["hidden_cross_entropy"]
    assert hidden.message == "A hidden test with a batch of one failed: take the mean over the batch."


def test_a_hidden_test_in_which_the_code_raised_names_the_error_and_nothing_else(pool):
    source = GOOD_SOFTMAX + """
def cross_entropy(logits, labels):
    if len(labels) == 1:
        raise ValueError(f"batch of one: {logits.tolist()}")
    return torch.nn.functional.cross_entropy(logits, labels)
"""
    hidden = by_name(grade(pool, source, HIDDEN_FILES))["hidden_cross_entropy"]
    assert hidden.message == (
        "Your code raised ValueError in this hidden test (its details would show the test's inputs)."
    )


def test_an_exception_class_of_the_students_own_is_not_named_in_a_hidden_test(pool):
    # Its name is the student's to choose: it could spell out the hidden inputs.
    source = GOOD_SOFTMAX + """
def cross_entropy(logits, labels):
    if len(labels) == 1:
        raise type("Inputs_" + str(int(logits.abs().sum() * 1000)), (Exception,), {})()
    return torch.nn.functional.cross_entropy(logits, labels)
"""
    hidden = by_name(grade(pool, source, HIDDEN_FILES))["hidden_cross_entropy"]
    assert hidden.message == (
        "Your code raised an error in this hidden test (its details would show the test's inputs)."
    )


def test_a_hidden_test_in_which_the_code_hit_a_limit_names_the_limit(pool):
    source = GOOD_SOFTMAX + """
def cross_entropy(logits, labels):
    while len(labels) == 1:
        pass
    return torch.nn.functional.cross_entropy(logits, labels)
"""
    hidden = by_name(grade(pool, source, HIDDEN_FILES))["hidden_cross_entropy"]
    assert hidden.message == "Time limit of 2 s exceeded in this hidden test."


def test_hidden_tests_of_code_that_did_not_load_say_they_were_not_run(pool):
    verdict = grade(pool, "import torch\nvalue = 1 / 0\n", HIDDEN_FILES)
    assert by_name(verdict)["hidden_cross_entropy"].message == "Not run: your code did not load."
    assert by_name(verdict)["hidden_softmax"].message == "Not run: your code did not load."
