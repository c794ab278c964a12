"""Loading side of the storage scheme: the storages named by a checkpoint's persistent ids, and
disttorch's versions of PyTorch's tensor-rebuild functions that the pickle calls."""
from __future__ import annotations

import math
import pickle
import zipfile
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import array_module
from disttorch.serialization import _names as N
from disttorch.serialization._files import read_entry_into
from disttorch.serialization._location import Placer


class StorageType:
    """Stands in for ``torch.FloatStorage`` and friends (``dtype`` None: ``torch.storage.UntypedStorage``)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: D.dtype | None) -> None:
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}" if self.dtype is not None else "torch.storage.UntypedStorage"


STORAGE_TYPES = {f"torch.{name}": StorageType(name, dt) for name, dt in N.DTYPE_OF_STORAGE.items()}
STORAGE_TYPES["torch.storage.UntypedStorage"] = StorageType("UntypedStorage", None)


class LoadedStorage:
    """A storage read from the archive and placed: ``flat`` is a 1-D backend array (uint8 when untyped)."""

    __slots__ = ("flat", "location", "typed")

    def __init__(self, flat: Any, location: str, typed: bool) -> None:
        self.flat, self.location, self.typed = flat, location, typed


class StorageReader:
    """``persistent_load`` for both unpicklers: reads ``<root>/data/<key>`` once per key."""

    def __init__(self, zf: zipfile.ZipFile, root: str, place: Placer, byteorder: str) -> None:
        self.zf, self.root, self.place, self.byteorder = zf, root, place, byteorder
        self.storages: dict[str, LoadedStorage] = {}

    def __call__(self, pid: Any) -> LoadedStorage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str) and isinstance(pid[3], str)
                and type(pid[4]) is int):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        hit = self.storages.get(key)
        if hit is not None:
            return hit
        name = f"{self.root}/data/{key}"
        stored = self.zf.getinfo(name).file_size  # (checked against the file's size when it was opened)
        dt = np.dtype(np.uint8) if storage_type.dtype is None else storage_type.dtype.np
        if stored != numel * dt.itemsize:
            raise ValueError(f"storage {key} holds {stored} bytes, expected {numel} x {dt.itemsize}")
        # ml_dtypes' types (bfloat16, float8_*): read as their bits, in the file's byte order
        bits = np.dtype(f"u{dt.itemsize}") if dt.kind == "V" or dt.itemsize == 1 else dt
        arr = np.empty(numel, bits.newbyteorder(self.byteorder))
        read_entry_into(self.zf, name, arr)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        placed = self.place(Tensor._from_array(arr.view(dt)), location)
        storage = self.storages[key] = LoadedStorage(placed._data.reshape(-1), location, storage_type.dtype is not None)
        return storage


def _view(flat: Any, offset: Any, size: Any, stride: Any) -> Any:
    """The strided view of ``flat`` that a rebuild call describes, after checking that it stays inside."""
    size, stride, offset = [int(s) for s in size], [int(s) for s in stride], int(offset)
    if len(size) != len(stride) or min(size + stride + [offset], default=0) < 0:
        raise ValueError(f"bad tensor geometry: size {size}, stride {stride}, offset {offset}")
    if math.prod(size) == 0:
        return flat[:0].reshape(size)
    if offset + sum((n - 1) * s for n, s in zip(size, stride)) >= flat.size:
        raise ValueError(f"tensor of size {size} and stride {stride} at offset {offset} overruns its storage of "
                         f"{flat.size} elements")
    item = flat.dtype.itemsize
    if isinstance(flat, np.ndarray) and flat.flags.c_contiguous:  # an ndarray over flat's buffer keeps flat as
        # its .base, so that saving the loaded tensors again finds them to be views of one buffer
        return np.ndarray(tuple(size), flat.dtype, buffer=flat, offset=offset * item,
                          strides=tuple(s * item for s in stride))
    xp = array_module(flat)
    return xp.lib.stride_tricks.as_strided(flat[offset:], tuple(size), tuple(s * item for s in stride))


def _tensor(storage: Any, flat: Any, offset: Any, size: Any, stride: Any, requires_grad: Any) -> Tensor:
    t = Tensor._from_array(_view(flat, offset, size, stride))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_storage(storage: Any) -> LoadedStorage:
    if not isinstance(storage, LoadedStorage):
        raise pickle.UnpicklingError(f"expected a storage, got {type(storage).__name__}")
    return storage


def rebuild_tensor(storage: Any, storage_offset: int, size: tuple, stride: tuple) -> Tensor:
    s = _check_storage(storage)
    return _tensor(s, s.flat, storage_offset, size, stride, False)


def rebuild_tensor_v2(storage: Any, storage_offset: int, size: tuple, stride: tuple, requires_grad: bool,
                      backward_hooks: Any, metadata: Any = None) -> Tensor:
    s = _check_storage(storage)
    return _tensor(s, s.flat, storage_offset, size, stride, requires_grad)


def rebuild_tensor_v3(storage: Any, storage_offset: int, size: tuple, stride: tuple, requires_grad: bool,
                      backward_hooks: Any, dtype: D.dtype, metadata: Any = None) -> Tensor:
    s = _check_storage(storage)
    if not isinstance(dtype, D.dtype):
        raise pickle.UnpicklingError("bad dtype in _rebuild_tensor_v3")
    flat = s.flat
    if s.typed:
        flat = flat.view(np.uint8)
    if flat.size % dtype.itemsize:
        raise ValueError("untyped storage does not hold whole elements")
    return _tensor(s, flat.view(dtype.np), storage_offset, size, stride, requires_grad)


def rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any) -> Tensor:
    from disttorch.nn.parameter import Parameter

    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("_rebuild_parameter expects a tensor")
    return Parameter(data.detach(), requires_grad=bool(requires_grad))


def rebuild_parameter_with_state(data: Any, requires_grad: bool, backward_hooks: Any, state: Any) -> Tensor:
    return rebuild_parameter(data, requires_grad, backward_hooks)  # Parameters carry no Python attributes here


def rebuild_from_type_v2(func: Any, new_type: Any, args: tuple, state: Any) -> Any:
    """A tensor subclass (or a tensor with Python attributes): rebuild, then re-type and set the state."""
    ret = func(*args)
    if isinstance(new_type, type) and issubclass(new_type, Tensor) and type(ret) is not new_type:
        if hasattr(ret, "as_subclass"):
            ret = ret.as_subclass(new_type)
    if isinstance(state, dict):
        for k, v in state.items():
            setattr(ret, k, v)
    return ret


def rebuild_meta_tensor_no_storage(dtype: D.dtype, size: tuple, stride: tuple, requires_grad: bool) -> Tensor:
    """A meta tensor saved without storage (its strides are not kept: meta tensors here have no layout)."""
    from disttorch._ops.creation import empty

    if not isinstance(dtype, D.dtype):
        raise pickle.UnpicklingError("bad dtype in _rebuild_meta_tensor_no_storage")
    return empty(tuple(int(s) for s in size), dtype=dtype, device="meta", requires_grad=bool(requires_grad))


REBUILD_FUNCTIONS = {
    "torch._utils._rebuild_meta_tensor_no_storage": rebuild_meta_tensor_no_storage,
    "torch._utils._rebuild_tensor": rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": rebuild_parameter_with_state,
    "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
}
