"""A toy third-party backend for device type ``toy``: its arrays are ``ToyArray``, a numpy subclass.

It stands in for a real plug-in package (a new accelerator library): it is found through the
``disttorch.backends`` entry-point group, owns its own array class, and hands disttorch an array
module whose functions return that class.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np
from disttorch.backends import Backend


class ToyArray(np.ndarray):
    """A numpy array that stays a ToyArray through ufuncs and reductions (0-dim results included)."""

    def __array_wrap__(self, obj: Any, context: Any = None, return_scalar: bool = False) -> Any:
        out = np.asarray(obj).view(ToyArray)
        return out


def to_toy(obj: Any) -> Any:
    if isinstance(obj, ToyArray):
        return obj
    if isinstance(obj, (np.ndarray, np.generic)):
        return np.asarray(obj).view(ToyArray)
    if isinstance(obj, tuple):
        return tuple(to_toy(o) for o in obj)
    if isinstance(obj, list):
        return [to_toy(o) for o in obj]
    return obj


class ToyModule:
    """numpy, except that array-returning functions return ToyArrays (like a device library's module)."""

    def __init__(self, module: Any = np) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return ToyModule(attr)
        if isinstance(attr, (type, np.ufunc)) or not callable(attr):
            return attr  # dtypes, constants; ufuncs already keep the subclass of their inputs

        def call(*args: Any, **kwargs: Any) -> Any:
            return to_toy(attr(*args, **kwargs))

        return call


class ToyBackend(Backend):
    name = "toy"
    device_type = "toy"
    array_types = (ToyArray,)

    def __init__(self) -> None:
        super().__init__()
        self._xp = ToyModule()  # no kernels of its own: the generic ones serve (backends/base.py KernelTable)

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        if device_index not in (None, 0):
            raise RuntimeError(f"toy has a single device, got index {device_index}")
        if hasattr(obj, "__cuda_array_interface__") and hasattr(obj, "get"):
            obj = obj.get()
        arr = np.array(obj, dtype=dtype, copy=True) if copy else np.asarray(obj, dtype=dtype)
        return arr.view(ToyArray)

    def to_numpy(self, arr: Any) -> np.ndarray:
        return np.asarray(arr).view(np.ndarray)

    def generator(self, seed: int) -> Any:
        return np.random.Generator(np.random.PCG64(seed))
