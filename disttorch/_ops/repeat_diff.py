"""Repeating, differencing and membership: ``repeat_interleave``, ``diff``, ``isin``.

They are compositions of indexing and arithmetic ops, so autograd comes from those."""
from __future__ import annotations

from typing import Any

import numpy as np

import disttorch
from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from ._register import methods, write_out

__all__ = ["repeat_interleave", "diff", "isin"]

_from_array = Tensor._from_array


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _repeat_indices(repeats: Tensor, output_size: int | None) -> Tensor:
    """``repeat_interleave(repeats)``: index i repeated repeats[i] times."""
    if repeats.ndim != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if repeats.dtype not in (D.int64, D.int32):
        raise RuntimeError("repeats has to be Long or Int tensor")
    r = repeats._data
    xp = array_module(r)
    if r.size and bool((r < 0).any()):
        raise RuntimeError("repeats can not be negative")
    idx = xp.repeat(xp.arange(r.shape[0], dtype=r.dtype), r)
    if output_size is not None and idx.shape[0] != output_size:
        raise RuntimeError("allocated size does not match required size")
    return _from_array(idx)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat elements of ``input`` along ``dim`` (the flattened input when None)."""
    if repeats is None:  # torch.repeat_interleave(repeats)
        return _repeat_indices(input, output_size)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _wrap_dim(dim, input.ndim)
    size = x.shape[d] if x.ndim else 1
    if x.ndim == 0:
        x = x.reshape(1)
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.ndim == 0 or repeats.shape[0] == 1:
            repeats = repeats.reshape(1).expand(size)
        elif repeats.shape[0] != size:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{repeats.shape[0]} and input.size({d}) = {size}")
        idx = _repeat_indices(repeats.to(x.device), output_size)
    else:
        if int(repeats) < 0:
            raise RuntimeError("repeats can not be negative")
        xp = array_module(x._data)
        idx_arr = xp.repeat(xp.arange(size, dtype=np.int64), int(repeats))
        if output_size is not None and idx_arr.shape[0] != output_size:
            raise RuntimeError("allocated size does not match required size")
        idx = _from_array(idx_arr)
    return x.index_select(d, idx)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None,
         *, out: Tensor | None = None) -> Tensor:
    """The n-th forward difference along ``dim``, after joining ``prepend`` and ``append``."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap_dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    for t in parts:
        if t.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    x = disttorch.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = disttorch.logical_xor(hi, lo) if x.dtype is D.bool_ else hi - lo
    return write_out(x, out)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False,
         out: Tensor | None = None) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (a bool tensor of elements' shape)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments")
    ref = elements if isinstance(elements, Tensor) else test_elements
    xp = array_module(ref._data)
    a = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    res = xp.isin(a, b, assume_unique=assume_unique, invert=invert)
    return write_out(_from_array(xp.asarray(res, dtype=bool)), out)


def _repeat_interleave_method(self: Tensor, repeats: Any, dim: int | None = None, *,
                              output_size: int | None = None) -> Tensor:
    return repeat_interleave(self, repeats, dim, output_size=output_size)


def _diff_method(self: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
                 append: Tensor | None = None) -> Tensor:
    return diff(self, n, dim, prepend, append)


methods({"repeat_interleave": _repeat_interleave_method, "diff": _diff_method})
