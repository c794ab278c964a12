"""Writing a checkpoint in PyTorch's zip layout, readable by ``torch.load``.

``<archive>/data.pkl`` is the pickled object, with every tensor reduced to PyTorch's
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`` (``_v3`` with
an untyped storage for dtypes without a legacy storage class) and Parameters to
``torch._utils._rebuild_parameter``. A storage is a persistent id
``('storage', <storage type>, key, location, numel)`` whose bytes are the record ``<archive>/data/<key>``;
tensors that view one buffer share one storage. Records holding storage bytes start at 64-byte
offsets (``.storage_alignment``), as PyTorch writes them."""
from __future__ import annotations

import collections
import io
import pickle
import secrets
import struct
import sys
import zipfile
from typing import IO, Any

import numpy as np

from disttorch._device import device as Device
from disttorch._dtype import dtype as DType
from disttorch._tensor import Size, Tensor
from disttorch.backends import backend_for_array, data_ptr
from disttorch.serialization import _names as N
from disttorch.serialization._location import location_tag

ALIGNMENT = 64


class _Storage:
    """One buffer to be saved: its root array (contiguous, the tensor's dtype) and its record key."""

    __slots__ = ("root", "key", "location", "pid")

    def __init__(self, root: Any, key: str, location: str, dtype_name: str) -> None:
        self.root, self.key, self.location = root, key, location
        if dtype_name in N.STORAGE_OF_DTYPE:
            self.pid = ("storage", N.TYPED_STORAGES[N.STORAGE_OF_DTYPE[dtype_name]], key, location, int(root.size))
        else:
            self.pid = ("storage", N.UNTYPED_STORAGE, key, location, int(root.nbytes))


def _root_of(arr: Any) -> Any:
    root = arr
    while isinstance(root.base, type(arr)):
        root = root.base
    return root


def _dense(arr: Any) -> bool:
    return bool(arr.flags.c_contiguous or arr.flags.f_contiguous)


def _geometry(arr: Any) -> tuple[Any, int, tuple[int, ...]] | None:
    """``(storage, offset, strides)``, the last two in elements, when ``arr`` views a dense root buffer
    of its own dtype with non-negative strides (``storage``: that buffer, 1-D in memory order); None
    when it cannot be expressed so (then it is saved as a copy)."""
    if arr.size == 0:
        return None
    root = _root_of(arr)
    item = arr.dtype.itemsize
    if root.dtype != arr.dtype or not _dense(root) or any(s < 0 or s % item for s in arr.strides):
        return None
    delta = data_ptr(arr) - data_ptr(root)
    if delta < 0 or delta % item:
        return None
    offset, strides = delta // item, tuple(s // item for s in arr.strides)
    if offset + sum((n - 1) * s for n, s in zip(arr.shape, strides)) >= root.size:
        return None
    flat = root.reshape(-1) if root.flags.c_contiguous else root.T.reshape(-1)  # memory order, a view
    return flat, offset, strides


