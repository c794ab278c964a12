"""Sorting and order statistics: sort, argsort, topk, kthvalue, unique, searchsorted, bincount.

Values are read from the input with the differentiable ``Index`` op at the sorted positions, so
gradients flow back to the elements that were selected. Indices never carry gradient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from ._register import methods, type_word, write_out
from ._util import wrap_dim
from .index import Index, _along
from .reduce._common import write_outs

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive", "searchsorted",
           "bucketize", "bincount", "histc"]

_from_array = Tensor._from_array


def _argsort(arr: Any, axis: int, descending: bool) -> Any:
    """Stable argsort; NaN counts as the largest value (last ascending, first descending) like PyTorch."""
    xp = array_module(arr)
    if not descending:
        return xp.argsort(arr, axis=axis, kind="stable")
    # descending and stable: sort the reversed array ascending, then reverse back
    n = arr.shape[axis]
    rev = xp.flip(arr, axis)
    return (n - 1) - xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)


def _take(input: Tensor, idx: Any, dim: int, kind: str) -> Tensor:
    """input's values at ``idx`` (laid out like take_along_dim), differentiable."""
    if input.ndim == 0:
        return Index.apply(input, idx=(idx.reshape(()),), flat=True, kind=kind)
    return Index.apply(input, idx=_along(idx, dim), kind=kind)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool | None = False, *,
         out: Any = None) -> Any:
    dim = wrap_dim(dim, input.ndim)
    arr = input._data
    if arr.ndim == 0:
        idx = array_module(arr).zeros((), np.int64)
    else:
        idx = _argsort(arr, dim, descending).astype(np.int64, copy=False)
    return return_types.sort(write_outs((_take(input, idx, dim, "Sort"), _from_array(idx)), out))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable)[1]


def msort(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(sort(input, 0)[0], out)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out: Any = None) -> Any:
    dim = wrap_dim(dim, input.ndim)
    arr = input._data
    size = arr.shape[dim] if arr.ndim else 1
    if k < 0 or k > size:
        raise RuntimeError("selected index k out of range")
    xp = array_module(arr)
    if arr.ndim == 0:
        idx = xp.zeros((), np.int64)
    else:
        idx = xp.take(_argsort(arr, dim, largest), xp.arange(k), axis=dim).astype(np.int64, copy=False)
    return return_types.topk(write_outs((_take(input, idx, dim, "Topk"), _from_array(idx)), out))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    dim = wrap_dim(dim, input.ndim)
    arr = input._data
    size = arr.shape[dim] if arr.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    xp = array_module(arr)
    if arr.ndim == 0:
        idx = xp.zeros((), np.int64)
        return return_types.kthvalue(write_outs((_take(input, idx, dim, "Kthvalue"), _from_array(idx)), out))
    idx = xp.take(_argsort(arr, dim, False), xp.asarray([k - 1]), axis=dim).astype(np.int64, copy=False)
    values = _take(input, idx, dim, "Kthvalue")
    if not keepdim:
        idx = xp.squeeze(idx, dim)
        values = Index.apply(values, idx=(slice(None),) * dim + (0,), kind="Kthvalue")
    return return_types.kthvalue(write_outs((values, _from_array(idx)), out))


