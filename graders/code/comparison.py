"""Value comparison for `t.check_close`: tensors, arrays, numbers, lists; the first difference in words."""

from __future__ import annotations

import math

import numpy as np
import torch

from .failures import TestFailed
from .wording import capitalized, expected_kind, kind_of


def compare_values(
    got: object,
    expected: object,
    subject: str,
    *,
    rtol: float,
    atol: float,
    check_dtype: bool = True,
    hint: str = "",
    nonfinite_hint: str = "",
) -> None:
    """Raise TestFailed describing the first difference between `got` and `expected`."""
    if isinstance(expected, torch.Tensor | np.ndarray):
        _compare_arrays(got, expected, subject, rtol, atol, check_dtype, hint, nonfinite_hint)
    elif isinstance(expected, bool):
        if got is not expected:
            raise TestFailed(_joined(f"{capitalized(subject)} is {kind_of(got)}; expected {expected!r}.", hint))
    elif isinstance(expected, int | float):
        if type(got) not in (int, float):
            raise TestFailed(f"{capitalized(subject)} is {kind_of(got)}; expected a number.")
        if not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
            raise TestFailed(_joined(f"{capitalized(subject)} is {got!r}; expected {expected!r}.", hint))
    elif isinstance(expected, list | tuple):
        if not isinstance(got, list | tuple):
            raise TestFailed(f"{capitalized(subject)} is {kind_of(got)}; expected a {type(expected).__name__}.")
        if len(got) != len(expected):
            raise TestFailed(f"{capitalized(subject)} has {len(got)} items; expected {len(expected)}.")
        for index, (got_item, expected_item) in enumerate(zip(got, expected, strict=True)):
            compare_values(
                got_item,
                expected_item,
                f"item {index} of {subject}",
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                hint=hint,
                nonfinite_hint=nonfinite_hint,
            )
    elif got != expected:
        raise TestFailed(_joined(f"{capitalized(subject)} is {got!r}; expected {expected!r}.", hint))


def _compare_arrays(
    got: object,
    expected: torch.Tensor | np.ndarray,
    subject: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
    hint: str,
    nonfinite_hint: str,
) -> None:
    wanted = torch.Tensor if isinstance(expected, torch.Tensor) else np.ndarray
    if not isinstance(got, wanted):
        raise TestFailed(f"{capitalized(subject)} is {kind_of(got)}; expected {expected_kind(wanted)}.")
    got_tensor = torch.as_tensor(got).detach()
    expected_tensor = torch.as_tensor(expected).detach()
    name = capitalized(subject)
    got_shape, expected_shape = tuple(got_tensor.shape), tuple(expected_tensor.shape)
    if got_shape != expected_shape:
        raise TestFailed(f"{name} has shape {got_shape}; expected shape {expected_shape}.")
    if check_dtype and got_tensor.dtype != expected_tensor.dtype:
        got_dtype, expected_dtype = _dtype_name(got_tensor.dtype), _dtype_name(expected_tensor.dtype)
        raise TestFailed(f"{name} has dtype {got_dtype}; expected {expected_dtype}.")
    if not expected_tensor.is_floating_point():
        mismatch = got_tensor != expected_tensor.to(got_tensor.dtype)
        if bool(mismatch.any()):
            index = _first(mismatch)
            raise TestFailed(
                _joined(
                    f"{name} differs at index {index}: expected {expected_tensor[index].item()!r}, "
                    f"got {got_tensor[index].item()!r} "
                    f"({int(mismatch.sum())} of {mismatch.numel()} elements differ).",
                    hint,
                )
            )
        return
    got_float = got_tensor.to(torch.float64)
    expected_float = expected_tensor.to(torch.float64)
    if torch.allclose(got_float, expected_float, rtol=rtol, atol=atol, equal_nan=True):
        # Nothing to say, in one operation instead of ten (most comparisons pass): an inf or a
        # nan where a finite value is expected is never close, so the checks below find nothing.
        return
    bad = ~torch.isfinite(got_float) & torch.isfinite(expected_float)
    if bool(bad.any()):
        index = _first(bad)
        raise TestFailed(
            _joined(
                f"{name} contains {got_float[index].item()} at index {index} where "
                f"{expected_float[index].item():.6g} was expected "
                f"({int(bad.sum())} of {bad.numel()} elements are inf or nan).",
                nonfinite_hint or hint,
            )
        )
    close = torch.isclose(got_float, expected_float, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(close.all()):
        mismatch = ~close
        index = _first(mismatch)
        errors = (got_float - expected_float).abs()
        max_error = float(torch.where(torch.isfinite(errors), errors, torch.zeros_like(errors)).max())
        raise TestFailed(
            _joined(
                f"{name} differs at index {index}: expected {expected_float[index].item():.6g}, "
                f"got {got_float[index].item():.6g}; max abs error {max_error:.3g} "
                f"({int(mismatch.sum())} of {mismatch.numel()} elements differ "
                f"beyond rtol={rtol:g}, atol={atol:g}).",
                hint,
            )
        )


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    flat = int(torch.nonzero(mask.reshape(-1))[0])
    return tuple(int(i) for i in np.unravel_index(flat, tuple(mask.shape))) if mask.dim() else ()


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _joined(message: str, hint: str) -> str:
    return f"{message} {hint}" if hint else message
