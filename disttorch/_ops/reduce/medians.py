"""median and nanmedian (the lower median; over all elements or along a dim)."""
from __future__ import annotations

from typing import Any

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods
from ._common import check_nonempty_dims, kept_shape, one_dim, share_among_ties, write_outs
from .extremes import PickAlongDim

__all__ = ["median", "nanmedian"]

class _MedianAll(Op):
    """median() / nanmedian() over all elements: the lower median; gradient split among equal elements."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
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
        return share_among_ties(x, grad, self.saved_output._data, tuple(range(x.ndim)), False, nan_ties=True)

    def name(self) -> str:
        return "NanmedianBackward0" if self.ignore_nan else "MedianBackward0"


class _MedianDim(PickAlongDim):
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        self.in_shape = x.shape
        a = x if x.ndim else x.reshape(1)
        ax = self.axis
        order = xp.argsort(a, axis=ax, kind="stable")  # NaN sorts last
        n = a.shape[ax]
        kshape = kept_shape(a.shape, (ax,))
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
        return write_outs(_MedianAll.apply(input, ignore_nan=ignore_nan), out)
    nd = input._data.ndim
    axis = one_dim(dim, nd)
    what = "nanmedian" if ignore_nan else "median"
    if nd:
        check_nonempty_dims(input, (axis,), what)
    values, indices = _MedianDim.apply(input, axis=axis if nd else 0, keepdim=keepdim, ignore_nan=ignore_nan)
    cls = return_types.nanmedian if ignore_nan else return_types.median
    return cls(write_outs((values, indices), out))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """median(input) -> the lower median; median(input, dim, keepdim=False) -> (values, indices)."""
    return _median(input, dim, keepdim, False, out)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    return _median(input, dim, keepdim, True, out)


methods({"median": median, "nanmedian": nanmedian})
