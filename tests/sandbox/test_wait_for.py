"""The pool waits on descriptors with poll: a worker that has opened over a thousand files still grades."""

import os
import resource

import pytest

from graders.sandbox.pool import wait_for

HIGH = 1500


@pytest.fixture
def high_pipe():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH:
        pytest.fail(f"this test needs a descriptor limit above {HIGH}; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH + 1), hard))
    read, write = os.pipe()
    os.dup2(read, HIGH)
    os.close(read)
    yield HIGH, write
    os.close(HIGH)
    os.close(write)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_descriptor_numbered_above_1024_is_waited_on(high_pipe):
    read, write = high_pipe
    assert wait_for([read], [], 0) == ([], [])
    os.write(write, b"x")
    assert wait_for([read], [], 1.0) == ([read], [])


def test_a_pipe_with_room_is_writable_and_its_end_is_readable(high_pipe):
    read, write = high_pipe
    assert wait_for([read], [write], 0) == ([], [write])
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, write)  # the pipe's only writer goes: end of file
    os.close(null)
    assert wait_for([read], [], 1.0) == ([read], [])
    assert os.read(read, 1) == b""
