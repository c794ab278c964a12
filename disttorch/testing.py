"""``torch.testing``: ``assert_close`` with PyTorch's default tolerances and messages, and ``make_tensor``."""
from __future__ import annotations

import collections.abc
import math
from typing import Any, Callable

import numpy as np

from . import _dtype as D
from ._tensor import Tensor

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# (rtol, atol) by dtype, as PyTorch documents them; other dtypes compare exactly
_TOLERANCES = {D.float16: (1e-3, 1e-5), D.bfloat16: (1.6e-2, 1e-5), D.float32: (1.3e-6, 1e-5),
               D.float64: (1e-7, 1e-7), D.complex64: (1.3e-6, 1e-5), D.complex128: (1e-7, 1e-7)}


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` (tensors, numbers, numpy arrays, or sequences and
    mappings of them) are close: ``|actual - expected| <= atol + rtol * |expected|`` elementwise."""
    if (rtol is None) != (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.")
    _compare(actual, expected, "", dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                                        check_dtype=check_dtype, msg=msg))


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated in PyTorch: ``assert_close`` with NaNs equal and dtypes not checked."""
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)


def _compare(actual: Any, expected: Any, where: str, opts: dict) -> None:
    if isinstance(expected, collections.abc.Mapping) and isinstance(actual, collections.abc.Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match:\n{sorted(map(str, actual))} != "
                  f"{sorted(map(str, expected))}", where, opts)
        for key in expected:
            _compare(actual[key], expected[key], f"{where}[{key!r}]", opts)
        return
    if _is_sequence(expected) and _is_sequence(actual):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", where, opts)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]", opts)
        return
    if isinstance(expected, (Tensor, np.ndarray)) or isinstance(actual, (Tensor, np.ndarray)):
        _compare_tensors(_as_tensor(actual), _as_tensor(expected), where, opts)
        return
    if isinstance(expected, (bool, int, float, complex)) and isinstance(actual, (bool, int, float, complex)):
        _compare_scalars(actual, expected, where, opts)
        return
    if actual != expected:
        _fail(f"Object comparison failed: {actual!r} != {expected!r}", where, opts)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._from_array(x)
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(x)}.")


def _compare_tensors(actual: Tensor, expected: Tensor, where: str, opts: dict) -> None:
    if actual.shape != expected.shape:
        _fail(f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}.", where, opts)
    if opts["check_device"] and actual.device != expected.device:
        _fail(f"The values for attribute 'device' do not match: {actual.device} != {expected.device}.", where,
              opts)
    if opts["check_dtype"] and actual.dtype is not expected.dtype:
        _fail(f"The values for attribute 'dtype' do not match: {actual.dtype} != {expected.dtype}.", where, opts)
    dt = actual.dtype if actual.dtype is expected.dtype else D.promote_types(actual.dtype, expected.dtype)
    rtol, atol = _tolerances(dt, opts)
    a = np.asarray(actual.detach().__array__()).astype(dt.np, copy=False)
    e = np.asarray(expected.detach().__array__()).astype(dt.np, copy=False)
    if a.ndim == 0:  # PyTorch reports 0-dim tensors as scalars
        _compare_scalars(a.item(), e.item(), where, opts, (rtol, atol), dt)
        return
    close = _close(a, e, rtol, atol, opts["equal_nan"])
    if close.all():
        return
    exact = rtol == 0 and atol == 0
    abs_diff, rel_diff = _differences(a, e, dt)
    bad = int((~close).sum())
    i_abs = np.unravel_index(int(np.argmax(np.where(np.isnan(abs_diff), np.inf, abs_diff))), a.shape)
    i_rel = np.unravel_index(int(np.argmax(np.where(np.isnan(rel_diff), np.inf, rel_diff))), a.shape)
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {bad} / {a.size} ({100 * bad / a.size:.1f}%)",
             f"Greatest absolute difference: {abs_diff[i_abs].item()} at index {tuple(map(int, i_abs))}"
             + ("" if exact else f" (up to {atol} allowed)"),
             f"Greatest relative difference: {rel_diff[i_rel].item()} at index {tuple(map(int, i_rel))}"
             + ("" if exact else f" (up to {rtol} allowed)")]
    _fail("\n".join(lines), where, opts)


def _tolerances(dt: D.dtype, opts: dict) -> tuple[float, float]:
    if opts["rtol"] is not None:
        return opts["rtol"], opts["atol"]
    return _TOLERANCES.get(dt, (0.0, 0.0))


def _close(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    if a.dtype.kind in "biu":
        return a == e
    with np.errstate(invalid="ignore", over="ignore"):
        close = (a == e) | (np.abs(a - e) <= atol + rtol * np.abs(e))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return close


def _differences(a: np.ndarray, e: np.ndarray, dt: D.dtype) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's: the absolute difference in the inputs' dtype (int64 for integers), the relative one in a
    floating dtype (the default dtype for integers)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if a.dtype.kind in "biu":
            abs_diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
            rel = abs_diff.astype(D.get_default_dtype().np) / np.abs(e).astype(D.get_default_dtype().np)
            return abs_diff, rel
        abs_diff = np.abs(a - e)
        return abs_diff, abs_diff / np.abs(e)


def _compare_scalars(actual: Any, expected: Any, where: str, opts: dict, tol: tuple | None = None,
                     dt: D.dtype | None = None) -> None:
    if dt is None:
        dt = D.scalar_dtype(expected) if not isinstance(expected, float) else D.float64
    rtol, atol = tol if tol is not None else _tolerances(dt, opts)
    if isinstance(actual, bool) or isinstance(expected, bool):
        ok = actual == expected
    elif isinstance(actual, complex) or isinstance(expected, complex):
        ok = actual == expected or abs(actual - expected) <= atol + rtol * abs(expected) or (
            opts["equal_nan"] and _isnan(actual) and _isnan(expected))
    else:
        ok = actual == expected or (abs(actual - expected) <= atol + rtol * abs(expected)) or (
            opts["equal_nan"] and _isnan(actual) and _isnan(expected))
    if ok:
        return
    exact = rtol == 0 and atol == 0
    diff = abs(actual - expected)
    rel = diff / abs(expected) if expected else math.inf
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "", f"Expected {expected} but got {actual}.",
             f"Absolute difference: {diff}" + ("" if exact else f" (up to {atol} allowed)"),
             f"Relative difference: {rel}" + ("" if exact else f" (up to {rtol} allowed)")]
    _fail("\n".join(lines), where, opts)


def _isnan(x: Any) -> bool:
    return isinstance(x, (float, complex)) and x != x


def _fail(message: str, where: str, opts: dict) -> None:
    if where:
        message += f"\n\nThe failure occurred for item {where}"
    custom = opts["msg"]
    if callable(custom):
        message = custom(message)
    elif custom is not None:
        message = custom
    raise AssertionError(message)


def make_tensor(*shape: Any, dtype: Any, device: Any = None, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format: Any = None) -> Tensor:
    """A random tensor for tests: floats uniform in [low, high) (default [-9, 9)), integers in [low, high)
    (default [-9, 10), from 0 for unsigned), bools at random."""
    from ._ops import creation, random

    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dt = D.to_dtype(dtype)
    if dt is D.bool_:
        t = random.randint(0, 2, shape, device=device).to(dt)
    elif dt.category == D.INT:
        lo = int(low) if low is not None else (0 if not dt.is_signed else -9)
        hi = int(high) if high is not None else 10
        t = random.randint(lo, hi, shape, device=device, dtype=dt)
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        t = (random.rand(*shape, device=device, dtype=dt.to_real() if dt.is_complex else dt) * (hi - lo) + lo)
        if dt.is_complex:
            t = creation.complex(t, random.rand(*shape, device=device, dtype=dt.to_real()) * (hi - lo) + lo)
    if exclude_zero:
        t = t.masked_fill(t == 0, 1 if dt.category != D.FLOAT else (hi - lo) / 10 or 1)
    if noncontiguous and t.numel() > 1:  # the same values, every other element of a twice-as-wide tensor
        t = t.unsqueeze(-1).expand(*t.shape, 2).contiguous()[..., 0]
    if requires_grad:
        t.requires_grad_(True)
    return t
