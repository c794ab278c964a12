"""Helpers shared by the shape ops: multi-output views, strided views, dims arguments."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.autograd.graph import _share_view
from disttorch.backends import array_module

_from_array = Tensor._from_array
_ALL = slice(None)


def _share(outs: tuple, base: Tensor) -> tuple:
    """Multi-output views: every output shares storage and version counter with ``base``."""
    for o in outs:
        _share_view(o, base)
    return outs


def _as_strided(arr: Any, shape: tuple, strides: tuple) -> Any:
    """A view with explicit byte strides, writable when ``arr`` is."""
    dt = arr.dtype
    if dt.itemsize == 1 and dt.kind in "fV":  # float8: numpy cannot parse its type string ('<f1'), so its bytes
        return array_module(arr).lib.stride_tricks.as_strided(arr.view("u1"), shape=shape, strides=strides).view(dt)
    return array_module(arr).lib.stride_tricks.as_strided(arr, shape=shape, strides=strides)


def _dims_arg(dims: tuple) -> tuple:
    """Accept f(0, 1) and f((0, 1))."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return dims
