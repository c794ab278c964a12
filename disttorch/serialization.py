"""``disttorch.save`` / ``disttorch.load``: checkpoints that never run code when loaded.

A checkpoint is a zip archive (entries stored uncompressed) holding

- ``archive/format``: ``disttorch-checkpoint 1``;
- ``archive/data.json``: the saved object's structure. JSON lists, strings, numbers, booleans and
  null stand for themselves; every JSON object is a tagged node (``{"t": "dict", "items": [[k, v], ...]}``,
  ``"odict"``, ``"tuple"``, ``"tensor"``, ``"dtype"``, ``"device"``, ``"size"``, ...), so dicts with int or
  tuple keys, OrderedDicts and tuples come back as they were saved;
- ``archive/arrays/<i>.npy``: one numpy ``.npy`` file per tensor, read back with ``allow_pickle=False``.

What can be saved: tensors and Parameters (any device; ``requires_grad`` is kept, ``.grad`` is not),
nested dict / OrderedDict / list / tuple / set, int, float, complex, bool, str, bytes, None, dtypes,
devices, ``torch.Size``, numpy arrays and scalars -- everything a model's or an optimizer's
``state_dict`` holds. Anything else (a whole ``nn.Module``, a lambda, an arbitrary class) raises
TypeError: save ``model.state_dict()`` instead. Namedtuples are saved as plain tuples. The same tensor
object saved twice is stored once and loaded as one object; distinct tensors that share memory
(views of one another) are stored and loaded independently.

Loading reads JSON and ``.npy`` data only, so a checkpoint from an untrusted source cannot execute
code; ``weights_only`` is accepted for PyTorch compatibility and changes nothing. A file written by
PyTorch's ``torch.save`` (its zip format) loads too, as long as it holds tensors, Parameters and
plain containers (a state_dict): its pickle is read by a restricted unpickler that resolves only
PyTorch's tensor-rebuild functions, storage types, dtypes, ``torch.device``/``torch.Size`` and
``collections.OrderedDict`` (to safe local replacements) and refuses every other global. For the
other direction (disttorch -> PyTorch) use safetensors: :mod:`disttorch.utils.safetensors`.

Saving to a path is atomic: the archive is written to a temporary file in the same directory,
flushed to disk and renamed over the target, so a crash mid-save leaves the previous file intact.
"""
from __future__ import annotations

import base64
import codecs
import collections
import io
import json
import math
import os
import pickle
import re
import secrets
import zipfile
from typing import IO, Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._device import device as Device
from disttorch._tensor import Size, Tensor

__all__ = ["save", "load"]

_FORMAT = b"disttorch-checkpoint 1"
_ROOT = "archive"
_DTYPES = {d.name: d for d in D.ALL}
_FileLike = Any  # str | os.PathLike | a binary file object