class CheckpointPickler(pickle._Pickler):
    """The pure-Python pickler (so that PyTorch's names can be written as GLOBALs without importing
    torch) with tensors reduced to storages."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file: IO[bytes], protocol: int) -> None:
        super().__init__(file, protocol=protocol)
        self.storages: dict[tuple, _Storage] = {}
        self._keep: list[Any] = []  # copies made for saving stay alive so their ids stay unique

    # -- storages ---------------------------------------------------------------------------------
    def _storage(self, t: Tensor) -> tuple[_Storage, int, tuple[int, ...], tuple[int, ...]]:
        arr = t._data
        geometry = _geometry(arr)
        if geometry is None:  # negative strides, a reinterpreted dtype, an empty tensor: a compact copy
            compact = arr.copy(order="C")
            root, offset = compact.reshape(-1), 0
            strides = tuple(s // arr.dtype.itemsize for s in compact.strides)
        else:
            root, offset, strides = geometry
        key = (data_ptr(root), root.nbytes, root.dtype.str, location_tag(t))  # one buffer, however reached
        storage = self.storages.get(key)
        if storage is None:
            storage = _Storage(root, str(len(self.storages)), location_tag(t), t.dtype.name)
            self.storages[key] = storage
            self._keep.append(root)
        return storage, offset, tuple(arr.shape), strides

    def persistent_id(self, obj: Any) -> Any:
        return obj.pid if type(obj) is _Storage else None

    # -- reductions -------------------------------------------------------------------------------
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, Device):
            return N.TORCH_DEVICE, (obj.type,) if obj.index is None else (obj.type, obj.index)
        if isinstance(obj, Size):
            return N.TORCH_SIZE, (tuple(int(s) for s in obj),)
        return NotImplemented

    def _reduce_tensor(self, t: Tensor) -> tuple:
        from disttorch.nn.parameter import Parameter

        if isinstance(t, Parameter):
            state = getattr(t, "__dict__", None)
            data = Tensor._from_array(t._data)
            if state:
                return N.REBUILD_PARAMETER_WITH_STATE, (data, t.requires_grad, collections.OrderedDict(), state)
            return N.REBUILD_PARAMETER, (data, t.requires_grad, collections.OrderedDict())
        if t.is_meta:  # no storage: PyTorch writes the dtype, shape and strides only
            return N.REBUILD_META, (t.dtype, tuple(t.shape), t.stride(), t.requires_grad)
        storage, offset, size, stride = self._storage(t)
        hooks = collections.OrderedDict()
        name = t.dtype.name
        if name in N.STORAGE_OF_DTYPE:
            rebuild = (N.REBUILD_TENSOR_V2, (storage, offset, size, stride, t.requires_grad, hooks))
        else:
            rebuild = (N.REBUILD_TENSOR_V3, (storage, offset, size, stride, t.requires_grad, hooks,
                                             t.dtype))
        state = getattr(t, "__dict__", None)
        if type(t) is Tensor and not state:
            return rebuild
        return N.REBUILD_FROM_TYPE_V2, (rebuild[0], type(t), rebuild[1], state or {})

    def _save_global_name(self, obj: Any, module: str, name: str) -> None:
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def _save_torch_global(self, obj: N.Global) -> None:
        self._save_global_name(obj, obj.module, obj.name)

    def _save_dtype(self, obj: DType) -> None:
        self._save_global_name(obj, "torch", obj.name)

    dispatch[N.Global] = _save_torch_global
    dispatch[DType] = _save_dtype


def _storage_bytes(root: Any) -> memoryview:
    host = root if isinstance(root, np.ndarray) else backend_for_array(root).to_numpy(root)
    host = np.ascontiguousarray(host).reshape(-1)  # (already 1-D and contiguous: no copy)
    if sys.byteorder == "big" and host.dtype.byteorder not in "|=":
        host = host.astype(host.dtype.newbyteorder("="))
    return memoryview(host.view(np.uint8))


def _write_record(zf: zipfile.ZipFile, name: str, data: Any, align: bool = False) -> None:
    """One uncompressed record; ``align``: pad the local header so the data starts at a multiple of
    ALIGNMENT bytes (PyTorch's "FB" extra field)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    size = memoryview(data).nbytes
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT  # the rule zipfile itself applies
    if align:
        start = zf.fp.tell() + 30 + len(name.encode("utf-8")) + (20 if zip64 else 0)
        pad = -start % ALIGNMENT
        if pad < 4:
            pad += ALIGNMENT
        info.extra = b"FB" + struct.pack("<H", pad - 4) + b"Z" * (pad - 4)
    info.file_size = size
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(data)


def serialization_id() -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(40))


def write_checkpoint(fh: IO[bytes], obj: Any, archive: str, protocol: int, byteorder_record: bool) -> None:
    buf = io.BytesIO()
    pickler = CheckpointPickler(buf, protocol)
    pickler.dump(obj)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_record(zf, f"{archive}/data.pkl", buf.getbuffer())
        _write_record(zf, f"{archive}/.format_version", b"1")
        _write_record(zf, f"{archive}/.storage_alignment", str(ALIGNMENT).encode())
        if byteorder_record:
            _write_record(zf, f"{archive}/byteorder", sys.byteorder.encode())
        for storage in pickler.storages.values():
            _write_record(zf, f"{archive}/data/{storage.key}", _storage_bytes(storage.root), align=True)
        _write_record(zf, f"{archive}/version", b"3\n")
        _write_record(zf, f"{archive}/.data/serialization_id", serialization_id().encode())
