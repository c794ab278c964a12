"""Small torch-level functions and Tensor methods: ``hash_tensor``, ``from_file``, ``thread_safe_generator``,
``Tensor.record_stream`` and ``Tensor.module_load``."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from ._register import methods
from ._util import wrap_dims

__all__ = ["hash_tensor", "from_file", "thread_safe_generator"]


def hash_tensor(input: Tensor, dim: Any = (), *, keepdim: bool = False, mode: int = 0) -> Tensor:
    """The xor of the elements' 64-bit patterns (floats as float64, integers and bools as int64), over ``dim``
    (all dims by default); a uint64 tensor."""
    if mode != 0:
        raise RuntimeError(f"hash_tensor only supports mode=0 (xor_reduction), but got mode={mode}")
    x = input._data
    xp = array_module(x)
    if x.dtype.kind == "c":
        raise RuntimeError("hash_tensor does not support complex input")
    wide = x.astype(np.float64 if x.dtype.kind == "f" or x.dtype == D.bfloat16.np else np.int64, copy=False)
    bits = xp.ascontiguousarray(wide).view(np.uint64)
    dims = tuple(range(x.ndim)) if dim is None or dim == () or dim == [] else tuple(
        wrap_dims(dim if isinstance(dim, (tuple, list)) else (dim,), x.ndim))
    out = bits
    for d in sorted(dims, reverse=True):
        out = xp.bitwise_xor.reduce(out, axis=d, keepdims=keepdim) if out.shape[d] else (
            xp.zeros(out.shape[:d] + ((1,) if keepdim else ()) + out.shape[d + 1:], np.uint64))
    return Tensor._from_array(xp.asarray(out, dtype=np.uint64))


def from_file(filename: str, shared: bool | None = None, size: int = 0, *, dtype: Any = None, layout: Any = None,
              device: Any = None, pin_memory: bool = False) -> Tensor:
    """A 1-d CPU tensor of ``size`` elements read from ``filename``: with ``shared``, a writable memory map
    (changes reach the file); otherwise a private copy-on-write map (the file is never changed)."""
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    nbytes = size * dt.np.itemsize
    if shared and not os.path.exists(filename):
        with open(filename, "wb") as f:  # PyTorch creates the file when sharing
            f.truncate(nbytes)
    have = os.path.getsize(filename)
    if have < nbytes:
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{filename}>: file too short (it has "
                           f"{have} bytes)")
    if size == 0:
        arr = np.zeros(0, dtype=dt.np)
    else:
        arr = np.memmap(filename, dtype=dt.np, mode="r+" if shared else "c", shape=(size,))
    out = Tensor._from_array(arr)
    return out.to(device) if device is not None else out


def thread_safe_generator() -> Any:
    """The generator of the DataLoader thread worker that calls it, else None (the default generator). disttorch's
    DataLoader workers are processes, so this is always None."""
    return None


def record_stream(self: Tensor, stream: Any) -> None:
    """Mark the memory as in use by ``stream``: nothing to do here (cupy's pool frees memory only after the
    arrays are gone, and disttorch queues all of a device's work on one stream at a time)."""
    if self.device.type == "cpu":
        raise NotImplementedError("Could not run 'aten::record_stream' with arguments from the 'CPU' backend.")


def module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """What ``load_state_dict`` swaps in for this parameter or buffer: ``other`` itself (detached) with
    ``assign``, else this tensor with ``other``'s values copied in (detached)."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


methods({"hash_tensor": lambda self, dim=(), *, keepdim=False, mode=0: hash_tensor(self, dim, keepdim=keepdim,
                                                                                    mode=mode),
         "record_stream": record_stream, "module_load": module_load})
