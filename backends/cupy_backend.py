"""The cuda backend: cupy arrays. cupy is imported only when a cuda device is asked for."""
from __future__ import annotations

import base64
import sys
import time
import weakref
from typing import Any

import numpy as np

from . import pinned_stats, sync_debug
from .base import Backend
from .float8 import is_float8, refuse_on_device

_INSTALL_HINT = (
    "disttorch needs cupy for cuda tensors: install it with `pip install disttorch[cuda]` "
    "(or the cupy-cudaXXx wheel matching your CUDA toolkit)"
)


_missing: list[ImportError] = []  # cupy's ImportError, kept: a failed import costs ~30 us on every retry


def _import_cupy() -> Any:
    if _missing:
        raise RuntimeError(f"cuda was requested but cupy is not installed. {_INSTALL_HINT}") from _missing[0]
    try:
        import cupy
    except ImportError as exc:
        if "cupy" not in sys.modules:  # not installed (a None there is a test hiding it for a while)
            _missing.append(exc)
        raise RuntimeError(f"cuda was requested but cupy is not installed. {_INSTALL_HINT}") from exc
    return cupy


# kernel name -> cupyx.scipy.special function (the same arguments: x, or (x, q) for zeta, (n, x) for polygamma)
_SPECIAL = {"erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "erfcx": "erfcx", "ndtr": "ndtr",
            "log_ndtr": "log_ndtr", "ndtri": "ndtri", "lgamma": "gammaln", "digamma": "digamma", "zeta": "zeta",
            "polygamma": "polygamma", "igamma": "gammainc", "igammac": "gammaincc", "i0": "i0", "i0e": "i0e",
            "i1": "i1", "i1e": "i1e", "j0": "j0", "j1": "j1", "y0": "y0", "y1": "y1", "k0": "k0", "k0e": "k0e",
            "k1": "k1", "k1e": "k1e"}
# kernels cupyx.scipy.special lacks: the numpy kernel on a host copy (a device-to-host round trip per call)
_HOST_SPECIAL = ("airy_ai",)


def _special_kernels() -> dict[str, Any]:
    """The special functions from cupyx.scipy.special (imported on first use: it compiles kernels)."""

    def kernel(name: str, fn_name: str) -> Any:
        def run(*args: Any) -> Any:
            import cupyx.scipy.special as special

            out = getattr(special, fn_name)(*args)
            # cupy's special ufuncs have float32/float64 loops only: a float16 input comes back float32
            floats = [a.dtype for a in args if getattr(a, "dtype", None) is not None and a.dtype.kind == "f"]
            want = floats[0] if len(floats) == 1 else (max(floats, key=lambda d: d.itemsize) if floats else None)
            return out.astype(want) if want is not None and out.dtype != want else out

        run.__name__ = name
        return run

    def on_host(name: str) -> Any:
        from . import special_airy_k_numpy

        host_fn = special_airy_k_numpy.kernel_table()[name]

        def run(x: Any) -> Any:
            import cupy

            return cupy.asarray(host_fn(cupy.asnumpy(x)))

        run.__name__ = name
        return run

    table = {name: kernel(name, fn_name) for name, fn_name in _SPECIAL.items()}
    table.update({name: on_host(name) for name in _HOST_SPECIAL})
    return table


