"""Collation: turning a list of samples into a batch (``default_collate``) or converting one sample
(``default_convert``, used when automatic batching is off)."""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._ops.creation import as_tensor, tensor
from disttorch._ops.shape import stack
from disttorch._tensor import Tensor

__all__ = ["collate", "default_collate", "default_convert", "default_collate_fn_map"]

_NP_STR_OBJ = re.compile(r"[SaUO]")
_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_numpy(obj: Any) -> bool:
    t = type(obj)
    return t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_")


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def default_convert(data: Any) -> Any:
    """numpy arrays and scalars become tensors, recursively inside mappings and sequences; tuples become
    lists (as in PyTorch); everything else is returned unchanged."""
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        if isinstance(data, (np.ndarray, np.generic)):
            return as_tensor(np.asarray(data))
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        return _rebuild_mapping(data, converted)
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like: Any, values: dict) -> Any:
    """A mapping of ``like``'s type holding ``values`` (a plain dict when the type can't be rebuilt)."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like: Any, values: list) -> Any:
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(like)(values)
    except TypeError:
        return values


def collate(batch: list, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None) -> Any:
    """Collate ``batch`` recursively; ``collate_fn_map`` maps element types to collate functions
    ``fn(batch, *, collate_fn_map)`` for the leaves (exact type first, then ``isinstance``)."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for leaf_type, fn in collate_fn_map.items():
            if isinstance(elem, leaf_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        values = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        return _rebuild_mapping(elem, values)
    if _is_namedtuple(elem):
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # PyTorch returns a list for tuples too
        return _rebuild_sequence(elem, columns)
    raise TypeError(_ERR.format(elem_type))


def _collate_tensor(batch: list, *, collate_fn_map: Any = None) -> Tensor:
    return stack(batch, 0)


def _collate_numpy_array(batch: list, *, collate_fn_map: Any = None) -> Any:
    if _NP_STR_OBJ.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalar(batch: list, *, collate_fn_map: Any = None) -> Tensor:
    return as_tensor(np.asarray(batch))


def _collate_float(batch: list, *, collate_fn_map: Any = None) -> Tensor:
    return tensor(batch, dtype=D.float64)


def _collate_int(batch: list, *, collate_fn_map: Any = None) -> Tensor:
    return tensor(batch)  # int64, or bool for Python bools


def _collate_str(batch: list, *, collate_fn_map: Any = None) -> list:
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensor,
    np.ndarray: _collate_numpy_array,
    (np.bool_, np.number, np.object_): _collate_numpy_scalar,
    float: _collate_float,
    int: _collate_int,
    str: _collate_str,
    bytes: _collate_str,
}


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch: tensors are stacked on a new first dimension, numpy arrays
    become stacked tensors, Python floats a float64 tensor, ints an int64 tensor, strings stay a list;
    tuples, lists, dicts and namedtuples are collated field by field (tuples come back as lists)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
