"""Sandbox uids: never handed out twice, by one pool, by several, or after a restart."""

import threading

import pytest

from graders.sandbox import SandboxPool
from graders.sandbox.isolation import SandboxUnavailable
from graders.sandbox.pool import UID_BASE, UID_CHUNK, UID_RANGE, UidBlock


@pytest.fixture
def directory(tmp_path):
    private = tmp_path / "uids"
    private.mkdir(mode=0o700)
    return private


def test_uids_keep_counting_across_chunks_and_restarts(directory):
    first = UidBlock(directory)
    taken = [first.take() for _ in range(UID_CHUNK + 5)]
    restarted = UidBlock(directory)
    later = restarted.take()
    assert taken == list(range(UID_BASE, UID_BASE + UID_CHUNK + 5))
    assert later == UID_BASE + 2 * UID_CHUNK  # the rest of the second chunk died with the first pool
    assert (directory / "next-uid").read_text() == f"{UID_BASE + 3 * UID_CHUNK}\n"


def test_blocks_on_one_machine_never_share_a_uid_even_when_taking_at_once(directory):
    blocks = [UidBlock(directory) for _ in range(3)]
    taken = []

    def take_many(block):
        for _ in range(3 * UID_CHUNK):
            taken.append(block.take())

    threads = [threading.Thread(target=take_many, args=(block,)) for block in blocks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == len(set(taken)) == 9 * UID_CHUNK


def test_the_range_wraps_to_its_start_only_at_its_end(directory):
    (directory / "next-uid").write_text(f"{UID_BASE + UID_RANGE - UID_CHUNK}\n")
    (directory / "next-uid").chmod(0o600)
    block = UidBlock(directory)
    assert block.take() == UID_BASE + UID_RANGE - UID_CHUNK
    assert UidBlock(directory).take() == UID_BASE


def test_a_counter_file_that_holds_no_uid_stops_the_pool_with_what_to_do(directory):
    (directory / "next-uid").write_text("garbage")
    (directory / "next-uid").chmod(0o600)
    with pytest.raises(SandboxUnavailable, match="not a uid: write into it a uid above"):
        UidBlock(directory)


def test_a_counter_file_others_can_write_is_refused(directory):
    (directory / "next-uid").write_text(f"{UID_BASE}\n")
    (directory / "next-uid").chmod(0o666)
    with pytest.raises(SandboxUnavailable, match="must be a private file"):
        UidBlock(directory)


def test_sandboxes_run_as_the_fresh_uid_they_were_given_also_after_a_new_pool_starts(pool):
    source = "import os\ndef main():\n    return os.getuid()\n"
    seen = []
    for started in (pool, None):
        if started is None:
            started = SandboxPool(size=0, preload=()).start()
        try:
            for _ in range(2):
                with started.acquire() as sandbox:
                    sandbox.load(source)
                    seen.append((sandbox.uid, sandbox.call("main").value))
        finally:
            if started is not pool:
                started.close()
    uids = [uid for uid, _ in seen]
    assert len(set(uids)) == 4
    if pool.mode == "root":
        assert [inside for _, inside in seen] == uids
