"""The grading process's own pool: started once, and torch kept to one thread beside it."""

import torch

from graders import engine


def test_a_grading_process_runs_torch_on_one_thread():
    assert engine.sandbox_pool() is engine.sandbox_pool()
    assert torch.get_num_threads() == 1
