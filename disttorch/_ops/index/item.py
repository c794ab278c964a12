"""``t[index]`` and ``t[index] = value``.

Basic indexing (ints, slices, None, Ellipsis) returns a view; anything with an index tensor,
list, array or mask returns a copy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import writable
from disttorch.backends.float8 import check_scalar_fits, is_float8, to_float8

from .._register import _OVERLAP, methods, overlaps, warn_expanded
from .parse import _parse
from .primitives import Index, IndexPut, View, _broadcast_message, _check_put_dtype, _value_for


def __getitem__(self: Tensor, index: Any) -> Tensor:
    idx, adv, kind = _parse(self._data, index)
    if adv:
        return Index.apply(self, idx=idx)
    return View.apply(self, idx=idx, kind=kind)


def _has_mask(index: Any) -> bool:
    items = index if type(index) is tuple else (index,)
    for i in items:
        arr = i._data if isinstance(i, Tensor) else i
        if isinstance(arr, (list, tuple)):
            arr = np.asarray(arr)
        if getattr(arr, "dtype", None) is not None and arr.dtype.kind == "b" and getattr(arr, "ndim", 0):
            return True
    return False


def __setitem__(self: Tensor, index: Any, value: Any) -> None:
    idx, adv, _ = _parse(self._data, index)
    if adv and isinstance(value, Tensor) and value._data.dtype != self._data.dtype and not _has_mask(index):
        _check_put_dtype(self, value)
    if self._needs_graph_for_inplace(value):
        if not adv and self._grad_fn is None and self._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        v = _value_for(self, value)
        kind = "IndexPut" if adv else "torch::autograd::CopySlices"
        self._apply_inplace(lambda s: IndexPut.apply(s, v, idx=idx, accumulate=False, kind=kind), v)
        return
    if isinstance(value, Tensor):
        arr = value._data
        if type(arr) is not type(self._data):
            arr = value.to(self.device)._data
    else:
        arr = value
    data = self._data
    if is_float8(data.dtype) and getattr(arr, "dtype", None) != data.dtype:  # PyTorch's float8 conversion
        if not hasattr(arr, "dtype"):
            check_scalar_fits(arr, data.dtype, D._SCALAR_NAMES[D.from_np[data.dtype]])
        arr = to_float8(np.asarray(arr), data.dtype)
    if overlaps(data):  # an expanded tensor: PyTorch writes into it unless the written region aliases itself
        if not adv:
            if overlaps(data[idx]):
                raise RuntimeError(_OVERLAP)
        else:
            warn_expanded("index_put_")
        data = writable(data)
    try:
        data[idx] = arr
    except ValueError:
        raise RuntimeError(_broadcast_message(self._data, np.shape(arr), idx)) from None
    self._vc[0] += 1


methods({"__getitem__": __getitem__, "__setitem__": __setitem__})
