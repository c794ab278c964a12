"""The interface every array backend implements. Backends speak raw arrays, never Tensors."""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np


class KernelTable(dict):
    """A backend's kernels by name. A backend registers only the kernels it does better than the generic
    ones; any other name is filled in on first use from the kernels written once for every numpy-compatible
    array module (``kernels_xp``), and the special functions (``"erf"``...) computed on the host through
    the numpy implementations. A name nobody provides raises NotImplementedError naming it."""

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self._backend = backend
        self._absent: set[str] = set()  # names ``get`` found nobody provides (asked again on every op call)

    def __missing__(self, name: str) -> Any:
        from . import kernels_xp, special_numpy

        backend = self._backend
        generic = kernels_xp.kernel_table(backend.xp)
        for key, host_fn in special_numpy.kernel_table().items():
            generic[key] = _through_host(backend, host_fn)
        for key, kernel in generic.items():
            self.setdefault(key, kernel)
        if name not in self:
            raise NotImplementedError(f"the {backend.name!r} backend ({backend.device_type}) has no kernel {name!r}")
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._absent and name not in self:  # (a kernel registered since then is found)
            return default
        try:
            return self[name]
        except NotImplementedError:
            self._absent.add(name)
            return default


def _through_host(backend: Backend, host_fn: Any) -> Any:
    def kernel(*args: Any) -> Any:
        arrays = [a for a in args if isinstance(a, backend.array_types)]
        index = backend.device_index(arrays[0]) if arrays else None
        host = [backend.to_numpy(a) if isinstance(a, backend.array_types) else a for a in args]
        return backend.asarray(host_fn(*host), device_index=index)

    kernel.__name__ = getattr(host_fn, "__name__", "kernel")
    return kernel


class Backend:
    """One array library serving one device type.

    Subclasses set ``name``, ``device_type``, ``xp`` (the array module, numpy-compatible) and
    ``array_types`` (the concrete array classes this backend owns), and may put into ``kernels`` the
    operations they do better than the generic kernels (see ``KernelTable``).
    """

    name: str = ""
    device_type: str = ""
    array_types: tuple[type, ...] = ()
    has_data: bool = True  # False for a backend whose arrays have no values to copy to another device (meta)

    def __init__(self) -> None:
        self.kernels: KernelTable = KernelTable(self)

    # -- array module -------------------------------------------------------------------------
    @property
    def xp(self) -> Any:
        raise NotImplementedError

    def is_available(self) -> bool:
        return True

    # -- conversion ---------------------------------------------------------------------------
    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        raise NotImplementedError

    def to_numpy(self, arr: Any) -> Any:
        raise NotImplementedError

    def from_dlpack(self, obj: Any) -> Any:
        return self.xp.from_dlpack(obj)

    # -- devices ------------------------------------------------------------------------------
    def device_count(self) -> int:
        return 1

    def current_device(self) -> int:
        return 0

    def set_device(self, index: int) -> None:
        if index != 0:
            raise RuntimeError(f"{self.device_type} has a single device, got index {index}")

    def physical_id(self, index: int) -> str:
        """What tells device ``index`` apart from other processes' devices on this machine (for cuda its PCI
        bus id: two processes with different CUDA_VISIBLE_DEVICES can both call theirs device 0)."""
        return f"{self.device_type}:{index}"

    def device_index(self, arr: Any) -> int | None:
        """Index of the device holding ``arr`` (None for device types without indices, like cpu)."""
        return None

    def element_strides(self, arr: Any) -> tuple[int, ...]:
        """The strides of ``arr`` in elements, as ``Tensor.stride()`` reports them."""
        item = arr.dtype.itemsize
        return tuple(s // item for s in arr.strides)

    def synchronize(self, index: int | None = None) -> None:
        return None

    def device_guard(self, index: int | None) -> Any:
        """A context in which new arrays land on device ``index`` (and kernels run there)."""
        return contextlib.nullcontext()

    def device_name(self, index: int) -> str:
        return self.device_type

    # -- memory -------------------------------------------------------------------------------
    def memory_allocated(self, index: int | None = None) -> int:
        """Bytes held by arrays of this backend (0 where the backend does not track it)."""
        return 0

    def empty_cache(self) -> None:
        """Give cached, unused memory back to the device."""

    def synchronize_stream(self) -> None:
        """Wait for the work queued on the current stream (nothing to wait for without streams)."""
        return None

    # -- host staging (communicators that move device arrays through host memory) -------------------
    def pinned_buffer(self, nbytes: int) -> Any:
        """A flat uint8 numpy array of ``nbytes`` that copies to and from the device are fastest with
        (page-locked memory where the device has it)."""
        return np.empty(nbytes, np.uint8)

    def copy_to_host(self, arr: Any, out: Any) -> None:
        """Copy ``arr`` into the numpy array ``out`` (same shape and dtype)."""
        np.copyto(out, self.to_numpy(arr))

    def copy_from_host(self, out: Any, host: Any) -> None:
        """Copy the numpy array ``host`` into ``out`` (same shape and dtype); ``host`` may be reused after."""
        out[...] = self.asarray(host, device_index=self.device_index(out))

    # -- randomness ---------------------------------------------------------------------------
    def generator(self, seed: int) -> Any:
        """A fresh random generator with the numpy ``Generator`` interface, seeded with ``seed``."""
        raise NotImplementedError

    def generator_state(self, rng: Any) -> Any:
        """The state of a generator made by :meth:`generator`, as JSON-able values (numpy's state dict here)."""
        return rng.bit_generator.state

    def set_generator_state(self, rng: Any, state: Any) -> None:
        """Put back a state :meth:`generator_state` returned."""
        rng.bit_generator.state = state

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} for {self.device_type!r}>"
