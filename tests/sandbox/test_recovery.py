"""Faults of ours are not the student's: a dead zygote is replaced, a sandbox killed from outside runs again."""

import os
import signal
import threading
import time
from pathlib import Path
from unittest import mock

import pytest

from graders.code import grade_code
from graders.code.grading import Grading
from graders.sandbox import SandboxPool, SandboxUnavailable
from tests.security.conftest import EXERCISE

CORRECT = (EXERCISE / "solution.py").read_text()
# Slow enough to be killed in the middle of a call: each call sleeps 0.3 s before answering.
SLOW = "import time\n" + CORRECT.replace("def softmax(x, dim=-1):", "def softmax(x, dim=-1):\n    time.sleep(0.3)")


@pytest.fixture
def own_pool():
    with SandboxPool(size=1, preload=()) as started:
        yield started


@pytest.fixture
def pool_with_keepers():
    """A pool whose zygote runs as uid 1000 without capabilities (a worker that is not root): each
    sandbox has a keeper. As root, the zygote keeps its sandboxes itself."""
    as_user_1000 = ("unshare", "--user", "--map-user=1000", "--map-group=1000", "--")
    with SandboxPool(size=1, preload=(), launcher=as_user_1000) as started:
        assert started.mode == "userns"
        yield started


def sandbox_pids(pool) -> list[int]:
    """The sandbox processes that run right now: the zygote's descendants that are PID 1 of a PID
    namespace of their own (as root the zygote's or a rule's zygote's children, else a keeper's)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        table[int(entry.name)] = (int(fields["PPid"]), fields.get("NSpid", "").split())
    found, frontier = [], [pool.zygote.pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
        frontier.extend(children)
        found.extend(pid for pid in children if len(table[pid][1]) > 1 and table[pid][1][-1] == "1")
    return found


def kill_busy_sandboxes(pool, times: int, stop: threading.Event) -> None:
    """SIGKILL the sandbox that is running a call, `times` times, as the host's OOM killer would."""
    killed = 0
    while killed < times and not stop.is_set():
        time.sleep(0.15)
        for pid in sandbox_pids(pool):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
                break
            except ProcessLookupError:
                pass


def grade_while(killing, pool, source: str, *args):
    """Grade `source` while `killing(pool, *args, stop)` kills from outside, until the grading ends."""
    stop = threading.Event()
    killer = threading.Thread(target=killing, args=(pool, *args, stop))
    killer.start()
    try:
        return grade_code(EXERCISE, source, pool)
    finally:
        stop.set()
        killer.join()


def test_a_dead_zygote_is_replaced_and_the_pool_grades_again(own_pool):
    os.kill(own_pool.zygote.pid, signal.SIGKILL)
    own_pool.zygote.wait()
    deadline = time.monotonic() + 60
    verdict = None
    while time.monotonic() < deadline:
        try:
            verdict = grade_code(EXERCISE, CORRECT, own_pool)
        except SandboxUnavailable:
            verdict = None
        if verdict is not None and verdict.status == "graded":
            break
        time.sleep(0.5)
    assert verdict is not None
    assert (verdict.status, verdict.score) == ("graded", 4.0), verdict
    assert own_pool.zygote.poll() is None
    assert own_pool.problem() == ""


def test_while_the_zygote_is_down_the_pool_says_why_and_grading_is_delayed_not_failed(own_pool):
    own_pool.zygote.kill()
    own_pool.zygote.wait()
    # The warm sandbox died with its zygote: whatever happens, nothing is scored against the student.
    verdict = grade_code(EXERCISE, CORRECT, own_pool)
    assert verdict.status in ("graded", "error")
    if verdict.status == "error":
        assert verdict.infrastructure
        assert verdict.message.startswith("Grading is delayed")
    else:
        assert verdict.score == 4.0


def test_a_sandbox_killed_from_outside_once_costs_the_student_nothing(own_pool):
    verdict = grade_while(kill_busy_sandboxes, own_pool, SLOW, 1)
    assert (verdict.status, verdict.score) == ("graded", 4.0), verdict


