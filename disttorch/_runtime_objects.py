"""Small torch-level objects programs reach for: the device error types, ``get_device_module``,
``frombuffer`` and ``to_dlpack``."""
from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np

from . import _dtype as D
from ._tensor import Tensor
from .utils.dlpack import to_dlpack

__all__ = ["OutOfMemoryError", "AcceleratorError", "get_device_module", "frombuffer", "to_dlpack"]


class OutOfMemoryError(RuntimeError):
    """A device (or host) allocation failed."""


class AcceleratorError(RuntimeError):
    """An error reported by the accelerator's runtime."""


OutOfMemoryError.__module__ = AcceleratorError.__module__ = "disttorch"

_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def get_device_module(device: Any = None) -> ModuleType:
    """The module of a device type (``torch.cuda`` for ``"cuda"`` or ``cuda:1``); with no device, the current
    accelerator's module, else ``torch.cpu``."""
    import disttorch

    if device is None:
        return disttorch.cuda if disttorch.cuda.is_available() else disttorch.cpu
    kind = device.type if hasattr(device, "type") else str(device).split(":")[0]
    if kind in ("cpu", "cuda"):
        return getattr(disttorch, kind)
    if kind in _DEVICE_TYPES:
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'torch.{kind}'.")
    raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: {device}")


_readonly_warned = [False]


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-d tensor over the memory of a Python buffer (``bytearray``, ``array``, ``mmap``, ...), no copy."""
    dt = D.to_dtype(dtype)
    view = memoryview(buffer).cast("B")
    size = dt.np.itemsize
    length = view.nbytes
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({length} "
                         f"bytes) minus 1")
    if count < 0:
        if (length - offset) % size:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({size})")
        count = (length - offset) // size
    elif offset + count * size > length:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset ({offset} bytes) must not be "
                         f"greater than actual buffer length ({length} bytes)")
    if view.readonly and not _readonly_warned[0]:
        _readonly_warned[0] = True
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. This "
                      "means you can write to the underlying (supposedly non-writable) buffer using the tensor. You "
                      "may want to copy the buffer to protect its data or make it writable before converting it to a "
                      "tensor. This type of warning will be suppressed for the rest of this program.", UserWarning,
                      stacklevel=2)
    arr = np.frombuffer(view, dtype=dt.np, count=count, offset=offset)
    out = Tensor._from_array(arr)
    return out.requires_grad_(True) if requires_grad else out
