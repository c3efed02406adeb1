"""Sandboxes for a "build it yourself" rule: made on the refill path, their pieces gone for good."""

import os
import re
import signal
import textwrap
import time

import pytest
import torch

from graders.sandbox import Limits, SandboxPool
from graders.sandbox.ready_made import ALL, ATTENTION, LOSSES, SOFTMAX
from tests.sandbox.conftest import parent_of, run

# Operators named like a family's words that compute none of its answers.
NOT_READY_MADE = {"aten::binary_cross_entropy", "aten::binary_cross_entropy_backward",
                  "aten::binary_cross_entropy_with_logits", "aten::poisson_nll_loss"}


def test_every_operator_torch_names_like_a_softmax_a_loss_or_an_attention_is_in_a_family():
    # A torch upgrade that adds `_softmax_v2` or a new attention kernel fails here, not in a classroom.
    names = {name.split(".")[0] for name in torch._C._dispatch_get_all_op_names()}
    # `sdp` as a word of its own: `_fused_sdp_choice` is attention, `fsdp::chunk_cat` (registered once any
    # module imports torch.distributed.fsdp, so its presence depends on the tests run before) is not.
    named = {name for name in names
             if re.search(r"softmax|softmin|attention|attn|(?<![a-z])sdp|cross_entropy|nll_loss", name.split("::")[-1])}
    assert named - NOT_READY_MADE <= ALL.operators, sorted(named - NOT_READY_MADE - ALL.operators)


def test_every_operator_of_a_family_exists_in_this_torch():
    names = {name.split(".")[0] for name in torch._C._dispatch_get_all_op_names()}
    assert ALL.operators <= names, sorted(ALL.operators - names)


def test_a_rule_names_its_own_pieces_only():
    assert SOFTMAX.names("aten::_softmax")
    assert SOFTMAX.names("torch._refs.softmax")
    assert not SOFTMAX.names("aten::scaled_dot_product_attention")
    assert (SOFTMAX | ATTENTION).names("aten::scaled_dot_product_attention")
    assert not ATTENTION.names("content.nlp2llm.provided.attention.MultiHeadAttention")
    assert not LOSSES.names("torch's secret 1.234")


def test_a_sandbox_for_a_rule_has_its_pieces_taken_away_before_the_module_runs(pool):
    rule = SOFTMAX | ATTENTION
    source = textwrap.dedent("""
        import torch

        value = None
        try:
            torch.softmax(torch.ones(2), 0)
        except NotImplementedError as error:
            value = str(error)

        def main():
            return value
    """)
    with pool.acquire(unavailable=rule) as sandbox:
        assert sandbox.load(source, unavailable=rule).failure is None
        outcome = sandbox.call("main")
    assert outcome.value == "torch's aten::softmax is not available in this test"


def test_in_a_sandbox_for_a_rule_threads_and_children_share_the_rule_and_nothing_is_execd(pool):
    rule = ATTENTION
    source = textwrap.dedent("""
        import concurrent.futures, os, sys
        import torch.nn.functional as F

        def attention():
            one = F.scaled_dot_product_attention  # looked up late: the call is what must fail
            try:
                x = __import__("torch").ones(1, 1, 2)
                one(x, x, x)
            except NotImplementedError as error:
                return str(error)
            return "ran"

        def main(where):
            if where == "thread":
                with concurrent.futures.ThreadPoolExecutor(1) as threads:
                    return threads.submit(attention).result()
            if where == "child":
                read, write = os.pipe()
                if os.fork() == 0:
                    os.write(write, attention().encode())
                    os._exit(0)
                os.close(write)
                return os.read(read, 200).decode()
            try:
                os.execv(sys.executable, [sys.executable, "-c", "pass"])
            except PermissionError as error:
                return type(error).__name__
    """)
    unavailable = "torch's aten::scaled_dot_product_attention is not available in this test"
    for where, expected in (("thread", unavailable), ("child", unavailable), ("exec", "PermissionError")):
        with pool.acquire(unavailable=rule) as sandbox:
            assert sandbox.load(source, unavailable=rule).failure is None
            outcome = sandbox.call("main", [where])
        assert outcome.failure is None, outcome.failure
        assert outcome.value == expected, where


def test_a_plain_sandbox_has_every_piece(pool):
    _loaded, outcome = run(pool, "import torch\ndef main():\n    return torch.softmax(torch.zeros(4), 0)\n")
    assert torch.equal(outcome.value, torch.full((4,), 0.25))


def test_a_sandbox_is_loaded_only_under_the_rule_it_was_made_for(pool):
    with pool.acquire() as sandbox, pytest.raises(ValueError, match="made for another rule"):
        sandbox.load("x = 1\n", unavailable=SOFTMAX)
    with pool.acquire(unavailable=SOFTMAX) as sandbox, pytest.raises(ValueError, match="made for another rule"):
        sandbox.load("x = 1\n", unavailable=ATTENTION)