def test_a_sandbox_killed_from_outside_every_time_is_an_infrastructure_error(own_pool):
    verdict = grade_while(kill_busy_sandboxes, own_pool, SLOW, 20)
    assert verdict.status == "error"
    assert verdict.infrastructure
    assert "killed from outside the sandbox" in verdict.message


def test_student_code_cannot_kill_its_own_sandbox_with_sigkill(own_pool):
    source = "import os, signal\n" + CORRECT.replace(
        "def softmax(x, dim=-1):", "def softmax(x, dim=-1):\n    os.kill(os.getpid(), signal.SIGKILL)"
    )
    verdict = grade_code(EXERCISE, source, own_pool)
    assert (verdict.status, verdict.score) == ("graded", 4.0)


def test_a_sandbox_killed_while_loading_the_code_again_is_an_infrastructure_error_not_a_failed_test(own_pool):
    # Loading and each call take 0.4 s: the first kill lands in the first test's call, the second in
    # the fresh sandbox that loads the code again to re-run that test.
    slow_load = "import time\ntime.sleep(0.4)\n" + CORRECT.replace(
        "def softmax(x, dim=-1):", "def softmax(x, dim=-1):\n    time.sleep(0.4)"
    )
    started = threading.Event()

    def kill_twice() -> None:
        started.wait()
        for pause in (0.6, 0.2):
            time.sleep(pause)
            for pid in sandbox_pids(own_pool):
                try:
                    os.kill(pid, signal.SIGKILL)
                    break
                except ProcessLookupError:
                    pass

    killer = threading.Thread(target=kill_twice)
    killer.start()
    try:
        started.set()
        verdict = grade_code(EXERCISE, slow_load, own_pool)
    finally:
        killer.join()
    assert verdict.status == "error", verdict
    assert verdict.infrastructure


def keeper_pids(pool) -> list[int]:
    """The keepers (children of the pool's zygote or of a rule's zygote), each the parent of one sandbox."""
    return [pid for pid in (_parent_of(sandbox) for sandbox in sandbox_pids(pool)) if pid]


