"""Indexing a tensor as if it were 1-D: take, put (and put_)."""
from __future__ import annotations

from disttorch._tensor import Tensor

from .._register import inplace, methods
from .parse import _index_array
from .primitives import _index, _put, _value_for


def _flat_index(input: Tensor, index: Tensor, op: str) -> tuple:
    arr = _index_array(index, op, input)
    numel = int(input._data.size)
    if arr.size and (int(arr.min()) < -numel or int(arr.max()) >= numel):
        bad = int(arr.max()) if int(arr.max()) >= numel else int(arr.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {numel} elements.")
    return (arr,)


def take(input: Tensor, index: Tensor) -> Tensor:
    return _index(input, _flat_index(input, index, "take"), "Take", flat=True)


def _put_source(input: Tensor, index: Tensor, source: Tensor) -> Tensor:
    v = _value_for(input, source)
    if v.numel() != index.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {v.numel()}, index.numel() = {index.numel()}")
    return v if v._data.shape == index._data.shape else v.reshape(index.shape)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    idx = _flat_index(input, index, "put")
    return _put(input, idx, _put_source(input, index, source), accumulate, "Put", True)


put_ = inplace(put)

methods({"take": take, "put": put, "put_": put_})