# -- atomic file writes ---------------------------------------------------------------------------
def _atomic_write(path: Any, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then rename it over ``path``.
    On any error the temporary file is removed and ``path`` is left as it was."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.islink(path):  # write through the link, as open() would
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _describe(f: Any) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else "the given file object"


def _corrupted(f: Any, reason: str) -> RuntimeError:
    return RuntimeError(f"disttorch.load: {_describe(f)} is not a disttorch checkpoint (or is corrupted): {reason}")


# -- save -----------------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into JSON-able data plus a list of arrays to store as ``.npy`` files."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.array_meta: list[dict] = []
        self._tensor_ids: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps saved objects alive so their ids stay unique
        self._active: set[int] = set()

    def _add_array(self, arr: np.ndarray, dtype_name: str) -> int:
        arr = np.asarray(arr, order="C")  # (ascontiguousarray would turn 0-dim into 1-dim)
        if arr.dtype.kind == "V":  # ml_dtypes types (bfloat16): stored as raw unsigned ints of the same width
            arr = arr.view(f"u{arr.dtype.itemsize}")
        self.arrays.append(arr)
        self.array_meta.append({"dtype": dtype_name, "shape": list(arr.shape)})
        return len(self.arrays) - 1

    def encode(self, obj: Any) -> Any:
        t = type(obj)
        if obj is None or t is bool or t is int or t is str:
            return obj
        if t is float:
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, (D.dtype, Device)):
            return {"t": "dtype" if t is D.dtype else "device", "v": obj.name if t is D.dtype else str(obj)}
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return self.encode(float(obj))
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, complex):
            return {"t": "complex", "v": [self.encode(obj.real), self.encode(obj.imag)]}
        if isinstance(obj, (bytes, bytearray)):
            return {"t": "bytes", "v": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, (np.ndarray, np.generic)):
            return self._numpy(obj)
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            key = id(obj)
            if key in self._active:
                raise ValueError("disttorch.save: the object contains a reference cycle, which cannot be saved")
            self._active.add(key)
            try:
                return self._container(obj)
            finally:
                self._active.discard(key)
        raise TypeError(f"disttorch.save: cannot save an object of type {t.__module__}.{t.__qualname__}. A "
                        "checkpoint holds tensors, numbers, strings, bytes, None, dtypes, devices, numpy arrays and "
                        "dicts/lists/tuples/sets of these (a state_dict, not a whole module)")

    def _container(self, obj: Any) -> Any:
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, Size):
            return {"t": "size", "v": [int(s) for s in obj]}
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {"t": tag, "items": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        return {"t": "frozenset" if isinstance(obj, frozenset) else "set", "v": [self.encode(v) for v in obj]}

    def _tensor(self, t: Tensor) -> dict:
        from disttorch.nn.parameter import Parameter

        index = self._tensor_ids.get(id(t))
        if index is None:
            index = self._add_array(t.__array__(), t.dtype.name)
            self._tensor_ids[id(t)] = index
            self._keep.append(t)
        return {"t": "tensor", "array": index, "device": str(t.device), "requires_grad": bool(t.requires_grad),
                "parameter": isinstance(t, Parameter)}

    def _numpy(self, a: Any) -> dict:
        if a.dtype not in D.from_np:
            raise TypeError(f"disttorch.save: cannot save a numpy array of dtype {a.dtype}")
        tag = "ndarray" if isinstance(a, np.ndarray) else "npscalar"
        return {"t": tag, "array": self._add_array(np.asarray(a), D.from_np[a.dtype].name)}


def _write_array(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(name, "w", force_zip64=True) as out:
        np.lib.format.write_array(out, arr, allow_pickle=False)


def _write_archive(fh: IO[bytes], document: bytes, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(f"{_ROOT}/format", _FORMAT)
        for i, arr in enumerate(arrays):
            _write_array(zf, f"{_ROOT}/arrays/{i}.npy", arr)
        zf.writestr(f"{_ROOT}/data.json", document)


def save(obj: Any, f: _FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` (tensors, containers, numbers... see the module docstring) to ``f``: a path
    (written atomically) or a binary file object open for writing. ``pickle_module`` and
    ``pickle_protocol`` are accepted for compatibility; nothing is pickled."""
    encoder = _Encoder()
    root = encoder.encode(obj)
    document = json.dumps({"format": "disttorch-checkpoint", "version": 1, "arrays": encoder.array_meta,
                           "root": root}, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if isinstance(f, (str, bytes, os.PathLike)):
        _atomic_write(f, lambda fh: _write_archive(fh, document, encoder.arrays))
    else:
        _write_archive(f, document, encoder.arrays)


# -- load -----------------------------------------------------------------------------------------
class _Placer:
    """Moves loaded CPU tensors where ``map_location`` says, PyTorch-style."""

    def __init__(self, map_location: Any) -> None:
        self.map_location = map_location

    def __call__(self, t: Tensor, location: str) -> Tensor:
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, Device, dict)):
            moved = ml(t, location)
            if moved is not None:
                if not isinstance(moved, Tensor):
                    raise TypeError(f"map_location should return a Tensor or None, got {type(moved).__name__}")
                return moved
            target: Any = location
        elif ml is None:
            target = location
        elif isinstance(ml, dict):
            target = ml.get(location, location)
        else:
            target = ml
        target = Device(target) if not isinstance(target, Device) else target
        if target.type == "cpu":
            return t
        if target.type == "cuda":
            from disttorch import cuda

            if not cuda.is_available():
                raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                                   "is False. If you are running on a CPU-only machine, please use torch.load with "
                                   "map_location=torch.device('cpu') to map your storages to the CPU.")
        return t.to(target)


def _finish_tensor(arr: np.ndarray, location: str, requires_grad: bool, parameter: bool, place: _Placer) -> Tensor:
    t = place(Tensor._from_array(arr), location)
    if parameter:
        from disttorch.nn.parameter import Parameter

        return Parameter(t, requires_grad=requires_grad)
    if requires_grad:
        t = t.detach().requires_grad_(True) if t._grad_fn is not None else t.requires_grad_(True)
    return t


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, meta: list, place: _Placer) -> None:
        self.zf, self.meta, self.place = zf, meta, place
        self._arrays: dict[int, np.ndarray] = {}
        self._tensors: dict[int, Tensor] = {}

    def array(self, index: Any) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.meta):
            raise ValueError(f"bad array reference {index!r}")
        arr = self._arrays.get(index)
        if arr is not None:
            return arr
        meta = self.meta[index]
        dt = _DTYPES.get(meta.get("dtype")) if isinstance(meta, dict) else None
        if dt is None:
            raise ValueError(f"array {index} has no valid dtype")
        with self.zf.open(f"{_ROOT}/arrays/{index}.npy") as fh:
            arr = np.lib.format.read_array(fh, allow_pickle=False)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        stored = dt.np if dt.np.kind != "V" else np.dtype(f"u{dt.np.itemsize}")
        if arr.dtype != stored or list(arr.shape) != meta.get("shape"):
            raise ValueError(f"array {index} holds {arr.dtype}{list(arr.shape)}, expected {stored}{meta.get('shape')}")
        if dt.np.kind == "V":
            arr = arr.view(dt.np)
        self._arrays[index] = arr
        return arr

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected JSON value {node!r}")
        tag = node.get("t")
        if tag == "tensor":
            index = node["array"]
            t = self._tensors.get(index)
            if t is None:
                t = _finish_tensor(self.array(index), str(node["device"]), bool(node["requires_grad"]),
                                   bool(node["parameter"]), self.place)
                self._tensors[index] = t
            return t
        if tag in ("dict", "odict"):
            out = {} if tag == "dict" else collections.OrderedDict()
            for k, v in node["items"]:
                out[self.decode(k)] = self.decode(v)
            return out
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["v"])
        if tag == "float":
            if node["v"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {node['v']!r}")
            return float(node["v"])
        if tag == "dtype":
            if node["v"] not in _DTYPES:
                raise ValueError(f"unknown dtype {node['v']!r}")
            return _DTYPES[node["v"]]
        if tag == "device":
            return Device(node["v"])
        if tag == "size":
            return Size(int(s) for s in node["v"])
        if tag == "complex":
            return complex(self.decode(node["v"][0]), self.decode(node["v"][1]))
        if tag == "bytes":
            return base64.b64decode(node["v"], validate=True)
        if tag in ("set", "frozenset"):
            items = (self.decode(v) for v in node["v"])
            return set(items) if tag == "set" else frozenset(items)
        if tag == "ndarray":
            return self.array(node["array"]).copy()
        if tag == "npscalar":
            return self.array(node["array"])[()]
        raise ValueError(f"unknown tag {tag!r}")


def _open_zip(f: _FileLike) -> tuple[zipfile.ZipFile, Any]:
    """Open ``f`` as a zip archive; returns the archive and a file handle to close afterwards (or None)."""
    if isinstance(f, (str, bytes, os.PathLike)):
        fh: Any = open(f, "rb")
        close = fh
    else:
        if not hasattr(f, "read"):
            raise TypeError(f"disttorch.load: expected a path or a binary file object, got {type(f).__name__}")
        fh, close = f, None
        if not (hasattr(f, "seekable") and f.seekable()):
            fh = io.BytesIO(f.read())
    head = fh.read(4)
    fh.seek(-len(head), io.SEEK_CUR)
    if isinstance(head, str):
        raise TypeError("disttorch.load: the file object must be opened in binary mode ('rb')")
    try:
        if head[:1] == b"\x80":
            raise _corrupted(f, "it looks like a pickle file; disttorch never unpickles data, which could run code")
        try:
            return zipfile.ZipFile(fh), close
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _corrupted(f, f"not a readable zip archive ({exc})") from None
    except BaseException:
        if close is not None:
            close.close()
        raise


def load(f: _FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load an object saved by :func:`save` (or a PyTorch ``torch.save`` file of tensors) from a path or a
    binary file object. ``map_location``: None (restore each tensor to its saved device), a device
    or device string, a dict mapping saved location strings to new ones, or a callable
    ``fn(tensor_on_cpu, saved_location) -> Tensor | None`` (None: default placement)."""
    place = _Placer(map_location)
    zf, close = _open_zip(f)
    try:
        names = zf.namelist()
        if f"{_ROOT}/data.json" in names:
            return _load_disttorch(f, zf, place)
        pkl = next((n for n in names if re.fullmatch(r"[^/]+/data\.pkl", n)), None)
        if pkl is not None:
            return _load_torch(f, zf, pkl.split("/")[0], place)
        raise _corrupted(f, "the archive holds neither archive/data.json nor a PyTorch data.pkl")
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError, pickle.UnpicklingError,
            json.JSONDecodeError, IndexError, AttributeError, RecursionError) as exc:
        raise _corrupted(f, f"{type(exc).__name__}: {exc}") from None
    finally:
        zf.close()
        if close is not None:
            close.close()


def _load_disttorch(f: Any, zf: zipfile.ZipFile, place: _Placer) -> Any:
    if zf.read(f"{_ROOT}/format").strip() != _FORMAT:
        raise _corrupted(f, "unknown format version")
    doc = json.loads(zf.read(f"{_ROOT}/data.json").decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != "disttorch-checkpoint" or not isinstance(doc.get("arrays"),
                                                                                                   list):
        raise _corrupted(f, "data.json is not a checkpoint description")
    return _Decoder(zf, doc["arrays"], place).decode(doc["root"])


# -- PyTorch's zip format, through a restricted unpickler ------------------------------------------
_TORCH_STORAGES = {
    "FloatStorage": D.float32, "DoubleStorage": D.float64, "HalfStorage": D.float16, "BFloat16Storage": D.bfloat16,
    "LongStorage": D.int64, "IntStorage": D.int32, "ShortStorage": D.int16, "CharStorage": D.int8,
    "ByteStorage": D.uint8, "BoolStorage": D.bool_, "ComplexFloatStorage": D.complex64,
    "ComplexDoubleStorage": D.complex128,
}


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends (``dtype`` None: ``torch.UntypedStorage``, bytes)."""

    def __init__(self, dtype: D.dtype | None) -> None:
        self.dtype = dtype


class _Storage:
    def __init__(self, data: np.ndarray, location: str) -> None:
        self.data, self.location = data, location


class _TorchUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (so that every opcode is ours to police) with a closed set of globals.
    BUILD is only allowed to set plain attributes on an OrderedDict (PyTorch's ``_metadata``)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO[bytes], zf: zipfile.ZipFile, root: str, place: _Placer, byteorder: str) -> None:
        super().__init__(file)
        self.zf, self.root, self.place, self.byteorder = zf, root, place, byteorder
        self.storages: dict[str, _Storage] = {}
        self.safe_globals: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_tensor_v3"): self._rebuild_tensor_v3,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
            ("torch", "device"): Device,
            ("torch", "Size"): Size,
            ("torch.storage", "UntypedStorage"): _StorageType(None),
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "complex"): complex,
            ("_codecs", "encode"): _codecs_encode,
        }

    def find_class(self, module: str, name: str) -> Any:
        hit = self.safe_globals.get((module, name))
        if hit is not None:
            return hit
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(_TORCH_STORAGES[name])
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise pickle.UnpicklingError(f"refusing the global {module}.{name}: only tensors, Parameters and plain "
                                     "containers are loaded from PyTorch files (nothing that could run code)")

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is collections.OrderedDict and isinstance(state, dict) and all(
                isinstance(k, str) and not k.startswith("__") for k in state):
            inst.__dict__.update(state)
            return
        raise pickle.UnpicklingError(f"refusing to set the state of a {type(inst).__name__}")

    dispatch[pickle.BUILD[0]] = _load_build

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and isinstance(pid[3], str)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        hit = self.storages.get(key)
        if hit is not None:
            return hit
        raw = self.zf.read(f"{self.root}/data/{key}")
        dt = np.dtype(np.uint8) if storage_type.dtype is None else storage_type.dtype.np
        if len(raw) != int(numel) * dt.itemsize:
            raise ValueError(f"storage {key} holds {len(raw)} bytes, expected {numel} x {dt.itemsize}")
        if dt.kind == "V":  # bfloat16: read its bits as uint16 in the file's byte order
            arr = np.frombuffer(raw, np.dtype("u2").newbyteorder(self.byteorder)).astype("u2").view(dt)
        else:
            arr = np.frombuffer(raw, dt.newbyteorder(self.byteorder)).astype(dt)
        storage = self.storages[key] = _Storage(arr, location)
        return storage

    def _rebuild_tensor_v2(self, storage: _Storage, storage_offset: int, size: tuple, stride: tuple,
                           requires_grad: bool, backward_hooks: Any, metadata: Any = None) -> Tensor:
        return self._rebuild(storage, storage.data, storage_offset, size, stride, requires_grad)

    def _rebuild_tensor_v3(self, storage: _Storage, storage_offset: int, size: tuple, stride: tuple,
                           requires_grad: bool, backward_hooks: Any, dtype: D.dtype, metadata: Any = None) -> Tensor:
        if not isinstance(dtype, D.dtype):
            raise pickle.UnpicklingError("bad dtype in _rebuild_tensor_v3")
        data = storage.data
        if data.dtype != np.uint8 or data.size % dtype.itemsize:
            raise ValueError("untyped storage does not hold whole elements")
        return self._rebuild(storage, data.view(dtype.np), storage_offset, size, stride, requires_grad)

    def _rebuild(self, storage: _Storage, flat: np.ndarray, offset: int, size: Any, stride: Any,
                 requires_grad: bool) -> Tensor:
        size, stride, offset = [int(s) for s in size], [int(s) for s in stride], int(offset)
        if len(size) != len(stride) or min(size + stride + [offset], default=0) < 0:
            raise ValueError(f"bad tensor geometry: size {size}, stride {stride}, offset {offset}")
        if math.prod(size) > 0:  # bounds check before viewing: a lying file must not read past the storage
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.size:
                raise ValueError(f"tensor of size {size} and stride {stride} at offset {offset} overruns its "
                                 f"storage of {flat.size} elements")
            item = flat.dtype.itemsize
            arr = np.lib.stride_tricks.as_strided(flat[offset:], size, [s * item for s in stride]).copy()
        else:
            arr = np.empty(size, flat.dtype)
        return _finish_tensor(arr, storage.location, bool(requires_grad), False, self.place)


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any, state: Any = None) -> Tensor:
    from disttorch.nn.parameter import Parameter

    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("_rebuild_parameter expects a tensor")
    return Parameter(data.detach(), requires_grad=bool(requires_grad))


def _codecs_encode(obj: Any, encoding: str = "utf-8") -> bytes:
    """Protocol-2 pickles spell ``bytes`` as ``_codecs.encode(str, 'latin1')``; text codecs only."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name not in ("latin-1", "iso8859-1", "utf-8", "ascii"):
        raise pickle.UnpicklingError("refusing _codecs.encode on anything but text")
    return obj.encode(encoding)


def _load_torch(f: Any, zf: zipfile.ZipFile, root: str, place: _Placer) -> Any:
    names = set(zf.namelist())
    byteorder = "<"
    if f"{root}/byteorder" in names:
        order = zf.read(f"{root}/byteorder").strip()
        if order not in (b"little", b"big"):
            raise _corrupted(f, f"unknown byte order {order!r}")
        byteorder = "<" if order == b"little" else ">"
    unpickler = _TorchUnpickler(io.BytesIO(zf.read(f"{root}/data.pkl")), zf, root, place, byteorder)
    return unpickler.load()

