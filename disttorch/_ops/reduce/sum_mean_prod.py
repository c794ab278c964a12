"""sum, nansum, mean, nanmean, prod."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _autocast
from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, type_word, write_out
from ..shape import reshape
from ._common import acc_dtypes, const, expand_reduced, numel_over, one_dim, reduce_axes, with_kept_dims

__all__ = ["sum", "nansum", "mean", "nanmean", "prod"]

class Sum(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        out = x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        return expand_reduced(grad, self.in_shape, self.axes, self.keepdim)

    def name(self) -> str:
        return "SumBackward1" if self.has_dim else "SumBackward0"

    def saved_spec(self) -> dict:
        spec = {"self_sym_sizes": lambda n: tuple(n.in_shape)}
        if self.has_dim:
            spec.update(dim=lambda n: tuple(n.axes), keepdim=lambda n: n.keepdim)
        return spec


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Tensor | None = None,
        axis: Any = None) -> Tensor:
    if _autocast.on and dtype is None:
        input = _autocast.cast_input("sum", input)
    if dim is None:
        dim = axis
    if dim is None and dtype is None and out is None:  # the whole tensor in its own (float) dtype: the short path
        np_dtype = input._data.dtype
        if np_dtype in _SELF_ACC:
            return Sum.apply(input, axes=_ALL_AXES[input._data.ndim] if input._data.ndim < 8 else
                             tuple(range(input._data.ndim)), keepdim=keepdim, acc=np_dtype, res=np_dtype,
                             has_dim=False)
    acc, res = acc_dtypes(input, dtype, True)
    result = Sum.apply(input, axes=reduce_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res,
                       has_dim=dim is not None)
    return write_out(result, out)


_SELF_ACC = frozenset(np.dtype(t) for t in ("float32", "float64", "complex64", "complex128"))  # summed as they are
_ALL_AXES = [tuple(range(n)) for n in range(8)]


class Nansum(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        out = array_module(x).nansum(x, axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        keep = const(~x._xp.isnan(x._data), grad)
        return expand_reduced(grad, self.in_shape, self.axes, self.keepdim) * keep


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
           out: Tensor | None = None) -> Tensor:
    acc, res = acc_dtypes(input, dtype, True)
    result = Nansum.apply(input, axes=reduce_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res)
    return write_out(result, out)


class Mean(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        self.n = numel_over(x.shape, self.axes)
        s = x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.acc)
        out = s / self.n  # sum / n: an empty slice gives nan without numpy's warning
        return out if out.dtype == self.res else out.astype(self.res)

    def backward(self, grad: Tensor) -> Tensor:
        return expand_reduced(grad, self.in_shape, self.axes, self.keepdim) / self.n

    def name(self) -> str:
        return "MeanBackward1" if self.has_dim else "MeanBackward0"

    def saved_spec(self) -> dict:
        spec = {"self_sym_sizes": lambda n: tuple(n.in_shape), "self_sym_numel": lambda n: int(np.prod(n.in_shape))}
        if self.has_dim:
            spec.update(dim=lambda n: tuple(n.axes), keepdim=lambda n: n.keepdim)
        return spec


def _check_floating(input: Tensor, dtype: Any, what: str) -> None:
    dt = D.to_dtype(dtype) if dtype is not None else input.dtype
    if dt.category < D.FLOAT:
        raise RuntimeError(f"{what}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {type_word(dt)}")


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Tensor | None = None,
         axis: Any = None) -> Tensor:
    if _autocast.on and dtype is None:
        input = _autocast.cast_input("sum", input)
    if dim is None:
        dim = axis
    _check_floating(input, dtype, "mean")
    acc, res = acc_dtypes(input, dtype, False)
    result = Mean.apply(input, axes=reduce_axes(dim, input._data.ndim), keepdim=keepdim, acc=acc, res=res,
                        has_dim=dim is not None)
    return write_out(result, out)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
            out: Tensor | None = None) -> Tensor:
    if input.dtype.category < D.FLOAT:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{type_word(input.dtype)}")
    axes = reduce_axes(dim, input._data.ndim)
    count = (~input._xp.isnan(input._data)).sum(axis=axes, keepdims=keepdim)
    total = nansum(input, dim, keepdim, dtype=dtype)
    return write_out(total / const(count, total), out)


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
            flat = reshape(x, (x._data.size,))
            return reshape(_prod_grad(flat, reshape(grad, (1,)), 0, reshape(result, (1,))), shape)
        axes = (self.axis,)
        return _prod_grad(x, with_kept_dims(grad, shape, axes, self.keepdim), self.axis,
                         with_kept_dims(result, shape, axes, self.keepdim))

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
    first = const(iszero & (iszero.cumsum(axis=d) == 1), x)
    has_zero = const(iszero.any(axis=d, keepdims=True), x)
    rest = 1 - first
    x1 = x * rest + first
    xz = (x * first).sum(d, keepdim=True) + (1 - has_zero)  # x_z where a zero is, else 1
    return rest * xz * _prod_grad(x1, grad, d) + first * grad * prod(x1, d, keepdim=True)


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    if _autocast.on and dtype is None:
        input = _autocast.cast_input("prod", input)
    axis = None if dim is None else one_dim(dim, input._data.ndim)
    acc, res = acc_dtypes(input, dtype, True)
    result = Prod.apply(input, axis=axis, keepdim=keepdim and dim is not None, acc=acc, res=res)
    return write_out(result, out)


methods({"sum": sum, "nansum": nansum, "mean": mean, "nanmean": nanmean, "prod": prod})
