"""The memory behind a tensor, seen as PyTorch shows it: ``storage()`` / ``untyped_storage()`` (the classes of
``disttorch/storage.py``), ``pin_memory()`` / ``is_pinned()``, and the legacy constructor ``Tensor.new``."""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from disttorch._tensor import Size, Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import backend_for_array, get_backend
from disttorch.storage import TypedStorage, UntypedStorage

from ._register import methods
from .creation import empty, tensor
from .views_extra import _storage_of


def storage(self: Tensor) -> TypedStorage:
    return TypedStorage._wrap(_storage_of(self), self.device, self.dtype)


def untyped_storage(self: Tensor) -> UntypedStorage:
    return UntypedStorage._wrap(_storage_of(self), self.device)


# -- pinned memory ---------------------------------------------------------------------------------------
_pinned: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id(buffer) -> pinned buffer


def _root(arr: Any) -> Any:
    while getattr(arr, "base", None) is not None and isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _pinning_backend(arr: Any) -> Any:
    """The backend whose host buffers copy fastest to an accelerator: cuda when there is one, else the array's."""
    try:
        cuda = get_backend("cuda")
        if cuda.is_available():
            return cuda
    except Exception:  # no cuda backend registered or loadable
        pass
    return backend_for_array(arr)


class PinMemory(Op):
    def forward(self, x: Any) -> Any:
        buf = _pinning_backend(x).pinned_buffer(max(x.nbytes, 1))
        _pinned[id(_root(buf))] = _root(buf)
        out = buf[:x.nbytes].view(x.dtype).reshape(x.shape)
        out[...] = x
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return grad


def is_pinned(self: Tensor, device: Any = None) -> bool:
    """Whether the tensor's memory came from ``pin_memory`` (page-locked where an accelerator exists)."""
    if not self.is_cpu:
        return False
    root = _root(self._data)
    return _pinned.get(id(root)) is root


def pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """A copy of the tensor in pinned host memory (the tensor itself when already pinned)."""
    if not self.is_cpu:
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if is_pinned(self):
        return self
    return PinMemory.apply(self)


# -- the legacy constructor -------------------------------------------------------------------------------
def new(self: Tensor, *args: Any, device: Any = None) -> Tensor:
    """``x.new(2, 3)`` / ``x.new(torch.Size(...))``: uninitialised of that size; ``x.new([1, 2])``: a tensor of
    that data; ``x.new(t)``: ``t`` itself (same dtype required); all in ``x``'s dtype and device."""
    dev = device if device is not None else self.device
    if not args:
        return empty(0, dtype=self.dtype, device=dev)
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        if first.dtype != self.dtype:
            raise TypeError(f"expected {self.dtype} (got {first.dtype})")
        return first.detach()
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and isinstance(first, Size)):
        return empty(*args, dtype=self.dtype, device=dev)
    if len(args) == 1:
        return tensor(first, dtype=self.dtype, device=dev)
    raise TypeError(f"new() received an invalid combination of arguments - got {tuple(type(a).__name__ for a in args)}")


methods({"storage": storage, "untyped_storage": untyped_storage, "pin_memory": pin_memory, "is_pinned": is_pinned,
         "new": new})