def _parent_of(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def kill_keepers(pool, rounds: int, every: float, stop: threading.Event) -> None:
    """SIGKILL every sandbox's keeper (not the sandbox itself), `rounds` times, `every` seconds apart."""
    for _ in range(rounds):
        if stop.wait(every):
            return
        for pid in keeper_pids(pool):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_sandbox_whose_keeper_was_killed_runs_its_test_again_and_costs_the_student_nothing(pool_with_keepers):
    verdict = grade_while(kill_keepers, pool_with_keepers, SLOW, 1, 0.5)
    assert (verdict.status, verdict.score) == ("graded", 4.0), verdict


def test_keepers_killed_every_time_make_an_infrastructure_error_not_a_crash(pool_with_keepers):
    verdict = grade_while(kill_keepers, pool_with_keepers, SLOW, 100, 0.1)
    assert verdict.status == "error", verdict
    assert verdict.infrastructure
    assert "killed from outside the sandbox" in verdict.message


def test_the_hosts_oom_killer_takes_a_sandbox_first_then_the_zygote_never_the_worker_first(own_pool):
    def oom_score_adj(pid: int) -> int:
        return int((Path("/proc") / str(pid) / "oom_score_adj").read_text())

    with own_pool.acquire() as sandbox:
        sandbox.load(CORRECT)
        sandboxes = sandbox_pids(own_pool)
        assert sandboxes
        assert {oom_score_adj(pid) for pid in sandboxes} == {1000}
        assert oom_score_adj(own_pool.zygote.pid) == 500
        assert oom_score_adj(os.getpid()) < 500



def test_a_dead_zygote_is_replaced_while_the_pool_is_idle(own_pool, caplog):
    first = own_pool.zygote
    first.kill()
    first.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        warm = own_pool.warm_sandboxes()
        if own_pool.zygote is not first and own_pool.problem() == "" and warm and all(s.is_running() for s in warm):
            break
        time.sleep(0.1)
    assert own_pool.zygote is not first
    assert own_pool.zygote.poll() is None
    assert own_pool.problem() == ""
    assert "replaced the sandbox zygote" in caplog.text
    # No submission had to find the dead zygote: the next one is graded from a warm sandbox.
    assert (verdict := grade_code(EXERCISE, CORRECT, own_pool)).score == 4.0, verdict


# Tests that word their own feedback by catching what a call raises, as the demo pack's
# cross-entropy, attention and sampling tests do.
CATCHING_TESTS = '''
from graders.code import StudentCodeFailed, test


@test(title="Matches the reference", points=2)
def matches_reference(t):
    x = t.randn(4, 7)
    try:
        got = t.call("softmax", x, dim=-1)
    except StudentCodeFailed as failed:
        t.fail(f"{failed} (0 is not a valid index here)")
    t.check_close(got, t.reference("softmax", x, dim=-1))


@test(title="Rows sum to one", points=1)
def rows_sum_to_one(t):
    x = t.randn(3, 5)
    try:
        got = t.call("softmax", x, dim=-1)
    except Exception:
        return
    t.check_close(got.sum(dim=-1), torch.ones(3))


@test(title="Large logits", points=1)
def large_logits(t):
    x = t.randn(2, 6) * 1000
    t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1))
'''


@pytest.fixture
def catching_exercise(tmp_path):
    folder = tmp_path / "catching"
    folder.mkdir()
    for name in ("exercise.toml", "solution.py", "starter.py"):
        (folder / name).write_text((EXERCISE / name).read_text())
    (folder / "tests.py").write_text("import torch\n" + CATCHING_TESTS)
    return folder


def grade_with_kills_in(pool, exercise, title: str, *, every_run: bool = False):
    """Grade SLOW (each call takes 0.3 s) while the keeper of the sandbox that runs the test titled
    `title` (as root, where the sandbox has none, the sandbox itself) is killed 0.15 s into the
    test: in its first run only, or in every run of it."""
    run_test = Grading._run_test

    def killing(self, spec, *, again=False):
        if spec.title != title or (again and not every_run):
            return run_test(self, spec, again=again)

        def kill_its_keeper():
            time.sleep(0.15)
            sandbox = self.sandboxes.get(self.sandbox_for(spec))
            if sandbox is not None and sandbox.keeper_pid is not None:
                os.kill(sandbox.keeper_pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_its_keeper)
        killer.start()
        try:
            return run_test(self, spec, again=again)
        finally:
            killer.join()

    with mock.patch.object(Grading, "_run_test", killing):
        return grade_code(exercise, SLOW, pool)


def test_the_wait_for_a_replacement_sandbox_is_not_taken_from_the_students_budget(own_pool):
    # The host kills a sandbox, and the replacement takes longer to come than the whole budget
    # (3 x 1 s here), as when it kills them faster than the pool makes them: every test still runs.
    acquired = []
    acquire = own_pool.acquire

    def slow_after_the_first(*args, **kwargs):
        acquired.append(time.monotonic())
        if len(acquired) > 1:
            time.sleep(3.5)
        return acquire(*args, **kwargs)

    with mock.patch.object(own_pool, "acquire", slow_after_the_first):
        verdict = grade_with_kills_in(own_pool, EXERCISE, "Matches the reference")
    assert len(acquired) == 2, acquired
    assert (verdict.status, verdict.score) == ("graded", 4.0), verdict
    assert "used up" not in verdict.message


@pytest.mark.parametrize("title", ["Matches the reference", "Rows sum to one"])
def test_a_kill_from_outside_that_the_test_catches_still_runs_the_test_again(own_pool, catching_exercise, title):
    # Caught as StudentCodeFailed and turned into a failed test, or swallowed by `except Exception`:
    # either way the kill is ours, and the test runs again in a fresh sandbox.
    verdict = grade_with_kills_in(own_pool, catching_exercise, title)
    assert (verdict.status, verdict.score) == ("graded", 4.0), verdict


@pytest.mark.parametrize("title", ["Matches the reference", "Rows sum to one"])
def test_kills_in_every_run_of_a_test_that_catches_them_make_an_infrastructure_error(
        own_pool, catching_exercise, title):
    verdict = grade_with_kills_in(own_pool, catching_exercise, title, every_run=True)
    assert verdict.status == "error", verdict
    assert verdict.infrastructure
    assert "killed from outside the sandbox" in verdict.message
