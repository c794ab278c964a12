"""Two things in one package, as ``torch.backends`` users expect:

- disttorch's array backends: numpy for ``cpu``, cupy for ``cuda``, shapes without values for ``meta``,
  plug-ins through entry points (``Backend``, ``register_backend``, ``get_backend``, ``array_module``...);
- PyTorch's flag modules, one small module each: ``cuda`` (``cuda.matmul.allow_tf32``...), ``cudnn``
  (``benchmark``, ``deterministic``...), ``mps``, ``mkldnn``, ``openmp``, ``opt_einsum``, ``cpu``, ``mha``.
"""
from .base import Backend
from .cupy_backend import CupyBackend
from .meta_backend import MetaArray, MetaBackend
from .numpy_backend import NumpyBackend
from .registry import (
    ENTRY_POINT_GROUP,
    array_module,
    backend_for_array,
    data_ptr,
    device_types,
    get_backend,
    register_backend,
    reload_entry_points,
    unregister_backend,
    writable,
)

from . import cpu, cuda, cudnn, mha, mkldnn, mps, openmp, opt_einsum

numpy_backend = register_backend(NumpyBackend())
cupy_backend = register_backend(CupyBackend())
meta_backend = register_backend(MetaBackend())

__all__ = [
    "Backend",
    "NumpyBackend",
    "CupyBackend",
    "MetaBackend",
    "MetaArray",
    "ENTRY_POINT_GROUP",
    "array_module",
    "backend_for_array",
    "data_ptr",
    "writable",
    "device_types",
    "get_backend",
    "register_backend",
    "reload_entry_points",
    "unregister_backend",
    "cpu",
    "cuda",
    "cudnn",
    "mha",
    "mkldnn",
    "mps",
    "openmp",
    "opt_einsum",
]
