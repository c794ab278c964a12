"""Tensor methods about the memory behind a tensor: ``resize_``, ``resize_as_``, ``set_``, ``share_memory_``,
``is_shared``."""
from __future__ import annotations

import math
import mmap
from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode

from ._register import methods
from ._util import normalize_shape


def resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give the tensor a new shape, keeping its elements in order (as far as they go); elements beyond the
    old ones are uninitialised, as in PyTorch."""
    if grad_mode.is_grad_enabled() and self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = normalize_shape(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    n = math.prod(shape)
    arr = self._data
    if arr.size >= n and arr.flags.c_contiguous:
        self._data = arr.reshape(-1)[:n].reshape(shape)  # same storage
    else:
        xp = self._xp
        new = xp.empty(n, arr.dtype)
        keep = min(n, arr.size)
        new[:keep] = arr.reshape(-1)[:keep]
        self._data = new.reshape(shape)
    self._vc[0] += 1
    return self


def resize_as_(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    return resize_(self, the_template.shape)


def set_(self: Tensor, source: Any = None, storage_offset: int = 0, size: Any = None, stride: Any = None) -> Tensor:
    """Make this tensor use ``source``'s memory (the same elements, shape and version counter); with no source,
    an empty tensor."""
    if grad_mode.is_grad_enabled() and self._requires_grad and self._grad_fn is None:
        raise RuntimeError("set_ is not allowed on a Tensor created from .data or .detach().")
    if source is None:
        self._data = self._xp.empty(0, self._data.dtype)
    elif isinstance(source, Tensor):
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"Expected object of scalar type {self.dtype} but got scalar type {source.dtype} "
                               "for argument 'source'")
        data = source._data
        if size is not None:
            flat = data.reshape(-1)
            n = math.prod(normalize_shape((size,)))
            data = flat[storage_offset:storage_offset + n].reshape(normalize_shape((size,)))
        self._data = data
        self._vc = source._vc
    else:
        raise TypeError(f"set_(): expected a Tensor as source, got {type(source).__name__}")
    return self


def share_memory_(self: Tensor) -> Tensor:
    """Move the data into memory shared with child processes (an anonymous shared mapping, so forked
    workers see writes both ways). A no-op for cuda tensors and tensors already shared."""
    if not self.is_cpu or is_shared(self):
        return self
    arr = self._data
    nbytes = max(arr.nbytes, 1)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_SHARED)
    shared = np.frombuffer(buf, dtype=arr.dtype, count=arr.size).reshape(arr.shape)
    shared[...] = arr
    self._data = shared
    return self


def is_shared(self: Tensor) -> bool:
    """Whether the data is in shared memory (``share_memory_``; cuda memory counts as shared, as in PyTorch)."""
    if not self.is_cpu:
        return True
    base = self._data
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, mmap.mmap)


methods({"resize_": resize_, "resize_as_": resize_as_, "set_": set_, "share_memory_": share_memory_,
         "is_shared": is_shared})