def test_the_pool_keeps_a_sandbox_warm_for_a_rule_once_asked(pool):
    rule = LOSSES | SOFTMAX | ATTENTION
    with pool.acquire(unavailable=rule) as sandbox:
        assert sandbox.load("x = 1\n", Limits(), unavailable=rule).failure is None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(pool.warm_for_rule.get(rule, ())) < pool.size:
        time.sleep(0.05)
    assert len(pool.warm_for_rule[rule]) == pool.size
    assert all(sandbox.unavailable == rule for sandbox in pool.warm_for_rule[rule])


def test_a_rules_pieces_are_taken_away_once_in_a_zygote_of_the_rule_that_forks_its_sandboxes(pool):
    rule = LOSSES | ATTENTION
    with pool.acquire(unavailable=rule) as first, pool.acquire(unavailable=rule) as second:
        rule_zygote = parent_of(first.keeper_pid)
        assert parent_of(second.keeper_pid) == rule_zygote
        assert rule_zygote != pool.zygote.pid
        assert parent_of(rule_zygote) == pool.zygote.pid
    with pool.acquire() as plain:
        assert parent_of(plain.keeper_pid) == pool.zygote.pid


def test_a_rules_zygote_that_ended_is_replaced_at_the_next_request(pool):
    rule = LOSSES | ATTENTION
    with pool.acquire(unavailable=rule) as sandbox:
        rule_zygote = parent_of(sandbox.keeper_pid)
    os.kill(rule_zygote, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{rule_zygote}"):
        time.sleep(0.02)
    source = (
        "import torch\n"
        "def main():\n"
        "    return torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]))\n"
    )
    # A new sandbox, not a warm one: those the ended zygote made may still be on their way out.
    with pool.spawn(rule) as sandbox:
        new_rule_zygote = parent_of(sandbox.keeper_pid)
        assert new_rule_zygote != rule_zygote
        assert parent_of(new_rule_zygote) == pool.zygote.pid
        assert sandbox.load(source, Limits(), unavailable=rule).failure is None
        outcome = sandbox.call("main")
    assert outcome.failure is not None
    assert outcome.failure.kind == "forbidden", outcome


def test_the_first_sandbox_of_a_rule_that_ends_is_seen_to_end_at_once():
    # The rule's zygote is forked while the first request's descriptors are open: it must not keep
    # them, or the pool would see no end of that sandbox's channel and wait for the time limit.
    with SandboxPool(size=0) as fresh, fresh.acquire(unavailable=LOSSES) as sandbox:
        started = time.monotonic()
        loaded = sandbox.load("import os\nos._exit(3)\n", Limits(wall_seconds=10), unavailable=LOSSES)
        assert loaded.failure is not None
        assert loaded.failure.kind == "crash", loaded.failure
        assert time.monotonic() - started < 5


def _anonymous_kb(pid: int) -> tuple[int, int]:
    """(anonymous memory, the part of it on 2 MB pages) of a process, in KB."""
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        fields = dict(line.split(":", 1) for line in list(handle)[1:])  # after the address range's line
    return int(fields["Anonymous"].split()[0]), int(fields["AnonHugePages"].split()[0])


def test_a_rules_zygote_keeps_its_memory_on_huge_pages_as_the_zygote_does(pool):
    # Each sandbox is two forks of its zygote: on small pages, their page tables cost a rule's
    # sandboxes several ms of CPU more than a plain one.
    with pool.acquire(unavailable=SOFTMAX) as sandbox:
        rule_zygote = parent_of(sandbox.keeper_pid)
    anonymous, huge = _anonymous_kb(pool.zygote.pid)
    rule_anonymous, rule_huge = _anonymous_kb(rule_zygote)
    assert rule_anonymous >= anonymous * 0.9
    # Where the kernel gives the zygote no huge pages, there is nothing to keep.
    assert rule_huge >= huge * 0.75, (rule_huge, huge, anonymous)


def test_a_rule_kept_warm_on_request_is_ready_before_its_first_submission():
    with SandboxPool(size=1) as fresh:
        fresh.keep_warm([SOFTMAX])
        deadline = time.monotonic() + 30
        while not (warm := [box for box in fresh.warm_sandboxes() if box.unavailable == SOFTMAX]):
            assert time.monotonic() < deadline, "no sandbox was made for the rule in the background"
            time.sleep(0.05)
        with fresh.acquire(unavailable=SOFTMAX) as sandbox:
            assert sandbox is warm[0]
            assert sandbox.load("import torch\ndef f(x):\n    return torch.softmax(x, 0)\n",
                                unavailable=SOFTMAX).failure is None
            assert sandbox.call("f", [torch.ones(2)]).failure.kind == "forbidden"