# -- unique ----------------------------------------------------------------------------------------------
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    arr = input._data
    xp = array_module(arr)
    if dim is None:
        vals, inv, counts = xp.unique(arr.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(arr.shape)
    else:
        dim = wrap_dim(dim, arr.ndim)
        vals, inv, counts = _unique_dim(xp, arr, dim)
    return _unique_result(input, vals, inv, counts, return_inverse, return_counts,
                          "_unique2" if dim is None else "unique_dim")


class _NotDifferentiable(Op):
    """Carries a precomputed result into the graph; its backward reports the missing derivative."""

    def forward(self, x: Any) -> Any:
        return self.result

    def backward(self, grad: Tensor) -> None:
        raise RuntimeError(f"the derivative for '{self.op}' is not implemented.")

    def name(self) -> str:
        return "".join(p.capitalize() for p in self.op.split("_")) + "Backward0"


def _unique_dim(xp: Any, arr: Any, dim: int) -> tuple:
    moved = xp.moveaxis(arr, dim, 0)
    n = moved.shape[0]
    if n == 0:
        return arr, xp.zeros(0, np.int64), xp.zeros(0, np.int64)
    rows = moved.reshape(n, -1)
    # lexicographic order of the slices, then mark where a slice differs from its predecessor
    order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(n)
    srt = rows[order]
    new = xp.ones(n, bool)
    if rows.shape[1]:
        new[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    else:
        new[1:] = False
    group = xp.cumsum(new) - 1
    inv = xp.empty(n, np.int64)
    inv[order] = group
    starts = xp.nonzero(new)[0]
    counts = xp.diff(xp.append(starts, n))
    vals = xp.moveaxis(moved[order[starts]], 0, dim)
    return vals, inv, counts


def _unique_result(input: Tensor, vals: Any, inv: Any, counts: Any, return_inverse: bool, return_counts: bool,
                   op: str) -> Any:
    out = _NotDifferentiable.apply(input, result=vals, op=op)
    if not return_inverse and not return_counts:
        return out
    res = [out]
    if return_inverse:
        res.append(_from_array(inv.astype(np.int64, copy=False)))
    if return_counts:
        res.append(_from_array(counts.astype(np.int64, copy=False)))
    return tuple(res)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    arr = input._data
    xp = array_module(arr)
    if dim is None:
        flat = arr.reshape(-1)
        n = flat.shape[0]
        new = xp.ones(n, bool)
        new[1:] = flat[1:] != flat[:-1]
        inv_shape = arr.shape
        take = flat
        axis = 0
    else:
        axis = wrap_dim(dim, arr.ndim)
        moved = xp.moveaxis(arr, axis, 0)
        n = moved.shape[0]
        rows = moved.reshape(n, -1)
        new = xp.ones(n, bool)
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
        inv_shape = (n,)
        take = arr
    starts = xp.nonzero(new)[0]
    inv = (xp.cumsum(new) - 1).reshape(inv_shape)
    counts = xp.diff(xp.append(starts, n))
    vals = xp.take(take, starts, axis=axis)
    return _unique_result(input, vals, inv, counts, return_inverse, return_counts, "unique_consecutive")


# -- searching and counting ------------------------------------------------------------------------------
def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, out: Any = None, sorter: Tensor | None = None) -> Tensor:
    seq = sorted_sequence._data
    xp = array_module(seq)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    scalar = not isinstance(input, Tensor)
    vals = xp.asarray(input) if scalar else input._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    which = "right" if right else "left"
    if seq.ndim <= 1:
        res = xp.searchsorted(seq, vals, side=which)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               "dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
        s2 = seq.reshape(-1, seq.shape[-1])
        v2 = vals.reshape(-1, vals.shape[-1])
        res = xp.stack([xp.searchsorted(s2[i], v2[i], side=which) for i in range(s2.shape[0])])
        res = res.reshape(vals.shape)
    return write_out(_from_array(xp.asarray(res).astype(np.int32 if out_int32 else np.int64)), out)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out: Any = None) -> Tensor:
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    arr = input._data
    if arr.ndim != 1 or arr.dtype.kind not in "iub":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if arr.size and int(arr.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = array_module(arr)
    if weights is None:
        return _from_array(xp.bincount(arr, minlength=minlength).astype(np.int64, copy=False))
    w = weights._data
    if w.shape != arr.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = np.float32 if w.dtype == np.float32 else np.float64
    return _from_array(xp.bincount(arr, weights=w, minlength=minlength).astype(out_dtype, copy=False))


def histc(input: Tensor, bins: int = 100, min: Any = 0, max: Any = 0, *, out: Any = None) -> Tensor:
    arr = input._data
    if arr.dtype.kind != "f":
        raise RuntimeError(f'"histogram_cpu" not implemented for \'{type_word(input.dtype)}\'')
    if bins <= 0:
        raise RuntimeError("bins must be > 0")
    xp = array_module(arr)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("max must be larger than min")
    if lo == hi and arr.size:
        lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    flat = arr.reshape(-1).astype(np.float64)
    keep = flat[(flat >= lo) & (flat <= hi)]
    pos = ((keep - lo) * bins / (hi - lo)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)  # the upper edge belongs to the last bin
    return write_out(_from_array(xp.bincount(pos, minlength=bins).astype(arr.dtype)), out)


methods({"sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue, "unique": unique,
         "unique_consecutive": unique_consecutive, "bincount": bincount, "histc": histc})
