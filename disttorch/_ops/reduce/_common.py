"""What the reductions share: reduction dims, the shapes of kept dims, constants, dtypes, out=."""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor, _wrap_dim
from disttorch.autograd.grad_mode import _enabled
from disttorch.backends import array_module

from .._register import write_out
from .._util import BroadcastTo
from ..index import IndexPut, _along
from ..shape import reshape

_from_array = Tensor._from_array


def reduce_axes(dim: Any, ndim: int) -> tuple[int, ...]:
    """Wrapped reduction dims; None or an empty list means all of them (none for a 0-dim tensor)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        if not dim:
            return tuple(range(ndim))
        dims = dim
    else:
        dims = (dim,)
    out: list[int] = []
    for d in dims:
        w = _wrap_dim(operator.index(d), ndim)
        if w in out:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        out.append(w)
    return tuple(out) if ndim else ()


def one_dim(dim: Any, ndim: int) -> int:
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"expected an int for dim, got {type(dim).__name__}")
    return _wrap_dim(operator.index(dim), ndim)


def numel_over(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def with_kept_dims(t: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """A reduction result with its reduced dims back (size 1), ready to broadcast against the input."""
    if keepdim:
        return t
    kept = kept_shape(shape, axes)
    return t if t._data.shape == kept else reshape(t, kept)


def expand_reduced(t: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """A reduction result broadcast back to the input's ``shape`` (the gradient of a sum)."""
    data = t._data
    if not _enabled[0] and type(data) is np.ndarray:  # backward without a graph: on the array itself
        if not keepdim:
            kept = kept_shape(shape, axes)
            if data.shape != kept:
                data = data.reshape(kept)
        return _from_array(data if data.shape == shape else np.broadcast_to(data, shape))
    t = with_kept_dims(t, shape, axes, keepdim)
    return t if t._data.shape == shape else BroadcastTo.apply(t, shape=shape)


def const(arr: Any, like: Tensor) -> Tensor:
    """A constant (no graph) tensor from an array, in ``like``'s dtype."""
    return _from_array(arr.astype(like._data.dtype, copy=False))


def _zeros(shape: tuple, like: Tensor) -> Tensor:
    """A constant tensor of zeros of ``shape`` in ``like``'s dtype and device."""
    return _from_array(array_module(like._data).zeros(shape, like._data.dtype))


def scatter_into_zeros(src: Tensor, shape: tuple, axis: int, index: Any, accumulate: bool) -> Tensor:
    """zeros(shape) with ``src`` written at ``index`` (an array laid out like ``src``) along ``axis``, or summed
    in where indices repeat (``accumulate``): PyTorch's ``zeros.scatter(axis, index, src)`` and ``scatter_add``,
    through the index ops' IndexPut without validating indices the reduction computed itself."""
    kind = "ScatterAdd" if accumulate else "Scatter"
    return IndexPut.apply(_zeros(shape, src), src, idx=_along(index, axis), accumulate=accumulate,
                          inplace=True, kind=kind)  # in place: the zeros are this call's own


def acc_dtypes(x: Tensor, dtype: Any, ints_to_long: bool) -> tuple[Any, Any]:
    """(numpy accumulation dtype, numpy result dtype) of a sum-like reduction."""
    if dtype is not None:
        dt = D.to_dtype(dtype)
    else:
        dt = x.dtype
        if ints_to_long and dt.category <= D.INT:
            dt = D.int64
    acc = D.float32 if dt is D.float16 or dt is D.bfloat16 else dt
    return acc.np, dt.np


def check_nonempty_dims(input: Tensor, axes: tuple, what: str) -> None:
    shape = input._data.shape
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{what}(): Expected reduction dim {a} to have non-zero size.")


def empty_reduction(input: Tensor, axes: tuple) -> bool:
    """Whether reducing ``input`` over ``axes`` reduces some slice of no elements."""
    shape = input._data.shape
    return input._data.size == 0 and (not shape or any(shape[a] == 0 for a in axes) or not axes)


def share_among_ties(x: Tensor, grad: Tensor, value: Any, axes: tuple, keepdim: bool, nan_ties: bool = False
                     ) -> Tensor:
    """``grad`` split evenly among the elements of ``x`` equal to ``value``, the result of a reduction over
    ``axes`` (the gradient of amax/amin, and of max/min/median over all elements). With ``nan_ties`` NaN
    counts as equal to NaN, as PyTorch's max() and median() distribute; amax/amin compare plainly."""
    shape, xd = x._data.shape, x._data
    value = value if keepdim else value.reshape(kept_shape(shape, axes))
    mask = xd == value
    if nan_ties and xd.dtype.kind in "fc":
        xp = array_module(xd)
        mask |= xp.isnan(xd) & xp.isnan(value)
    count = _from_array(mask.sum(axis=axes, keepdims=True).astype(grad._data.dtype))
    return (with_kept_dims(grad, shape, axes, keepdim) / count) * const(mask, grad)


def write_outs(result: Any, out: Any) -> Any:
    """``write_out`` for one result or a tuple of them (max(dim), median(dim), cummax...)."""
    if out is None:
        return result
    if isinstance(result, tuple):
        for r, o in zip(result, out):
            write_out(r, o)
        return out
    return write_out(result, out)
