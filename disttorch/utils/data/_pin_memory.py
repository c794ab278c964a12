"""``DataLoader(pin_memory=True)``: each batch's tensors copied into pinned (page-locked) host memory, walking
containers as PyTorch's loader does, so that ``batch.to("cuda", non_blocking=True)`` copies from pinned memory.
Only when an accelerator is present; without one the loader warns and leaves batches alone."""
from __future__ import annotations

import collections.abc
from typing import Any

from disttorch._tensor import Tensor

from ._collate import _rebuild_mapping, _rebuild_sequence


def pin_memory(data: Any) -> Any:
    """``data`` with every tensor (and every object with a ``pin_memory()`` method) pinned; containers keep their
    type where it can be rebuilt (mutable ones are copied and updated, tuples and namedtuples rebuilt)."""
    if isinstance(data, Tensor) or hasattr(data, "pin_memory"):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: pin_memory(v) for k, v in data.items()})
    if isinstance(data, tuple):
        items = (pin_memory(v) for v in data)
        return type(data)(*items) if hasattr(data, "_fields") else type(data)(items)
    if isinstance(data, collections.abc.Sequence):
        return _rebuild_sequence(data, [pin_memory(v) for v in data])
    return data
