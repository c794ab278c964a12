"""Reductions and scans: sum, mean, prod, max/min, var/std, norms, logsumexp, cumulative ops,
softmax, any/all, median.

Backward formulas follow PyTorch's (``tools/autograd/derivatives.yaml``) and are written with
Tensor ops, so gradients of gradients work. A few private ops (reshape, broadcast, flip, exp,
gather/scatter along a dim) live here so that backward needs nothing beyond this file and arith.
"""
from __future__ import annotations

import builtins
import math
import operator
import warnings
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._tensor import Tensor, _wrap_dim
from disttorch.autograd.graph import Op

from ._util import BroadcastTo, attach, self_xp

__all__ = ["sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax",
           "var", "std", "var_mean", "std_mean", "norm", "logsumexp", "cumsum", "cumprod", "cummax", "cummin",
           "any", "all", "count_nonzero", "softmax", "log_softmax", "median", "nanmedian"]

_from_array = Tensor._from_array
_bmax, _bany = builtins.max, builtins.any
_INT64 = D.int64


# -- dims and shapes ------------------------------------------------------------------------------------
def _axes(dim: Any, ndim: int) -> tuple[int, ...]:
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


def _one_dim(dim: Any, ndim: int) -> int:
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"expected an int for dim, got {type(dim).__name__}")
    return _wrap_dim(operator.index(dim), ndim)


