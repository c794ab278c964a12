"""torch.storage: ``UntypedStorage`` (bytes) and ``TypedStorage`` (elements of one dtype), the flat memory a
tensor views. ``tensor.untyped_storage()`` / ``tensor.storage()`` share that memory: writes through a storage
show in the tensor. Storages made directly (``torch.UntypedStorage(8)``) own new zeroed memory."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D
from ._device import device as _device
from ._device import to_device

__all__ = ["UntypedStorage", "TypedStorage"]


def _host(arr: Any) -> Any:
    return arr.get() if hasattr(arr, "get") and not isinstance(arr, (np.ndarray, np.generic)) else arr


class _Storage:
    _flat: Any
    device: _device

    def _items(self) -> Any:
        raise NotImplementedError

    def data_ptr(self) -> int:
        from .backends import data_ptr

        return data_ptr(self._flat)

    def nbytes(self) -> int:
        return int(self._flat.nbytes)

    def __len__(self) -> int:
        return self.size()

    def tolist(self) -> list:
        return _host(self._items()).tolist()

    def __iter__(self) -> Any:
        return iter(self.tolist())

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return type(self)._wrap(self._items()[i], self.device, *self._extra())
        return _host(self._items()[i]).tolist()

    def __setitem__(self, i: Any, value: Any) -> None:
        self._items()[i] = value

    def fill_(self, value: Any) -> _Storage:
        self._items()[...] = value
        return self

    def copy_(self, source: _Storage, non_blocking: bool | None = None) -> _Storage:
        if source.nbytes() != self.nbytes():
            raise RuntimeError(f"size does not match, self was {self.nbytes()} bytes but src was "
                               f"{source.nbytes()} bytes")
        src = source._flat.view(np.uint8) if source._flat.dtype != np.uint8 else source._flat
        dst = self._flat.view(np.uint8)
        from .backends import backend_for_array

        dst[...] = backend_for_array(dst).xp.asarray(src)
        return self

    def clone(self) -> _Storage:
        return type(self)._wrap(self._flat.copy(), self.device, *self._extra())

    def cpu(self) -> _Storage:
        if self.device.type == "cpu":
            return self
        return type(self)._wrap(_host(self._flat), _device("cpu"), *self._extra())

    def get_device(self) -> int:
        return -1 if self.device.type == "cpu" else (self.device.index or 0)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_sparse(self) -> bool:
        return False

    def is_shared(self) -> bool:
        return False

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def _extra(self) -> tuple:
        return ()


class UntypedStorage(_Storage):
    """Bytes on a device. ``UntypedStorage(n)``: n zero bytes; ``UntypedStorage([1, 2])``: those bytes."""

    def __init__(self, *args: Any, device: Any = None) -> None:
        dev = to_device(device) if device is not None else _device("cpu")
        if len(args) > 1:
            raise TypeError(f"UntypedStorage(): expected at most 1 positional argument, got {len(args)}")
        arg = args[0] if args else 0
        host = (np.zeros(int(arg), np.uint8) if isinstance(arg, (int, np.integer))
                else np.asarray(list(arg), dtype=np.uint8))
        self._flat = host if dev.type == "cpu" else _to_cuda(host, dev)
        self.device = dev

    @classmethod
    def _wrap(cls, flat: Any, device: _device) -> UntypedStorage:
        out = cls.__new__(cls)
        out._flat, out.device = flat, device
        return out

    @property
    def dtype(self) -> D.dtype:
        return D.uint8

    def _items(self) -> Any:
        return self._flat.view(np.uint8)

    def size(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def untyped(self) -> UntypedStorage:
        return self

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[torch.storage.UntypedStorage(device={self.device}) of size {self.size()}]"


class TypedStorage(_Storage):
    """Elements of one dtype: ``TypedStorage(n, dtype=...)`` or ``TypedStorage([...], dtype=...)``."""

    is_sparse = False

    def __init__(self, *args: Any, device: Any = None, dtype: Any = None, wrap_storage: Any = None,
                 _internal: bool = False) -> None:
        dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
        dev = to_device(device) if device is not None else _device("cpu")
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage.__init__ received parameters conflicting with wrap_storage")
            self._flat, self.device = wrap_storage._flat.view(dt.np), wrap_storage.device
        else:
            arg = args[0] if args else 0
            host = (np.zeros(int(arg), dt.np) if isinstance(arg, (int, np.integer))
                    else np.asarray(list(arg), dtype=dt.np))
            self._flat, self.device = (host if dev.type == "cpu" else _to_cuda(host, dev)), dev
        self.dtype = dt

    @classmethod
    def _wrap(cls, flat: Any, device: _device, dtype: D.dtype | None = None) -> TypedStorage:
        out = cls.__new__(cls)
        out._flat, out.device = flat, device
        out.dtype = dtype if dtype is not None else D.to_dtype(flat.dtype)
        return out

    def _extra(self) -> tuple:
        return (self.dtype,)

    def _items(self) -> Any:
        return self._flat

    def size(self) -> int:
        return int(self._flat.size)

    def element_size(self) -> int:
        return int(self._flat.dtype.itemsize)

    def untyped(self) -> UntypedStorage:
        return UntypedStorage._wrap(self._flat, self.device)

    def _untyped_storage(self) -> UntypedStorage:
        return self.untyped()

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return (f"{body}\n[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) "
                f"of size {self.size()}]")


def _to_cuda(host: np.ndarray, dev: _device) -> Any:
    from .backends import get_backend

    backend = get_backend("cuda")
    with backend.device_guard(dev.index):
        return backend.xp.asarray(host)


