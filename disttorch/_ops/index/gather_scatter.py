"""Gather and scatter along a dim: gather, take_along_dim, scatter (value, add, multiply), scatter_add,
scatter_reduce (sum, prod, mean, amax, amin). Their in-place forms come from ``inplace``."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import inplace, methods, write_out
from .._util import BroadcastTo, as_tensor_like, to_device_of, wrap_dim
from .parse import _index_array
from .primitives import Index, View, _index, _MaskOut, _put, _scatter

_from_array = Tensor._from_array


def _along(index: Any, dim: int) -> tuple:
    """Index tuple selecting ``x[..., index[i, j, ...], ...]`` along ``dim`` (gather/scatter layout)."""
    xp = array_module(index)
    nd = index.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            out.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(out)


def _check_range(index: Any, size: int, dim: int) -> None:
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _gather_idx(input: Tensor, dim: int, index: Tensor, op: str) -> tuple:
    idx = _index_array(index, op, input)
    shape = input._data.shape
    if idx.ndim != len(shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    dim = wrap_dim(dim, len(shape))
    for d in range(len(shape)):
        if d != dim and idx.shape[d] > shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(shape)} apart from dimension {dim}")
    _check_range(idx, shape[dim], dim)
    return _along(idx, dim)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out: Tensor | None = None
           ) -> Tensor:
    return write_out(_index(input, _gather_idx(input, dim, index, "gather"), "Gather"), out)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out: Tensor | None = None
                   ) -> Tensor:
    return write_out(_take_along_dim(input, indices, dim), out)


def _take_along_dim(input: Tensor, indices: Tensor, dim: int | None) -> Tensor:
    if dim is None:
        arr = _index_array(indices, "take_along_dim", input).reshape(-1)
        _check_range(arr, int(input._data.size), 0)
        return _index(input, (arr,), "Gather", flat=True)
    dim = wrap_dim(dim, input.ndim)
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    shape_in[dim] = shape_ix[dim] = 1
    common = np.broadcast_shapes(tuple(shape_in), tuple(shape_ix))
    tgt_in = list(common)
    tgt_in[dim] = input.shape[dim]
    tgt_ix = list(common)
    tgt_ix[dim] = indices.shape[dim]
    x = input if tuple(input.shape) == tuple(tgt_in) else BroadcastTo.apply(input, shape=tuple(tgt_in))
    ix = _index_array(indices, "take_along_dim", input)
    ix = array_module(ix).broadcast_to(ix, tuple(tgt_ix))
    _check_range(ix, x._data.shape[dim], dim)
    return _index(x, _along(ix, dim), "Gather")


def _scatter_idx(input: Tensor, dim: int, index: Tensor, src: Any, op: str) -> tuple[tuple, Any]:
    """The scatter index tuple and the part of ``src`` it reads (a tensor shaped like index)."""
    idx = _index_array(index, op, input)
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    if idx.ndim != len(shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    src_shape = src._data.shape if isinstance(src, Tensor) else None
    for d in range(len(shape)):
        if (d != dim and idx.shape[d] > shape[d]) or (src_shape is not None and idx.shape[d] > src_shape[d]):
            tail = f" and to be no larger size than src {list(src_shape)}" if src_shape is not None else ""
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} apart "
                               f"from dimension {dim}{tail}")
    _check_range(idx, shape[dim], dim)
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        src = to_device_of(src, input)
        if src_shape != idx.shape:
            src = View.apply(src, idx=tuple(slice(0, n) for n in idx.shape), kind="Slice")
    else:
        src = as_tensor_like(src, input, input.dtype)
    return _along(idx, dim), src


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None, out: Tensor | None = None) -> Tensor:
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    idx, v = _scatter_idx(input, dim, index, src, "scatter")
    if reduce is None:
        result = _put(input, idx, v, False, "Scatter" if isinstance(src, Tensor) else "ScatterBackward1")
    elif reduce == "add":
        result = _put(input, idx, v, True, "ScatterAdd")
    elif reduce == "multiply":
        result = ScatterReduce.apply(input, v, idx=idx, reduce="prod", include_self=True)
    else:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    return write_out(result, out)


@autocast_op("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    idx, v = _scatter_idx(input, dim, index, src, "scatter_add")
    return _put(input, idx, v, True, "ScatterAdd")


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Op):
    """out = x with src reduced into x[idx]; gradients follow PyTorch's scatter_reduce rules."""

    def forward(self, x: Any, src: Any) -> Any:
        xp = array_module(x)
        how = "sum" if self.reduce == "mean" else self.reduce
        out = x.copy()
        idx = self.idx
        keep = x.copy() if self.reduce in ("amax", "amin", "prod") else None
        count = None
        if not self.include_self:
            out[idx] = {"sum": 0, "prod": 1, "amax": _lowest(x.dtype), "amin": _highest(x.dtype)}[how]
        _scatter(out, idx, src, how)
        if self.reduce == "mean":
            count = xp.full(x.shape, 1 if self.include_self else 0, x.dtype)
            _scatter(count, idx, xp.ones(src.shape, x.dtype))
            count = xp.maximum(count, 1)
            out[...] = out // count if x.dtype.kind in "iub" else out / count
        self.saved = (keep, src, out.copy() if self.reduce in ("amax", "amin", "prod") else None, count)
        return out

    def backward(self, grad: Tensor) -> tuple:
        keep, src, res, count = self.saved
        idx, incl = self.idx, self.include_self
        xp = array_module(grad._data)
        if self.reduce in ("sum", "mean"):
            g = grad if count is None else grad / _from_array(count)
            gx = g if incl else _MaskOut.apply(g, idx=idx)
            return gx, Index.apply(g, idx=idx)
        if self.reduce == "prod":
            # d(prod)/d(elem) = product of the other elements of the slot, zeros included
            nz_prod = xp.where(keep != 0, keep, 1) if incl else xp.ones_like(keep)
            zeros = (keep == 0).astype(np.int64) if incl else xp.zeros(keep.shape, np.int64)
            _scatter(nz_prod, idx, xp.where(src != 0, src, 1), "prod")
            _scatter(zeros, idx, (src == 0).astype(np.int64))
            others = xp.where(zeros == 1, nz_prod, 0)

            def deriv(vals: Any, r: Any, o: Any) -> Any:
                with np.errstate(divide="ignore", invalid="ignore"):
                    return xp.where(vals != 0, r / xp.where(vals != 0, vals, 1), o)

            dx = deriv(keep, res, others) if incl else xp.zeros_like(keep)
            dsrc = deriv(src, res[idx], others[idx])
            gx = grad * _from_array(dx) if incl else _MaskOut.apply(grad, idx=idx)
            return gx, Index.apply(grad, idx=idx) * _from_array(dsrc)
        # amax / amin: the gradient is shared evenly between all elements equal to the result
        hit_x = (keep == res) if incl else xp.zeros(keep.shape, bool)
        hit_src = src == res[idx]
        n = hit_x.astype(grad._data.dtype)
        _scatter(n, idx, hit_src.astype(grad._data.dtype))
        untouched = xp.zeros(keep.shape, bool)
        untouched[...] = True
        untouched[idx] = False
        share = xp.where(untouched, 1, hit_x / xp.maximum(n, 1))
        g = grad / _from_array(xp.maximum(n, 1).astype(grad._data.dtype))
        return grad * _from_array(share.astype(grad._data.dtype)), Index.apply(g, idx=idx) * _from_array(
            hit_src.astype(grad._data.dtype))

    def name(self) -> str:
        return "ScatterReduceBackward0"


def _lowest(dt: Any) -> Any:
    return -np.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min)


def _highest(dt: Any) -> Any:
    return np.inf if dt.kind == "f" else (True if dt.kind == "b" else np.iinfo(dt).max)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Tensor | None = None) -> Tensor:
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx, v = _scatter_idx(input, dim, index, src, "scatter_reduce")
    return write_out(ScatterReduce.apply(input, v, idx=idx, reduce=reduce, include_self=include_self), out)


scatter_, scatter_add_, scatter_reduce_ = inplace(scatter), inplace(scatter_add), inplace(scatter_reduce)

methods({
    "gather": gather, "take_along_dim": take_along_dim, "scatter": scatter, "scatter_": scatter_,
    "scatter_add": scatter_add, "scatter_add_": scatter_add_, "scatter_reduce": scatter_reduce,
    "scatter_reduce_": scatter_reduce_,
})