def _numel(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _kept(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _type_word(dt: D.dtype) -> str:
    from .arith import _type_word as word

    return word(dt)


class _View(Op):
    """Reshape for gradients (restoring reduced dims, flattening)."""

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return _View.apply(grad, shape=self.in_shape)

    def name(self) -> str:
        return "ViewBackward0"


def _view(t: Tensor, shape: tuple) -> Tensor:
    return t if t._data.shape == shape else _View.apply(t, shape=shape)


def _keepdim(t: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """A reduction result with its reduced dims back (size 1), ready to broadcast against the input."""
    return t if keepdim else _view(t, _kept(shape, axes))


def _expand(t: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    t = _keepdim(t, shape, axes, keepdim)
    return t if t._data.shape == shape else BroadcastTo.apply(t, shape=shape)


def _const(arr: Any, like: Tensor) -> Tensor:
    """A constant (no graph) tensor from an array, in ``like``'s dtype."""
    return _from_array(arr.astype(like._data.dtype, copy=False))


class _Flip(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).flip(x, self.axis)

    def backward(self, grad: Tensor) -> Tensor:
        return _Flip.apply(grad, axis=self.axis)

    def name(self) -> str:
        return "FlipBackward0"


class _Exp(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).exp(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * self.saved_output

    def name(self) -> str:
        return "ExpBackward0"


def _index_tuple(xp: Any, index: Any, axis: int) -> tuple:
    """Full fancy index selecting ``index`` along ``axis`` (take_along_axis / put_along_axis)."""
    nd = index.ndim
    return tuple(index if i == axis else xp.arange(n).reshape([n if j == i else 1 for j in range(nd)])
                 for i, n in enumerate(index.shape))


class _Gather(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x[_index_tuple(self_xp(x), self.index, self.axis)]

    def backward(self, grad: Tensor) -> Tensor:
        return _ScatterAdd.apply(grad, index=self.index, axis=self.axis, shape=self.in_shape)

    def name(self) -> str:
        return "GatherBackward0"


class _ScatterAdd(Op):
    """zeros(shape) with ``src`` added at ``index`` along ``axis``."""

    def forward(self, src: Any) -> Any:
        xp = self_xp(src)
        out = xp.zeros(self.shape, src.dtype)
        index = _index_tuple(xp, self.index, self.axis)
        if getattr(self, "unique", False):  # one index per slice (max/min/median along a dim)
            out[index] = src
        elif xp is np:
            np.add.at(out, index, src)
        else:
            import cupyx

            cupyx.scatter_add(out, index, src)
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return _Gather.apply(grad, index=self.index, axis=self.axis)

    def name(self) -> str:
        return "ScatterAddBackward0"


def _running(xp: Any, ufunc: Any, a: Any, axis: int) -> Any:
    """ufunc.accumulate along ``axis``; a log-step scan where the array library lacks accumulate."""
    if xp is np:
        return ufunc.accumulate(a, axis=axis)
    out = a.copy()
    n, step = a.shape[axis], 1
    head, tail = [slice(None)] * a.ndim, [slice(None)] * a.ndim
    while step < n:
        head[axis], tail[axis] = slice(None, n - step), slice(step, None)
        out[tuple(tail)] = ufunc(out[tuple(tail)], out[tuple(head)])
        step *= 2
    return out


def _out(result: Any, out: Any) -> Any:
    if out is None:
        return result
    from .arith import _out as write

    if isinstance(result, tuple):
        for r, o in zip(result, out):
            write(r, o)
        return out
    return write(result, out)


# -- sum, mean, prod ----------------------------------------------------------------------------------
def _acc_dtypes(x: Tensor, dtype: Any, ints_to_long: bool) -> tuple[Any, Any]:
    """(numpy accumulation dtype, numpy result dtype) of a sum-like reduction."""
    if dtype is not None:
        dt = D.to_dtype(dtype)
    else:
        dt = x.dtype
        if ints_to_long and dt.category <= D.INT:
            dt = _INT64
    acc = D.float32 if dt is D.float16 or dt is D.bfloat16 else dt
    return acc.np, dt.np


class Sum(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        out = x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        return _expand(grad, self.in_shape, self.axes, self.keepdim)

    def name(self) -> str:
        return "SumBackward1" if self.has_dim else "SumBackward0"


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Tensor | None = None,
        axis: Any = None) -> Tensor:
    if dim is None:
        dim = axis
    acc, res = _acc_dtypes(input, dtype, True)
    result = Sum.apply(input, axes=_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res,
                       has_dim=dim is not None)
    return _out(result, out)


class Nansum(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        out = self_xp(x).nansum(x, axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        keep = _const(~x._xp.isnan(x._data), grad)
        return _expand(grad, self.in_shape, self.axes, self.keepdim) * keep


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
           out: Tensor | None = None) -> Tensor:
    acc, res = _acc_dtypes(input, dtype, True)
    result = Nansum.apply(input, axes=_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res)
    return _out(result, out)


class Mean(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        self.n = _numel(x.shape, self.axes)
        s = x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        out = s / self.n  # sum / n: an empty slice gives nan without numpy's warning
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        return _expand(grad, self.in_shape, self.axes, self.keepdim) / self.n

    def name(self) -> str:
        return "MeanBackward1" if self.has_dim else "MeanBackward0"


def _check_floating(input: Tensor, dtype: Any, what: str) -> None:
    dt = D.to_dtype(dtype) if dtype is not None else input.dtype
    if dt.category < D.FLOAT:
        raise RuntimeError(f"{what}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {_type_word(dt)}")


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Tensor | None = None,
         axis: Any = None) -> Tensor:
    if dim is None:
        dim = axis
    _check_floating(input, dtype, "mean")
    acc, res = _acc_dtypes(input, dtype, False)
    result = Mean.apply(input, axes=_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res,
                        has_dim=dim is not None)
    return _out(result, out)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
            out: Tensor | None = None) -> Tensor:
    if input.dtype.category < D.FLOAT:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_type_word(input.dtype)}")
    axes = _axes(dim, input._data.ndim)
    count = (~input._xp.isnan(input._data)).sum(axis=axes, keepdims=keepdim)
    total = nansum(input, dim, keepdim, dtype=dtype)
    return _out(total / _const(count, total), out)


class Prod(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        axis = self.axis if x.ndim else None
        out = x.prod(axis=axis, keepdims=self.keepdim and x.ndim > 0, dtype=self.acc)
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape = x._data.shape
        if not shape:
            return grad
        result = self.saved_output
        if self.axis is None:  # the full product: work on the flattened input along dim 0
            n = x._data.size
            flat = _view(x, (n,))
            g = _view(grad, (1,))
            return _view(_prod_grad(flat, g, 0, _view(result, (1,))), shape)
        axes = (self.axis,)
        return _prod_grad(x, _keepdim(grad, shape, axes, self.keepdim), self.axis,
                          _keepdim(result, shape, axes, self.keepdim))

    def name(self) -> str:
        return "ProdBackward1" if self.axis is not None else "ProdBackward0"


def _prod_grad(x: Tensor, grad: Tensor, d: int, result: Tensor | None = None) -> Tensor:
    """Gradient of prod(x, d, keepdim=True), ``grad`` shaped like that result.

    Without zeros it is grad * prod / x. Along a slice whose first zero sits at z,
    prod(x) = x_z * prod(x'), where x' is x with x_z replaced by the constant 1: the gradient at z is
    prod(x'), elsewhere x_z times the gradient of prod(x') (recursively, for further zeros). Every
    term is a Tensor op, so double backward is exact too.
    """
    iszero = x._data == 0
    if not iszero.any():
        if result is None:
            result = prod(x, d, keepdim=True)
        return grad * (result / x)
    first = _const(iszero & (iszero.cumsum(axis=d) == 1), x)
    has_zero = _const(iszero.any(axis=d, keepdims=True), x)
    rest = 1 - first
    x1 = x * rest + first
    xz = (x * first).sum(d, keepdim=True) + (1 - has_zero)  # x_z where a zero is, else 1
    return rest * xz * _prod_grad(x1, grad, d) + first * grad * prod(x1, d, keepdim=True)


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    axis = None if dim is None else _one_dim(dim, input._data.ndim)
    acc, res = _acc_dtypes(input, dtype, True)
    result = Prod.apply(input, axis=axis, keepdim=keepdim and dim is not None, acc=acc, res=res)
    return _out(result, out)


# -- max / min family ---------------------------------------------------------------------------------
def _tie_mask(x: Any, value: Any) -> Any:
    """Where x equals the (broadcast) extreme value; NaN matches NaN, as PyTorch's max() distributes."""
    xp = self_xp(x)
    mask = x == value
    if x.dtype.kind in "fc":
        mask |= xp.isnan(x) & xp.isnan(value)
    return mask


class _Extreme(Op):
    """max() / min() over all elements (``is_max`` picks which): gradient split evenly among ties."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        return x.max() if self.is_max else x.min()

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        mask = _tie_mask(x._data, self.saved_output._data)
        m = _const(mask, grad)
        return m * (grad / _from_array(mask.sum().astype(grad._data.dtype)))

    def name(self) -> str:
        return "MaxBackward1" if self.is_max else "MinBackward1"


class _PickAlongDim(Op):
    """Reductions that pick one element per slice along ``self.axis`` (max/min/median with dim):
    outputs (values, indices); the gradient goes to the picked index."""

    nondiff_outputs = (1,)

    def _result(self, x: Any, values: Any, index: Any) -> tuple:
        self.index = index
        if not self.keepdim or not x.ndim:
            shape = x.shape[:self.axis] + x.shape[self.axis + 1:] if x.ndim else ()
            values, index = values.reshape(shape), index.reshape(shape)
        return values, index

    def backward(self, grad: Tensor, _: Any = None) -> Tensor:
        shape = self.in_shape
        if not shape:
            return grad
        g = _keepdim(grad, shape, (self.axis,), self.keepdim)
        return _ScatterAdd.apply(g, index=self.index, axis=self.axis, shape=shape, unique=True)


class _ExtremeDim(_PickAlongDim):
    """max(dim) / min(dim): (values, indices); the gradient goes to the returned index."""

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        xp = self_xp(x)
        a = x if x.ndim else x.reshape(1)
        idx = (a.argmax if self.is_max else a.argmin)(axis=self.axis, keepdims=True)
        return self._result(x, xp.take_along_axis(a, idx, axis=self.axis), idx)

    def name(self) -> str:
        return "MaxBackward0" if self.is_max else "MinBackward0"


def _check_nonempty_dims(input: Tensor, axes: tuple, what: str) -> None:
    shape = input._data.shape
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{what}(): Expected reduction dim {a} to have non-zero size.")


def _max_min(input: Tensor, dim: Any, keepdim: bool, other: Any, out: Any, is_max: bool) -> Any:
    what = "max" if is_max else "min"
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        from disttorch._ops import compare

        fn = getattr(compare, "maximum" if is_max else "minimum", None)
        if fn is None:
            raise NotImplementedError(f"{what}(input, other) needs disttorch.{what}imum")
        return fn(input, other) if out is None else fn(input, other, out=out)
    if dim is None:
        if keepdim:
            raise TypeError(f"{what}() received an invalid combination of arguments - got keepdim without dim")
        if input._data.size == 0:
            raise RuntimeError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return _out(_Extreme.apply(input, is_max=is_max), out)
    axis = _one_dim(dim, input._data.ndim)
    if input._data.ndim:
        _check_nonempty_dims(input, (axis,), what)
    values, indices = _ExtremeDim.apply(input, axis=axis if input._data.ndim else 0, keepdim=keepdim,
                                        is_max=is_max)
    cls = return_types.max if is_max else return_types.min
    return cls(_out((values, indices), out))


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None, out: Any = None) -> Any:
    """max(input), max(input, dim, keepdim=False) -> (values, indices), or max(input, other)."""
    return _max_min(input, dim, keepdim, other, out, True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None, out: Any = None) -> Any:
    """min(input), min(input, dim, keepdim=False) -> (values, indices), or min(input, other)."""
    return _max_min(input, dim, keepdim, other, out, False)


class _AExtreme(Op):
    """amax / amin: the gradient is split evenly among the elements equal to the result."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        return (x.max if self.is_max else x.min)(axis=self.axes, keepdims=self.keepdim)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape, axes = x._data.shape, self.axes
        value = _keepdim(self.saved_output, shape, axes, self.keepdim)._data
        mask = x._data == value
        count = _from_array(mask.sum(axis=axes, keepdims=True).astype(grad._data.dtype))
        return (_keepdim(grad, shape, axes, self.keepdim) / count) * _const(mask, grad)

    def name(self) -> str:
        return "AmaxBackward0" if self.is_max else "AminBackward0"


def _amax_amin(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Tensor:
    what = "amax" if is_max else "amin"
    axes = _axes(dim, input._data.ndim)
    if input._data.size == 0:
        if dim is None or (isinstance(dim, (tuple, list)) and not dim):
            raise RuntimeError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        _check_nonempty_dims(input, axes, what)
    return _AExtreme.apply(input, axes=axes, keepdim=keepdim, is_max=is_max)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return _out(_amax_amin(input, dim, keepdim, True), out)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return _out(_amax_amin(input, dim, keepdim, False), out)


class Aminmax(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        lo = x.min(axis=self.axes, keepdims=self.keepdim)
        hi = x.max(axis=self.axes, keepdims=self.keepdim)
        self.lo, self.hi = lo, hi
        return lo, hi

    def backward(self, grad_min: Tensor, grad_max: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape, axes, keep = x._data.shape, self.axes, self.keepdim
        total = None
        for g, value in ((grad_min, self.lo), (grad_max, self.hi)):
            mask = x._data == (value if keep else value.reshape(_kept(shape, axes)))
            count = _from_array(mask.sum(axis=axes, keepdims=True).astype(g._data.dtype))
            part = (_keepdim(g, shape, axes, keep) / count) * _const(mask, g)
            total = part if total is None else total + part
        return total


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out: Any = None) -> Any:
    nd = input._data.ndim
    axes = _axes(dim, nd) if dim is None else ((_one_dim(dim, nd),) if nd else ())
    if _empty_reduction(input, axes):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    lo, hi = Aminmax.apply(input, axes=axes, keepdim=keepdim)
    return return_types.aminmax(_out((lo, hi), out))


def _empty_reduction(input: Tensor, axes: tuple) -> bool:
    shape = input._data.shape
    return input._data.size == 0 and (not shape or _bany(shape[a] == 0 for a in axes) or not axes)


def _arg_extreme(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Tensor:
    what = "argmax" if is_max else "argmin"
    x = input._data
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = x.reshape(-1)
        idx = flat.argmax() if is_max else flat.argmin()
        return _from_array(idx.reshape((1,) * x.ndim) if keepdim else idx.reshape(()))
    axis = _one_dim(dim, x.ndim)
    if not x.ndim:
        return _from_array(self_xp(x).zeros((), _INT64.np))
    _check_nonempty_dims(input, (axis,), what)
    return _from_array((x.argmax if is_max else x.argmin)(axis=axis, keepdims=keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(input, dim, keepdim, True)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(input, dim, keepdim, False)


# -- variance, standard deviation, norms ----------------------------------------------------------------
def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("Cannot specify both unbiased and correction")
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_array(x: Any, axes: tuple, dof: float, keepdim: bool, n: int) -> Any:
    xp = self_xp(x)
    centered = x - x.sum(axis=axes, keepdims=True) / n
    sq = centered.real * centered.real + centered.imag * centered.imag if x.dtype.kind == "c" else \
        centered * centered
    return sq.sum(axis=axes, keepdims=keepdim) / xp.asarray(dof, sq.dtype)


def _var_grad(x: Tensor, grad: Tensor, axes: tuple, keepdim: bool, dof: float) -> Tensor:
    """d var / d x: 2 / dof * grad * (x - mean(x))."""
    scale = 2.0 / dof if dof > 0 else math.inf
    centered = x - mean(x, axes, keepdim=True)
    return (scale * _keepdim(grad, x._data.shape, axes, keepdim)) * centered


class Var(Op):
    """var / std (``is_std``) and, with ``with_mean``, var_mean / std_mean."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        out = _var_array(x, self.axes, self.dof, self.keepdim, self.n)
        if self.is_std:
            out = self_xp(x).sqrt(out)
        if not self.with_mean:
            return out
        s = x.sum(axis=self.axes, keepdims=self.keepdim)
        return out, s / self.n

    def backward(self, grad: Tensor, grad_mean: Tensor | None = None) -> Tensor:
        (x,) = self.saved_inputs
        if self.is_std:  # d std = d var / (2 std), taken as 0 where std is 0
            std = self.saved_output
            zero = std._data == 0
            grad = (grad / ((std + _const(zero, std)) * 2)) * _const(~zero, std)
        result = _var_grad(x, grad, self.axes, self.keepdim, self.dof)
        if grad_mean is not None:
            result = result + _expand(grad_mean, x._data.shape, self.axes, self.keepdim) / self.n
        return result

    def name(self) -> str:
        if self.with_mean:
            return "StdMeanBackward0" if self.is_std else "VarMeanBackward0"
        return "StdBackward0" if self.is_std else "VarBackward0"


def _var(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, is_std: bool,
         with_mean: bool) -> Any:
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        dim, unbiased = None, dim
    if input.dtype.category < D.FLOAT:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = _axes(dim, input._data.ndim)
    n = _numel(input._data.shape, axes)
    dof = _bmax(0, n - _correction(unbiased, correction))
    if dof <= 0:
        what = "std" if is_std else "var"
        warnings.warn(f"{what}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return Var.apply(input, axes=axes, keepdim=keepdim, n=n, dof=dof, is_std=is_std, with_mean=with_mean)


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    return _out(_var(input, dim, unbiased, keepdim, correction, False, False), out)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    return _out(_var(input, dim, unbiased, keepdim, correction, True, False), out)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return _var(input, dim, unbiased, keepdim, correction, False, True)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return _var(input, dim, unbiased, keepdim, correction, True, True)


class VectorNorm(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        ord, axes, keep = self.ord, self.axes, self.keepdim
        a = xp.abs(x)
        if ord == 2:
            return xp.sqrt((a * a).sum(axis=axes, keepdims=keep))
        if ord == math.inf:
            return a.max(axis=axes, keepdims=keep)
        if ord == -math.inf:
            return a.min(axis=axes, keepdims=keep)
        if ord == 0:
            return (x != 0).sum(axis=axes, keepdims=keep).astype(a.dtype)
        if ord == 1:
            return a.sum(axis=axes, keepdims=keep)
        return (a ** ord).sum(axis=axes, keepdims=keep) ** (1.0 / ord)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape, axes, p = x._data.shape, self.axes, self.ord
        g = _keepdim(grad, shape, axes, self.keepdim)
        xd = x._data
        if p == 0:
            return x * 0
        sgn = _const(x._xp.sign(xd), x)
        if p == 1:
            return sgn * g
        result = _keepdim(self.saved_output, shape, axes, self.keepdim)
        zero_norm = result._data == 0
        if p == 2:  # gradient 0 where the norm is 0
            return x * ((g / (result + _const(zero_norm, result))) * _const(~zero_norm, result))
        if p == math.inf or p == -math.inf:
            mask = x._xp.abs(xd) == result._data
            count = _from_array(mask.sum(axis=axes, keepdims=True).astype(g._data.dtype))
            return sgn * ((g / count) * _const(mask, g))
        absx = x * sgn
        if p < 1:
            iszero = _const(xd == 0, x)
            scaled = sgn * (absx + iszero) ** (p - 1) * (1 - iszero)
            return scaled * g * result ** (1 - p)
        scale = (g / (result + _const(zero_norm, result)) ** (p - 1)) * _const(~zero_norm, result)
        scaled = sgn * absx ** (p - 1) if p < 2 else x * absx ** (p - 2)
        return scaled * scale

    def name(self) -> str:
        return "LinalgVectorNormBackward0"


def _vector_norm(input: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                 dtype: Any = None) -> Tensor:
    """linalg.vector_norm's computation (shared with ``norm``)."""
    if input.dtype.category < D.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_type_word(input.dtype)}")
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    ord = float(ord)
    axes = _axes(dim, input._data.ndim)
    if math.isinf(ord) and input._data.size == 0 and _empty_reduction(input, axes):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {'-' if ord < 0 else ''}inf norm on an empty "
                           "tensor because the operation does not have an identity")
    return VectorNorm.apply(input, ord=ord, axes=axes, keepdim=keepdim)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, out: Tensor | None = None,
         dtype: Any = None) -> Tensor:
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return _out(_vector_norm(input, 2, dim, keepdim, dtype=dtype), out)
        from disttorch import linalg  # type: ignore[attr-defined]

        dims = list(range(input.ndim)) if dim is None else dim
        return _out(linalg.matrix_norm(input, p, dims, keepdim, dtype=dtype), out)
    return _out(_vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype), out)


# -- logsumexp, softmax ------------------------------------------------------------------------------------
def _shifted(x: Any, axes: tuple) -> tuple[Any, Any]:
    """(x - m, m) with m the max over ``axes`` (kept dims), infinities replaced by 0 for stability."""
    xp = self_xp(x)
    if x.size == 0:
        return x, xp.zeros(_kept(x.shape, axes), x.dtype)
    m = x.max(axis=axes, keepdims=True)
    m = xp.where(xp.isinf(m), 0, m).astype(x.dtype, copy=False)
    return x - m, m


class LogSumExp(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        s, m = _shifted(x, self.axes)
        out = xp.log(xp.exp(s).sum(axis=self.axes, keepdims=True)) + m
        return out if self.keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape = x._data.shape
        result = _keepdim(self.saved_output, shape, self.axes, self.keepdim)
        return _keepdim(grad, shape, self.axes, self.keepdim) * _Exp.apply(x - result)

    def name(self) -> str:
        return "LogsumexpBackward0"


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    if input.dtype.category < D.FLOAT:
        input = input.to(D.get_default_dtype())
    return _out(LogSumExp.apply(input, axes=_axes(dim, input._data.ndim), keepdim=keepdim), out)


class Softmax(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        s, _ = _shifted(x, self.axes)
        if self.log:
            return s - xp.log(xp.exp(s).sum(axis=self.axes, keepdims=True))
        e = xp.exp(s)
        return e / e.sum(axis=self.axes, keepdims=True)

    def backward(self, grad: Tensor) -> Tensor:
        y = self.saved_output
        d = self.axes
        if self.log:
            return grad - _Exp.apply(y) * grad.sum(d, keepdim=True)
        return (grad - (grad * y).sum(d, keepdim=True)) * y

    def name(self) -> str:
        return "LogSoftmaxBackward0" if self.log else "SoftmaxBackward0"


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input: Tensor, dim: Any, dtype: Any, log: bool) -> Tensor:
    name = "log_softmax" if log else "softmax"
    nd = input._data.ndim
    if dim is None:
        dim = _softmax_dim(nd, name)
    axis = _wrap_dim(operator.index(dim), nd)
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    if input.dtype.category < D.FLOAT:
        kernel = "lastdim_kernel_impl" if axis == nd - 1 or nd == 0 else "kernel_impl"
        raise NotImplementedError(f"\"{name}_{kernel}\" not implemented for '{_type_word(input.dtype)}'")
    return Softmax.apply(input, axes=(axis,) if nd else (), log=log)


def softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, _stacklevel: int = 3) -> Tensor:
    return _softmax(input, dim, dtype, False)


def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, _stacklevel: int = 3) -> Tensor:
    return _softmax(input, dim, dtype, True)


# -- scans ------------------------------------------------------------------------------------------------
def _revcumsum(t: Tensor, d: int) -> Tensor:
    return _Flip.apply(cumsum(_Flip.apply(t, axis=d), d), axis=d)


class Cumsum(Op):
    def forward(self, x: Any) -> Any:
        a = x if x.ndim else x.reshape(1)
        out = a.cumsum(axis=self.axis, dtype=self.acc)
        out = out if out.dtype == self.res else out.astype(self.res)
        return out.reshape(x.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return _revcumsum(grad, self.axis) if grad._data.ndim else grad


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    axis = _one_dim(dim, input._data.ndim)
    acc, res = _acc_dtypes(input, dtype, True)
    return _out(Cumsum.apply(input, axis=axis, acc=acc, res=res), out)


class Cumprod(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        a = x if x.ndim else x.reshape(1)
        out = a.cumprod(axis=self.axis, dtype=self.acc)
        out = out if out.dtype == self.res else out.astype(self.res)
        return out.reshape(x.shape)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        if not x._data.ndim or x._data.size == 0:
            return grad
        return _cumprod_grad(x, grad, self.axis, self.saved_output)


def _cumprod_grad(x: Tensor, grad: Tensor, d: int, result: Tensor | None = None) -> Tensor:
    """Gradient of cumprod(x, d).

    Without zeros it is revcumsum(grad * cumprod) / x. With a first zero at z in a slice, let x' be
    x with x_z replaced by the constant 1, so cumprod(x)_i = cumprod(x')_i * (x_z if i >= z else 1):
    the gradient at z is sum_{i>=z} grad_i * cumprod(x')_i, elsewhere it is the gradient of
    cumprod(x') against grad * that factor (recursively, for further zeros).
    """
    iszero = x._data == 0
    if not iszero.any():
        if result is None:
            result = cumprod(x, d)
        return _revcumsum(grad * result, d) / x
    seen = iszero.cumsum(axis=d)
    first = _const(iszero & (seen == 1), x)
    after = _const(seen >= 1, x)
    rest = 1 - first
    x1 = x * rest + first
    xz = (x * first).sum(d, keepdim=True)
    factor = 1 + after * (xz - 1)
    at_zero = (grad * cumprod(x1, d) * after).sum(d, keepdim=True)
    return rest * _cumprod_grad(x1, grad * factor, d) + first * at_zero


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    axis = _one_dim(dim, input._data.ndim)
    acc, res = _acc_dtypes(input, dtype, True)
    return _out(Cumprod.apply(input, axis=axis, acc=acc, res=res), out)


class _CumExtreme(Op):
    """cummax / cummin: running extreme and the index it was last reached at (NaN wins and sticks)."""

    nondiff_outputs = (1,)

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        a = x if x.ndim else x.reshape(1)
        ax = self.axis
        values = _running(xp, xp.maximum if self.is_max else xp.minimum, a, ax)
        n = a.shape[ax]
        steps = xp.arange(n).reshape([n if i == ax else 1 for i in range(a.ndim)])
        hit = a == values
        if a.dtype.kind in "fc":
            hit |= xp.isnan(a)
        index = _running(xp, xp.maximum, xp.where(hit, steps, 0), ax)
        self.index = index
        return values.reshape(x.shape), index.reshape(x.shape)

    def backward(self, grad: Tensor, _: Any = None) -> Tensor:
        if not grad._data.ndim:
            return grad
        return _ScatterAdd.apply(grad, index=self.index, axis=self.axis, shape=grad._data.shape)

    def name(self) -> str:
        return "CummaxBackward0" if self.is_max else "CumminBackward0"


def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    axis = _one_dim(dim, input._data.ndim)
    return return_types.cummax(_out(_CumExtreme.apply(input, axis=axis, is_max=True), out))


def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    axis = _one_dim(dim, input._data.ndim)
    return return_types.cummin(_out(_CumExtreme.apply(input, axis=axis, is_max=False), out))


# -- logical and counting -----------------------------------------------------------------------------------
def _logical(input: Tensor, dim: Any, keepdim: bool, is_any: bool) -> Tensor:
    x = input._data
    axes = _axes(dim, x.ndim)
    res = (x.any if is_any else x.all)(axis=axes, keepdims=keepdim)
    if x.dtype == D.uint8.np:  # PyTorch keeps uint8 for uint8 inputs
        res = res.astype(x.dtype)
    return _from_array(res)


def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return _out(_logical(input, dim, keepdim, True), out)


def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return _out(_logical(input, dim, keepdim, False), out)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    x = input._data
    return _from_array((x != 0).sum(axis=_axes(dim, x.ndim), dtype=_INT64.np))


# -- median ---------------------------------------------------------------------------------------------------
class _MedianAll(Op):
    """median() / nanmedian() over all elements: the lower median; gradient split among equal elements."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        flat = x.reshape(-1)
        if flat.dtype.kind == "f":
            nan = xp.isnan(flat)
            if self.ignore_nan:
                flat = flat[~nan]
            elif nan.any():
                return xp.asarray(xp.nan, x.dtype)
        if flat.size == 0:
            return xp.asarray(xp.nan, x.dtype)
        k = (flat.size - 1) // 2
        return xp.partition(flat, k)[k]

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        mask = _tie_mask(x._data, self.saved_output._data)
        return _const(mask, grad) * (grad / _from_array(mask.sum().astype(grad._data.dtype)))

    def name(self) -> str:
        return "NanmedianBackward0" if self.ignore_nan else "MedianBackward0"


class _MedianDim(_PickAlongDim):
    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        self.in_shape = x.shape
        a = x if x.ndim else x.reshape(1)
        ax = self.axis
        order = xp.argsort(a, axis=ax, kind="stable")  # NaN sorts last
        n = a.shape[ax]
        kshape = _kept(a.shape, (ax,))
        if a.dtype.kind == "f":
            nan = xp.isnan(a)
            if self.ignore_nan:
                valid = (n - nan.sum(axis=ax, keepdims=True))
                k = xp.maximum(valid - 1, 0) // 2
            else:
                k = xp.full(kshape, (n - 1) // 2)
                has_nan = nan.any(axis=ax, keepdims=True)
                # a slice with NaN gives NaN at its first NaN
                k = xp.where(has_nan, n - nan.sum(axis=ax, keepdims=True), k)
        else:
            k = xp.full(kshape, (n - 1) // 2)
        index = xp.take_along_axis(order, k, axis=ax)
        return self._result(x, xp.take_along_axis(a, index, axis=ax), index)

    def name(self) -> str:
        return "NanmedianBackward1" if self.ignore_nan else "MedianBackward1"


def _median(input: Tensor, dim: Any, keepdim: bool, ignore_nan: bool, out: Any) -> Any:
    if dim is None:
        return _out(_MedianAll.apply(input, ignore_nan=ignore_nan), out)
    nd = input._data.ndim
    axis = _one_dim(dim, nd)
    what = "nanmedian" if ignore_nan else "median"
    if nd:
        _check_nonempty_dims(input, (axis,), what)
    values, indices = _MedianDim.apply(input, axis=axis if nd else 0, keepdim=keepdim, ignore_nan=ignore_nan)
    cls = return_types.nanmedian if ignore_nan else return_types.median
    return cls(_out((values, indices), out))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """median(input) -> the lower median; median(input, dim, keepdim=False) -> (values, indices)."""
    return _median(input, dim, keepdim, False, out)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    return _median(input, dim, keepdim, True, out)


for _name in __all__:
    attach(_name, globals()[_name])
