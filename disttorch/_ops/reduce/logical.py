"""any, all, count_nonzero."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends.registry import device_of

from .._register import methods, write_out
from ._common import reduce_axes

__all__ = ["any", "all", "count_nonzero"]

_from_array = Tensor._from_array


def _logical(input: Tensor, dim: Any, keepdim: bool, is_any: bool) -> Tensor:
    x = input._data
    axes = reduce_axes(dim, x.ndim)
    with device_of(x):  # on the input's device, current or not
        res = (x.any if is_any else x.all)(axis=axes, keepdims=keepdim)
    if x.dtype == D.uint8.np:  # PyTorch keeps uint8 for uint8 inputs
        res = res.astype(x.dtype)
    return _from_array(res)


def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return write_out(_logical(input, dim, keepdim, True), out)


def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    return write_out(_logical(input, dim, keepdim, False), out)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    x = input._data
    with device_of(x):
        return _from_array((x != 0).sum(axis=reduce_axes(dim, x.ndim), dtype=D.int64.np))


methods({"any": any, "all": all, "count_nonzero": count_nonzero})
