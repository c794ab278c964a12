"""Array backends: numpy for ``cpu``, cupy for ``cuda``, plug-ins through entry points."""
from .base import Backend
from .cupy_backend import CupyBackend
from .numpy_backend import NumpyBackend
from .registry import (
    ENTRY_POINT_GROUP,
    array_module,
    backend_for_array,
    device_types,
    get_backend,
    register_backend,
    reload_entry_points,
    unregister_backend,
)

numpy_backend = register_backend(NumpyBackend())
cupy_backend = register_backend(CupyBackend())

__all__ = [
    "Backend",
    "NumpyBackend",
    "CupyBackend",
    "ENTRY_POINT_GROUP",
    "array_module",
    "backend_for_array",
    "device_types",
    "get_backend",
    "register_backend",
    "reload_entry_points",
    "unregister_backend",
]
