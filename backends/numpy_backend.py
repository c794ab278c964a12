"""The cpu backend: numpy arrays."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from typing import Any, Iterator

import numpy as np

from . import special_numpy, sync_debug
from .base import Backend
from .float8 import cast, involves_float8


class NumpyBackend(Backend):
    name = "numpy"
    device_type = "cpu"
    array_types = (np.ndarray,)

    def __init__(self) -> None:
        super().__init__()
        self.kernels.update(special_numpy.kernel_table())  # on numpy, no host round trip
        self.kernels.update(_compiled_kernels(self.kernels))

    @property
    def xp(self) -> Any:
        return np

    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        if device_index not in (None, 0, -1):
            raise RuntimeError(f"cpu has no device index {device_index}")
        if hasattr(obj, "__cuda_array_interface__") and hasattr(obj, "get"):
            sync_debug.host_sync()
            obj = obj.get()  # a cupy array coming to the host
        if dtype is not None and involves_float8(getattr(obj, "dtype", np.dtype(np.float64)), dtype):
            arr = np.asarray(obj)
            return arr if arr.dtype == dtype and not copy else cast(arr, dtype)  # PyTorch's float8 rounding
        if copy:
            return np.array(obj, dtype=dtype, copy=True)
        return np.asarray(obj, dtype=dtype)

    def to_numpy(self, arr: Any) -> Any:
        return arr

    def generator(self, seed: int) -> Any:
        return np.random.Generator(np.random.PCG64(seed))


# The compiled kernels of backends/numba_kernels.py (the ``fast`` extra). Callers look each one up with
# ``kernels.get(name)`` and run their numpy code when it is None or returns None (inputs it does not take).
COMPILED_KERNELS = ("sgd_momentum", "adam", "relu_backward", "max_pool2d_2x2", "max_pool2d_backward", "col2im2d",
                    "layer_norm_backward", "lstm_backward_step", "softmax_shift", "softmax_normalize",
                    "softmax_backward")


@contextlib.contextmanager
def compiled_kernels_as(backend: NumpyBackend, found: dict) -> Iterator[None]:
    """Within the block, ``backend``'s compiled-kernel entries are those of ``found`` (None where it has none:
    ``{}`` runs the numpy code everywhere); restored after. For tests and benchmarks that compare the two paths."""
    saved = {n: backend.kernels[n] for n in COMPILED_KERNELS}
    backend.kernels.update({n: found.get(n) for n in COMPILED_KERNELS})
    try:
        yield
    finally:
        backend.kernels.update(saved)


def numba_enabled() -> bool:
    """Whether the compiled kernels are wanted and numba is installed: ``DISTTORCH_NUMBA=0`` forces numpy."""
    return os.environ.get("DISTTORCH_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None


def _compiled_kernels(table: dict) -> dict:
    """None under each name without numba; else stand-ins that import numba (slow: not at ``import disttorch``)
    on the first call and put the compiled kernels in their place."""
    if not numba_enabled():
        return dict.fromkeys(COMPILED_KERNELS)

    def load(name: str) -> Any:
        def first_call(*args: Any) -> Any:
            try:
                from . import numba_kernels
                found = numba_kernels.KERNELS
            except Exception as e:  # a numba that does not work with this numpy: the numpy kernels, said once
                warnings.warn(f"disttorch: numba kernels unavailable ({type(e).__name__}: {e}); using numpy",
                              RuntimeWarning, stacklevel=2)
                found = {}
            table.update({n: found.get(n) for n in COMPILED_KERNELS})
            kernel = table[name]
            return kernel(*args) if kernel is not None else None
        return first_call

    return {name: load(name) for name in COMPILED_KERNELS}
