"""graders/code/comparison.py: which tensors `t.check_close` accepts, and what it says about the others."""

import itertools
import math

import numpy as np
import pytest
import torch

from graders.code.comparison import compare_values
from graders.code.failures import TestFailed

# Values on both sides of the default tolerance (rtol 1e-5, atol 1e-6) and every non-finite kind.
VALUES = [0.0, 1e-7, 2e-6, 1.0, 1.0 + 5e-6, 1.0 + 2e-5, -1.0, 1e30, math.inf, -math.inf, math.nan]
# Every pair of them, and tensors of two elements from some of them (what is reported first).
PAIRS = [((got,), (expected,)) for got, expected in itertools.product(VALUES, repeat=2)] + list(
    itertools.product(itertools.product([0.0, 1.0, 1.0 + 2e-5, math.inf, math.nan], repeat=2), repeat=2)
)


def outcome(got, expected, **tolerance):
    try:
        compare_values(got, expected, "your output", rtol=tolerance.get("rtol", 1e-5), atol=tolerance.get("atol", 1e-6))
    except TestFailed as failure:
        return str(failure)
    return None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_pair_of_tensors_passes_exactly_when_every_element_is_close(dtype):
    for got_values, expected_values in PAIRS:
        got, expected = torch.tensor(got_values, dtype=dtype), torch.tensor(expected_values, dtype=dtype)
        close = torch.isclose(got.double(), expected.double(), rtol=1e-5, atol=1e-6, equal_nan=True)
        message = outcome(got, expected)
        assert (message is None) == bool(close.all()), (got_values, expected_values, message)
        non_finite_where_finite = ~torch.isfinite(got) & torch.isfinite(expected)
        if bool(non_finite_where_finite.any()):
            # Said first, whatever else differs: it has its own hint (overflow, a log of 0 ...).
            assert "inf or nan" in message
        elif message is not None:
            assert "differs at index" in message


def test_the_tolerances_given_are_the_ones_used():
    got, expected = torch.tensor([1.001]), torch.tensor([1.0])
    assert outcome(got, expected) is not None
    assert outcome(got, expected, rtol=1e-2) is None
    assert outcome(got, expected, atol=1e-2) is None
    assert "beyond rtol=1e-05, atol=1e-06" in outcome(got, expected)


def test_shapes_dtypes_and_integers_are_compared_before_values():
    assert "has shape (3,); expected shape (2,)" in outcome(torch.zeros(3), torch.zeros(2))
    assert "has dtype float64; expected float32" in outcome(torch.zeros(2, dtype=torch.float64), torch.zeros(2))
    assert outcome(torch.tensor([1, 2]), torch.tensor([1, 2])) is None
    assert "differs at index (1,): expected 2, got 3" in outcome(torch.tensor([1, 3]), torch.tensor([1, 2]))
    assert outcome(torch.empty(0, 4), torch.empty(0, 4)) is None
    assert outcome(np.array([0.5, 1.0]), np.array([0.5, 1.0])) is None
    assert outcome([0.5], torch.tensor([0.5])) == "Your output is a list; expected a tensor."
