"""``DataLoader(pin_memory=True)``: each batch's tensors copied into pinned (page-locked) host memory, walking
containers as PyTorch's loader does, so that ``batch.to("cuda", non_blocking=True)`` copies from pinned memory.
Only when an accelerator is present; without one the loader warns and leaves batches alone."""
from __future__ import annotations

import collections.abc
import copy
from typing import Any

from disttorch._tensor import Tensor


def pin_memory(data: Any) -> Any:
    """``data`` with every tensor (and every object with a ``pin_memory()`` method) pinned; containers keep their
    type where it can be rebuilt (mutable ones are copied and updated, tuples and namedtuples rebuilt)."""
    if isinstance(data, Tensor) or hasattr(data, "pin_memory"):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        pinned = {k: pin_memory(v) for k, v in data.items()}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)  # keeps the mapping's own attributes
                clone.update(pinned)
                return clone
            return type(data)(pinned)
        except TypeError:  # cannot be copied or built from a dict
            return pinned
    if isinstance(data, tuple):
        items = (pin_memory(v) for v in data)
        return type(data)(*items) if hasattr(data, "_fields") else type(data)(items)
    if isinstance(data, collections.abc.Sequence):
        pinned_items = [pin_memory(v) for v in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, v in enumerate(pinned_items):
                    clone[i] = v
                return clone
            return type(data)(pinned_items)
        except TypeError:  # range and other sequences that cannot be rebuilt
            return pinned_items
    return data
