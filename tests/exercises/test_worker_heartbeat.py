"""The worker's heartbeat says at once when its sandbox pool cannot grade, and why, and when it can again."""

import threading
import time

import pytest

from exercises import worker
from exercises.models import WorkerHeartbeat
from graders import engine


class PoolReplacingItsZygote:
    def __init__(self) -> None:
        self.down = ""

    def problem(self) -> str:
        return self.down


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_says_why_the_worker_is_not_ready_without_waiting_for_the_next_beat(monkeypatch):
    pool = PoolReplacingItsZygote()
    monkeypatch.setattr(engine, "sandbox_pool", lambda: pool)
    stop = threading.Event()
    beating = threading.Thread(target=worker._run, args=(stop,))
    beating.start()
    try:
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists())
        pool.down = "the sandbox zygote exited (it exited without a message); replacing it in 2 s"
        # Well within HEARTBEAT_EVERY_SECONDS (15 s): the change is recorded within a second or two.
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(
            name=worker.worker_name(), ready=False, problem__startswith="the sandbox zygote exited").exists(), 3)
        pool.down = ""
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(
            name=worker.worker_name(), ready=True, problem="").exists(), 3)
    finally:
        stop.set()
        beating.join()
