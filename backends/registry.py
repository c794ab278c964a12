"""Backend registry: device type -> backend, array class -> backend, plus entry-point plug-ins.

Third-party packages register a backend under the entry-point group ``disttorch.backends``;
the entry point names a Backend subclass, an instance, or a zero-argument factory.
"""
from __future__ import annotations

import contextlib
import warnings
from importlib import metadata
from typing import Any

import numpy as np

from .base import Backend

ENTRY_POINT_GROUP = "disttorch.backends"

_by_device_type: dict[str, Backend] = {}
_by_array_type: dict[type, Backend] = {}
_entry_points_loaded = False


def register_backend(backend: Backend) -> Backend:
    """Make ``backend`` serve its device type (replacing any earlier one) and own its array types."""
    if not backend.device_type:
        raise ValueError(f"backend {backend!r} has no device_type")
    _by_device_type[backend.device_type] = backend
    for cls in backend.array_types:
        _by_array_type[cls] = backend
    return backend


def unregister_backend(device_type: str) -> Backend:
    """Remove the backend serving ``device_type`` (and its array types); returns it."""
    backend = _by_device_type.pop(device_type, None)
    if backend is None:
        raise RuntimeError(f"no backend for device type {device_type!r} to unregister")
    for cls, owner in list(_by_array_type.items()):
        if owner is backend:
            del _by_array_type[cls]
    return backend


def _load_entry_points() -> None:
    global _entry_points_loaded
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, type) or (not isinstance(obj, Backend) and callable(obj)):
                obj = obj()
            if not isinstance(obj, Backend):
                raise TypeError(f"it gave {obj!r}, not a Backend")
            if not obj.device_type:
                raise ValueError(f"backend {obj!r} has no device_type")
        except Exception as exc:  # a broken plug-in must not break disttorch for everything else
            warnings.warn(f"disttorch: skipping backend plug-in {ep.name!r} ({ep.value}) of entry-point group "
                          f"{ENTRY_POINT_GROUP!r}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        if obj.device_type not in _by_device_type:
            register_backend(obj)


def reload_entry_points() -> None:
    """Scan the ``disttorch.backends`` entry points again (for packages installed after import)."""
    _load_entry_points()


def get_backend(device_type: str) -> Backend:
    """The backend serving ``device_type`` (``"cpu"``, ``"cuda"`` or a plug-in's type)."""
    backend = _by_device_type.get(device_type)
    if backend is None and not _entry_points_loaded:
        _load_entry_points()
        backend = _by_device_type.get(device_type)
    if backend is None:
        known = ", ".join(sorted(_by_device_type))
        raise RuntimeError(f"no backend for device type {device_type!r} (known: {known})")
    return backend


def backend_for_array(arr: Any) -> Backend:
    """The backend owning an array, found by its class (then by its base classes)."""
    backend = _by_array_type.get(type(arr))
    if backend is not None:
        return backend
    for cls in type(arr).__mro__[1:]:
        backend = _by_array_type.get(cls)
        if backend is not None:
            _by_array_type[type(arr)] = backend
            return backend
    # cupy registers its array type only once loaded
    if type(arr).__module__.startswith("cupy"):
        get_backend("cuda").xp  # noqa: B018  (loads cupy and registers its array type)
        register_backend(get_backend("cuda"))
        return _by_array_type[type(arr)]
    raise TypeError(f"no disttorch backend owns arrays of type {type(arr).__module__}.{type(arr).__name__}")


def off_device_guard(arr: Any) -> Any:
    """None when ``arr`` is a host array or lives on its backend's current device; else a context that makes its
    device current (so kernels and new arrays land there, as PyTorch runs an op on its inputs' device)."""
    if type(arr) is np.ndarray:
        return None
    backend = backend_for_array(arr)
    index = backend.device_index(arr)
    if index is None or index == backend.current_device():
        return None
    return backend.device_guard(index)


def device_of(arr: Any) -> Any:
    """``off_device_guard(arr)``, or a context that does nothing when ``arr``'s device is already current."""
    guard = off_device_guard(arr)
    return contextlib.nullcontext() if guard is None else guard


def array_module(arr: Any) -> Any:
    """The array module (``xp``: numpy, cupy, a plug-in's) of ``arr``: the one place that answers it."""
    if type(arr) is np.ndarray:  # the common case, without a registry lookup
        return np
    return backend_for_array(arr).xp


def data_ptr(arr: Any) -> int:
    """Address of the first element of ``arr``, from its array interface (host, or CUDA for device arrays)."""
    if type(arr) is np.ndarray:
        return arr.__array_interface__["data"][0]
    iface = getattr(arr, "__cuda_array_interface__", None) or arr.__array_interface__
    return int(iface["data"][0])


def writable(arr: Any) -> Any:
    """``arr`` itself, or for a read-only numpy view whose memory is writable (``broadcast_to``'s result: an
    expanded tensor) a writable array with the same memory, shape and strides. Device arrays have no such flag."""
    if type(arr) is not np.ndarray or arr.flags.writeable:
        return arr
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable:
        return arr
    offset = data_ptr(arr) - data_ptr(root)
    return np.ndarray(arr.shape, arr.dtype, buffer=root, offset=offset, strides=arr.strides)


def device_types() -> list[str]:
    if not _entry_points_loaded:
        _load_entry_points()
    return sorted(_by_device_type)
