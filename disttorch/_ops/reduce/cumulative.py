"""Scans along a dim: cumsum, cumprod, cummax, cummin."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, write_out
from ..shape import flip
from ._common import acc_dtypes, const, one_dim, scatter_into_zeros, write_outs

__all__ = ["cumsum", "cumprod", "cummax", "cummin"]

def _running(xp: Any, ufunc: Any, a: Any, axis: int) -> Any:
    """ufunc.accumulate along ``axis``; a log-step scan (any array module) where numpy's accumulate is not at hand."""
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


def _revcumsum(t: Tensor, d: int) -> Tensor:
    return flip(cumsum(flip(t, d), d), d)


class Cumsum(Op):
    def forward(self, x: Any) -> Any:
        a = x if x.ndim else x.reshape(1)
        out = a.cumsum(axis=self.axis, dtype=self.acc)
        out = out if out.dtype == self.res else out.astype(self.res)
        return out.reshape(x.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return _revcumsum(grad, self.axis) if grad._data.ndim else grad


@autocast_op("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    axis = one_dim(dim, input._data.ndim)
    acc, res = acc_dtypes(input, dtype, True)
    return write_out(Cumsum.apply(input, axis=axis, acc=acc, res=res), out)


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
    first = const(iszero & (seen == 1), x)
    after = const(seen >= 1, x)
    rest = 1 - first
    x1 = x * rest + first
    xz = (x * first).sum(d, keepdim=True)
    factor = 1 + after * (xz - 1)
    at_zero = (grad * cumprod(x1, d) * after).sum(d, keepdim=True)
    return rest * _cumprod_grad(x1, grad * factor, d) + first * at_zero


@autocast_op("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    axis = one_dim(dim, input._data.ndim)
    acc, res = acc_dtypes(input, dtype, True)
    return write_out(Cumprod.apply(input, axis=axis, acc=acc, res=res), out)


class _CumExtreme(Op):
    """cummax / cummin: running extreme and the index it was last reached at (NaN wins and sticks)."""

    nondiff_outputs = (1,)

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
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
        # PyTorch's cummaxmin_backward: zeros with the gradient summed in at the indices
        return scatter_into_zeros(grad, grad._data.shape, self.axis, self.index, accumulate=True)

    def name(self) -> str:
        return "CummaxBackward0" if self.is_max else "CumminBackward0"


def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    axis = one_dim(dim, input._data.ndim)
    return return_types.cummax(write_outs(_CumExtreme.apply(input, axis=axis, is_max=True), out))


def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    axis = one_dim(dim, input._data.ndim)
    return return_types.cummin(write_outs(_CumExtreme.apply(input, axis=axis, is_max=False), out))


methods({"cumsum": cumsum, "cumprod": cumprod, "cummax": cummax, "cummin": cummin})
