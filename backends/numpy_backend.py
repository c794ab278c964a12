"""The cpu backend: numpy arrays."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import special_numpy
from .base import Backend
from .float8 import cast, involves_float8


class NumpyBackend(Backend):
    name = "numpy"
    device_type = "cpu"
    array_types = (np.ndarray,)

    def __init__(self) -> None:
        super().__init__()
        self.kernels.update(special_numpy.kernel_table())  # on numpy, no host round trip

    @property
    def xp(self) -> Any:
        return np

    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        if device_index not in (None, 0, -1):
            raise RuntimeError(f"cpu has no device index {device_index}")
        if hasattr(obj, "__cuda_array_interface__") and hasattr(obj, "get"):
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
