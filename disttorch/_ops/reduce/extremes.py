"""max, min (over all elements, along a dim, or against another tensor), amax, amin, aminmax, argmax, argmin."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods
from ..compare import maximum, minimum
from ._common import (
    check_nonempty_dims,
    empty_reduction,
    one_dim,
    reduce_axes,
    scatter_into_zeros,
    share_among_ties,
    with_kept_dims,
    write_outs,
)

__all__ = ["max", "min", "amax", "amin", "argmax", "argmin", "aminmax"]

_from_array = Tensor._from_array


class _Extreme(Op):
    """max() / min() over all elements (``is_max`` picks which): gradient split evenly among ties."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        return x.max() if self.is_max else x.min()

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        return share_among_ties(x, grad, self.saved_output._data, tuple(range(x.ndim)), False, nan_ties=True)

    def name(self) -> str:
        return "MaxBackward1" if self.is_max else "MinBackward1"


class PickAlongDim(Op):
    """Reductions that pick one element per slice along ``self.axis`` (max/min/median with dim):
    outputs (values, indices); the gradient goes to the picked index (PyTorch's
    value_selecting_reduction_backward: zeros scattered with the gradient)."""

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
        g = with_kept_dims(grad, shape, (self.axis,), self.keepdim)
        return scatter_into_zeros(g, shape, self.axis, self.index, accumulate=False)


class _ExtremeDim(PickAlongDim):
    """max(dim) / min(dim): (values, indices); the gradient goes to the returned index."""

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        xp = array_module(x)
        a = x if x.ndim else x.reshape(1)
        idx = (a.argmax if self.is_max else a.argmin)(axis=self.axis, keepdims=True)
        return self._result(x, xp.take_along_axis(a, idx, axis=self.axis), idx)

    def name(self) -> str:
        return "MaxBackward0" if self.is_max else "MinBackward0"


def _max_min(input: Tensor, dim: Any, keepdim: bool, other: Any, out: Any, is_max: bool) -> Any:
    what = "max" if is_max else "min"
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        fn = maximum if is_max else minimum
        return fn(input, other) if out is None else fn(input, other, out=out)
    if dim is None:
        if keepdim:
            raise TypeError(f"{what}() received an invalid combination of arguments - got keepdim without dim")
        if input._data.size == 0:
            raise RuntimeError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return write_outs(_Extreme.apply(input, is_max=is_max), out)
    axis = one_dim(dim, input._data.ndim)
    if input._data.ndim:
        check_nonempty_dims(input, (axis,), what)
    values, indices = _ExtremeDim.apply(input, axis=axis if input._data.ndim else 0, keepdim=keepdim,
                                        is_max=is_max)
    cls = return_types.max if is_max else return_types.min
    return cls(write_outs((values, indices), out))


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
        return share_among_ties(x, grad, self.saved_output._data, self.axes, self.keepdim)

    def name(self) -> str:
        return "AmaxBackward0" if self.is_max else "AminBackward0"


def _amax_amin(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Tensor:
    what = "amax" if is_max else "amin"
    axes = reduce_axes(dim, input._data.ndim)
    if input._data.size == 0:
        if dim is None or (isinstance(dim, (tuple, list)) and not dim):
            raise RuntimeError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        check_nonempty_dims(input, axes, what)
    return _AExtreme.apply(input, axes=axes, keepdim=keepdim, is_max=is_max)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return write_outs(_amax_amin(input, dim, keepdim, True), out)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return write_outs(_amax_amin(input, dim, keepdim, False), out)


class Aminmax(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        lo = x.min(axis=self.axes, keepdims=self.keepdim)
        hi = x.max(axis=self.axes, keepdims=self.keepdim)
        self.lo, self.hi = lo, hi
        return lo, hi

    def backward(self, grad_min: Tensor, grad_max: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        return (share_among_ties(x, grad_min, self.lo, self.axes, self.keepdim)
                + share_among_ties(x, grad_max, self.hi, self.axes, self.keepdim))


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out: Any = None) -> Any:
    nd = input._data.ndim
    axes = reduce_axes(dim, nd) if dim is None else ((one_dim(dim, nd),) if nd else ())
    if empty_reduction(input, axes):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    lo, hi = Aminmax.apply(input, axes=axes, keepdim=keepdim)
    return return_types.aminmax(write_outs((lo, hi), out))


def _arg_extreme(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Tensor:
    what = "argmax" if is_max else "argmin"
    x = input._data
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = x.reshape(-1)
        idx = flat.argmax() if is_max else flat.argmin()
        return _from_array(idx.reshape((1,) * x.ndim) if keepdim else idx.reshape(()))
    axis = one_dim(dim, x.ndim)
    if not x.ndim:
        return _from_array(array_module(x).zeros((), D.int64.np))
    check_nonempty_dims(input, (axis,), what)
    return _from_array((x.argmax if is_max else x.argmin)(axis=axis, keepdims=keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(input, dim, keepdim, True)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(input, dim, keepdim, False)


methods({"max": max, "min": min, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin,
         "aminmax": aminmax})
