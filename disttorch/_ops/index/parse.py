"""Parsing ``t[index]`` and index arguments into a numpy-style index tuple of arrays on the indexed
tensor's device."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import backend_for_array

_INT_KINDS = "iu"


def _on_device_of(arr: Any, like: Any) -> Any:
    """An index array on the device of ``like`` (the array being indexed)."""
    if type(arr) is type(like):
        return arr
    backend = backend_for_array(like)
    return backend.asarray(arr, device_index=backend.device_index(like))


def _is_basic(idx: tuple) -> bool:
    return all(type(i) in (int, slice) or i is None or i is Ellipsis for i in idx)


# -- parsing t[index] ------------------------------------------------------------------------------------
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
              "(got {})")


def _convert(item: Any) -> Any:
    """One index item as int, slice, None, Ellipsis, bool, or an array (int or bool)."""
    t = type(item)
    if t is int or t is slice or item is None or item is Ellipsis or t is bool:
        return item
    if isinstance(item, Tensor):
        arr = item._data
        kind = arr.dtype.kind
        if kind in _INT_KINDS and arr.dtype != np.uint8:
            return int(arr.item()) if arr.ndim == 0 else arr
        if kind == "b" or arr.dtype == np.uint8:
            if arr.ndim == 0:
                return bool(arr.item())
            return arr.astype(bool) if kind != "b" else arr
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if isinstance(item, np.integer):
        return int(item)
    if isinstance(item, np.bool_):
        return bool(item)
    if isinstance(item, (list, tuple, np.ndarray)):
        arr = np.asarray([_host(i) for i in item] if isinstance(item, (list, tuple)) else item)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr
    raise IndexError(_BAD_INDEX.format(type(item).__name__))


def _host(v: Any) -> Any:
    return v.__array__() if isinstance(v, Tensor) else v


def _check_int_array(arr: Any, size: int, dim: int) -> None:
    if arr.size == 0 or (type(arr) is not np.ndarray and not backend_for_array(arr).has_data):
        return  # nothing to check, or no values to check (meta)
    lo, hi = int(arr.min()), int(arr.max())
    if hi >= size or lo < -size:
        bad = hi if hi >= size else lo
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


_ZERO_DIM = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
             "convert a 0-dim tensor to a number")


def _check_bare_on_0dim(item: Any) -> None:
    """PyTorch's messages for a lone int or slice (not inside a tuple) on a 0-dim tensor."""
    if type(item) is int:
        if item != 0:  # PyTorch points to .item() for index 0 only
            raise IndexError(f"index {item} is out of bounds for dimension 0 with size 0")
        raise IndexError(_ZERO_DIM)
    if type(item) is slice:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")


def _parse(x: Any, index: Any) -> tuple[tuple, bool, str]:
    """Normalise ``index`` against array ``x``: (numpy index tuple, advanced?, torch node kind)."""
    items = [_convert(i) for i in (index if type(index) is tuple else (index,))]
    if type(index) is not tuple and x.ndim == 0 and not hasattr(index, "_data"):  # an index tensor: "too many"
        _check_bare_on_0dim(items[0])
    consumed = 0
    for it in items:
        if it is None or it is Ellipsis or type(it) is bool:
            continue
        consumed += it.ndim if not isinstance(it, (int, slice)) and it.dtype.kind == "b" else 1
    shape = x.shape
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out: list = []
    adv = False
    kind = "Alias"
    dim = 0
    seen_ellipsis = False
    for it in items:
        t = type(it)
        if t is int:
            size = shape[dim]
            if it >= size or it < -size:
                raise IndexError(f"index {it} is out of bounds for dimension {dim} with size {size}")
            out.append(it)
            kind = "Select"
            dim += 1
        elif t is slice:
            if it.step is not None and _host_int(it.step) <= 0:
                raise ValueError("step must be greater than zero")
            if it.start is not None or it.stop is not None or it.step is not None:
                it = slice(_host_int(it.start), _host_int(it.stop), _host_int(it.step))
                kind = "Slice"
            out.append(it)
            dim += 1
        elif it is None:
            out.append(None)
            kind = "Unsqueeze"
        elif it is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            out.append(Ellipsis)
            dim += len(shape) - consumed
        elif t is bool:
            out.append(np.bool_(it))
            adv = True
        elif it.dtype.kind == "b":
            for j in range(it.ndim):
                if it.shape[j] != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(it.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {dim + j}")
            out.extend(_on_device_of(a, x) for a in it.nonzero())
            adv = True
            dim += it.ndim
        else:
            _check_int_array(it, shape[dim], dim)
            out.append(_on_device_of(it, x))
            adv = True
            dim += 1
    if adv:
        return tuple(out), True, "Index"
    if not seen_ellipsis:
        out.append(Ellipsis)  # numpy then returns a 0-dim view instead of a scalar copy
    return tuple(out), False, kind


def _host_int(v: Any) -> Any:
    return int(v) if isinstance(v, (Tensor, np.integer)) else v


# -- index arguments of the index ops ---------------------------------------------------------------------
def _index_array(index: Any, op: str, like: Tensor) -> Any:
    """The integer array of the Tensor argument ``index`` of ``op``, on ``like``'s device."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    arr = index._data
    if arr.dtype.kind not in _INT_KINDS:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    return _on_device_of(arr, like._data)