class CupyBackend(Backend):
    name = "cupy"
    device_type = "cuda"

    def __init__(self) -> None:
        super().__init__()
        self._cupy: Any = None

    def _load(self) -> Any:
        if self._cupy is None:
            cupy = _import_cupy()
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as exc:  # driver missing, no device visible...
                raise RuntimeError(f"cuda was requested but no CUDA device is usable: {exc}") from exc
            if count == 0:
                raise RuntimeError("cuda was requested but no CUDA device is visible")
            self._cupy = cupy
            self.array_types = (cupy.ndarray,)
            self.kernels.update(_special_kernels())
        return self._cupy

    @property
    def xp(self) -> Any:
        return self._load()

    def is_available(self) -> bool:
        try:
            self._load()
        except RuntimeError:
            return False
        return True

    def installed(self) -> bool:
        """Whether cupy can be imported at all (a device may still be missing)."""
        try:
            _import_cupy()
        except RuntimeError:
            return False
        return True

    def cuda_module(self, name: str) -> Any:
        """``cupy.cuda.<name>`` (``nvtx``, ``profiler``), or None when cupy or that module is missing."""
        import importlib

        try:
            return importlib.import_module(f"cupy.cuda.{name}")
        except ImportError:
            return None

    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        cupy = self._load()
        for dt in (dtype, getattr(obj, "dtype", None)):
            if dt is not None and is_float8(np.dtype(dt)):
                refuse_on_device(dt)
        index = self.current_device() if device_index is None else device_index
        with cupy.cuda.Device(index):
            if copy:
                return cupy.array(obj, dtype=dtype, copy=True)
            if isinstance(obj, cupy.ndarray) and obj.device.id != index:
                return cupy.array(obj, dtype=dtype, copy=True)
            return cupy.asarray(obj, dtype=dtype)

    def to_numpy(self, arr: Any) -> Any:
        sync_debug.host_sync()
        return arr.get()

    def device_count(self) -> int:
        try:
            cupy = _import_cupy()
            return int(cupy.cuda.runtime.getDeviceCount())
        except Exception:
            return 0

    def current_device(self) -> int:
        return int(self._load().cuda.runtime.getDevice())

    def set_device(self, index: int) -> None:
        cupy = self._load()
        if not 0 <= index < self.device_count():
            raise RuntimeError(f"invalid cuda device index {index}: {self.device_count()} device(s) visible")
        cupy.cuda.runtime.setDevice(index)

    def physical_id(self, index: int) -> str:
        try:
            return str(self._load().cuda.Device(index).pci_bus_id)
        except Exception:  # a driver without the attribute: the index is the best there is
            return f"cuda:{index}"

    def device_index(self, arr: Any) -> int | None:
        return int(arr.device.id)

    def synchronize(self, index: int | None = None) -> None:
        cupy = self._load()
        if index is None:
            cupy.cuda.runtime.deviceSynchronize()
        else:
            with cupy.cuda.Device(index):
                cupy.cuda.runtime.deviceSynchronize()

    def device_guard(self, index: int | None) -> Any:
        if index is None:
            return super().device_guard(index)
        return self._load().cuda.Device(index)

    def device_name(self, index: int) -> str:
        name = self._load().cuda.runtime.getDeviceProperties(index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def memory_allocated(self, index: int | None = None) -> int:
        return int(self._load().get_default_memory_pool().used_bytes())

    def empty_cache(self) -> None:
        self._load().get_default_memory_pool().free_all_blocks()

    def synchronize_stream(self) -> None:
        self._load().cuda.get_current_stream().synchronize()

    def pinned_buffer(self, nbytes: int) -> Any:
        started = time.perf_counter()
        buf = np.frombuffer(self._load().cuda.alloc_pinned_memory(nbytes), np.uint8, nbytes)
        pinned_stats.allocated(nbytes, started)
        weakref.finalize(buf, pinned_stats.freed, nbytes)  # views keep ``buf`` (their base) alive
        return buf

    def copy_to_host(self, arr: Any, out: Any) -> None:
        cupy = self._load()
        if arr.flags.c_contiguous:
            cupy.asnumpy(arr, out=out)
        else:
            np.copyto(out, cupy.asnumpy(arr))

    def copy_from_host(self, out: Any, host: Any) -> None:
        cupy = self._load()
        with cupy.cuda.Device(self.device_index(out)):
            out[...] = cupy.asarray(host)
            cupy.cuda.get_current_stream().synchronize()  # a pinned ``host`` is read asynchronously

    def generator(self, seed: int) -> Any:
        """A cupy Generator on the current device (cupy ties a bit generator to the device current when it is made)."""
        return self._load().random.Generator(self._cupy.random.XORWOW(seed))

    # cupy's ``BitGenerator.state()`` is a method giving the address of the curand states on the device (the
    # ``_state`` array of cupy/random/_bit_generator.pyx), not numpy's state dict: the state is that array's bytes.
    def generator_state(self, rng: Any) -> Any:
        raw = rng.bit_generator._state.get()
        return {"cupy_curand_state": base64.b64encode(raw.tobytes()).decode("ascii"), "dtype": str(raw.dtype)}

    def set_generator_state(self, rng: Any, state: Any) -> None:
        if not isinstance(state, dict) or "cupy_curand_state" not in state:
            raise RuntimeError("this generator state was not saved from a cuda generator")
        target = rng.bit_generator._state
        raw = np.frombuffer(base64.b64decode(state["cupy_curand_state"]), dtype=state["dtype"])
        if raw.size != target.size:
            raise RuntimeError(f"the saved cuda generator state has {raw.size} elements, this device's has "
                               f"{target.size} (saved on a GPU of another kind?)")
        target.set(raw.reshape(target.shape))
