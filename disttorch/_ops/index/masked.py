"""Masks: masked_select, masked_scatter (and its in-place form); nonzero and argwhere."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import array_module

from .._register import inplace, methods, write_out
from .._util import BroadcastTo
from .parse import _on_device_of
from .primitives import _index, _put, _value_for

_from_array = Tensor._from_array


def _mask_array(mask: Tensor, op: str) -> Any:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op}: expected BoolTensor for mask (got {got})")
    return mask._data


def _broadcast_with_mask(input: Tensor, mask: Tensor, op: str) -> tuple[Tensor, Any]:
    """``input`` and the mask array, both broadcast to their common shape."""
    m = _on_device_of(_mask_array(mask, op), input._data)
    shape = np.broadcast_shapes(input._data.shape, m.shape)
    x = input if input._data.shape == shape else BroadcastTo.apply(input, shape=shape)
    return x, array_module(m).broadcast_to(m, shape)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    x, m = _broadcast_with_mask(input, mask, "masked_select")
    return write_out(_index(x, tuple(m.nonzero()), "MaskedSelect"), out)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    x, m = _broadcast_with_mask(input, mask, "masked_scatter_")
    idx = tuple(m.nonzero()) if m.ndim else (m.reshape(1),)
    n = int(idx[0].shape[0]) if m.ndim else int(bool(m))
    if n > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    v = _value_for(x, _index(source, (array_module(m).arange(n),), "MaskedScatter", flat=True))
    return _put(x, idx, v, False, "MaskedScatter", x.ndim == 0)


def nonzero(input: Tensor, *, out: Tensor | None = None, as_tuple: bool = False) -> Any:
    arr = input._data
    xp = array_module(arr)
    if as_tuple:
        if arr.ndim == 0:
            return (_from_array(xp.zeros(int(bool(arr)), np.int64)),)
        return tuple(_from_array(i.astype(np.int64, copy=False)) for i in arr.nonzero())
    if arr.ndim == 0:
        return write_out(_from_array(xp.zeros((int(bool(arr)), 0), np.int64)), out)
    return write_out(_from_array(xp.stack(arr.nonzero(), axis=1).astype(np.int64, copy=False)), out)


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


masked_scatter_ = inplace(masked_scatter)

methods({"masked_select": masked_select, "masked_scatter": masked_scatter, "masked_scatter_": masked_scatter_,
         "nonzero": nonzero, "argwhere": argwhere})
