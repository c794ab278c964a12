"""The stand-in's array: a numpy array kept out of numpy's reach, behaving like ``cupy.ndarray`` where cupy
differs from numpy. Each imitated behaviour names where cupy documents it.

- ``__array__`` raises TypeError (cupy docs, "Conversion to/from NumPy arrays": cupy and numpy arrays are not
  implicitly convertible; the message is cupy's ``_core/core.pyx`` ``__array__``).
- a numpy array passed to a kernel (ufunc, operator, routine) raises TypeError ("Unsupported type", cupy
  ``_core/_kernel.pyx`` ``_preprocess_args``); ``cupy.asarray``/``cupy.array``, ``__setitem__`` values and index
  arrays accept numpy arrays (they copy them to the device).
- reductions and scalar indexing return 0-d arrays, never numpy scalars (cupy docs, "Differences between CuPy and
  NumPy": reduction methods return zero-dimensional arrays).
- ``flags`` has ``c_contiguous``, ``f_contiguous`` and ``owndata`` only (cupy ``_core/flags.pyx``): no
  ``writeable``; arrays take no new attributes (cupy's ndarray is a cdef class without ``__dict__``).
- a kernel runs on the current device; an argument on another device raises ValueError (cupy
  ``_core/_kernel.pyx`` ``_check_peer_access``: strict, as if peer access were unavailable).
- device-to-host transfers (``get``, ``cupy.asnumpy``, ``item``, ``tolist``, ``float``/``int``/``bool``/
  ``complex``/``index``, ``repr``) and device, stream and event synchronisations are counted in ``HOST_SYNCS`` so
  tests can hold a budget; ``record_syncs()`` also says where each one happened (the innermost frame in disttorch).
  Host-to-device copies of host data (``cupy.asarray``/``cupy.array`` of numbers or numpy arrays) are counted in
  ``HOST_TO_DEVICE`` with their place likewise (they do not make the host wait for the device).
"""
from __future__ import annotations

import ctypes
import sys
import threading
import weakref
from typing import Any

import numpy as np

HOST_SYNCS = [0]  # device-to-host transfers and synchronisations so far (tests read and reset it)
HOST_TO_DEVICE = [0]  # copies of host data to a device so far
_LOGS: list[tuple[list, list]] = []  # (sync sites, host-to-device sites) of each active record_syncs()
_STATE = threading.local()
DEVICE_COUNT = 2  # cuda:0 and cuda:1, so device-index mix-ups can be tested


def current_device() -> int:
    return getattr(_STATE, "device", 0)


def set_current_device(index: int) -> None:
    _STATE.device = index


def _sync() -> None:
    HOST_SYNCS[0] += 1
    if _LOGS:
        site = _site(sys._getframe(1))
        for log in _LOGS:
            log[0].append(site)


def host_to_device() -> None:
    HOST_TO_DEVICE[0] += 1
    if _LOGS:
        site = _site(sys._getframe(1))
        for log in _LOGS:
            log[1].append(site)


def _site(frame: Any) -> str:
    """``file:line (function)`` of the innermost frame inside the disttorch package, or of the caller outside."""
    f = frame
    while f is not None:
        name = f.f_code.co_filename.replace("\\", "/")
        if "/disttorch/" in name and "/tests/" not in name:
            return f"{name[name.rindex('/disttorch/') + 1:]}:{f.f_lineno} ({f.f_code.co_name})"
        f = f.f_back
    f = frame
    while f is not None and "fakecuda" in f.f_code.co_filename:
        f = f.f_back
    return "outside disttorch" if f is None else f"{f.f_code.co_filename}:{f.f_lineno} ({f.f_code.co_name})"


class record_syncs:
    """``with record_syncs() as log:`` lists in ``log.syncs`` where each device-to-host synchronisation happened
    and in ``log.host_to_device`` where each host-to-device copy did (``file:line (function)``)."""

    def __init__(self) -> None:
        self.syncs: list[str] = []
        self.host_to_device: list[str] = []

    def __enter__(self) -> record_syncs:
        _LOGS.append((self.syncs, self.host_to_device))
        return self

    def __exit__(self, *exc: Any) -> None:
        _LOGS.remove((self.syncs, self.host_to_device))


class _Flags:
    """cupy's flags: c_contiguous, f_contiguous, owndata (no writeable, aligned, ...)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray, owndata: bool) -> None:
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = owndata

    def __getitem__(self, name: str) -> bool:
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous", "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(name)
        return getattr(self, key)

    def __repr__(self) -> str:
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


class MemoryPointer:
    """``ndarray.data``: the device address (here the host address of the numpy buffer) and its device."""

    __slots__ = ("ptr", "device_id", "mem")

    def __init__(self, ptr: int, device_id: int, mem: Any = None) -> None:
        self.ptr, self.device_id, self.mem = ptr, device_id, mem

    @property
    def device(self) -> Any:
        from .cuda import Device

        return Device(self.device_id)

    def __int__(self) -> int:
        return self.ptr


def _check_device(arr: ndarray) -> None:
    dev = current_device()
    if arr._dev != dev:
        raise ValueError(f"The device where the array resides ({arr._dev}) is different from the current device "
                         f"({dev}). Peer access is unavailable between these devices.")


def unwrap(x: Any) -> Any:
    """An argument of a kernel: stand-in arrays give their numpy array (after the device check), numpy arrays
    are refused as cupy refuses them, sequences are unwrapped element by element."""
    t = type(x)
    if t is ndarray:
        _check_device(x)
        return x._a
    if t is np.ndarray:
        raise TypeError(f"Unsupported type {t}")
    if t is list or t is tuple:
        return t(unwrap(v) for v in x)
    return x


def unwrap_host(x: Any) -> Any:
    """An argument cupy copies to the device itself (index arrays, setitem values): numpy arrays pass."""
    t = type(x)
    if t is ndarray:
        _check_device(x)
        return x._a
    if t is list or t is tuple:
        return t(unwrap_host(v) for v in x)
    return x


def wrap(r: Any, dev: int | None = None) -> Any:
    """A numpy result as stand-in arrays (numpy scalars become 0-d arrays, as cupy never returns scalars)."""
    t = type(r)
    if t is np.ndarray:
        return ndarray._new(r, current_device() if dev is None else dev)
    if isinstance(r, np.generic):
        return ndarray._new(np.asarray(r), current_device() if dev is None else dev, True)
    if t is list:
        return [wrap(v, dev) for v in r]
    if isinstance(r, tuple):  # numpy's named results (slogdet, eigh, svd, qr) are plain tuples in cupy
        return tuple(wrap(v, dev) for v in r)
    return r


def call(fn: Any, args: tuple, kwargs: dict) -> Any:
    """Run numpy's ``fn`` on unwrapped arguments; ``out=`` stand-in arrays are written and returned."""
    out = kwargs.get("out")
    uargs = unwrap(args)
    ukw = {k: unwrap(v) for k, v in kwargs.items()}
    r = fn(*uargs, **ukw)
    if out is not None:
        return out
    return wrap(r)


def _key(key: Any) -> Any:
    if type(key) is tuple:
        return tuple(unwrap_host(k) for k in key)
    return unwrap_host(key)


def _count(arr: Any) -> None:
    """Count an array owning its buffer in the default memory pool until it is collected."""
    from .cuda import _MEMORY_POOL

    size = _MEMORY_POOL._malloc(arr._a.nbytes)
    weakref.finalize(arr, _MEMORY_POOL._free, size)


class ndarray:
    """A cupy-like array over a numpy array (``_a``) on device ``_dev``."""

    __slots__ = ("_a", "_dev", "_own", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None, strides: Any = None,
                 order: str = "C") -> None:
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._dev = current_device()
        self._own = True
        _count(self)

    @classmethod
    def _new(cls, a: np.ndarray, dev: int, own: bool | None = None) -> ndarray:
        if not a.flags.writeable:  # numpy's read-only views (diagonal, broadcast_to) are writable in cupy
            a = _writable(a)
        self = object.__new__(cls)
        self._a = a
        self._dev = dev
        self._own = a.base is None if own is None else own
        if a.base is None:
            _count(self)
        return self

    # -- refusing numpy ------------------------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from . import _funcs

        mine = getattr(_funcs.module(), ufunc.__name__, None)
        if not isinstance(mine, _funcs.ufunc):
            return NotImplemented
        return getattr(mine, method)(*inputs, **kwargs) if method != "__call__" else mine(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        from . import _funcs

        mod = _funcs.module()
        for part in func.__module__.split(".")[1:]:
            mod = getattr(mod, part, None)
            if mod is None:
                return NotImplemented
        mine = getattr(mod, func.__name__, None)
        if mine is None:
            return NotImplemented
        return mine(*args, **kwargs)

    # -- attributes ----------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)

    @shape.setter
    def shape(self, value: Any) -> None:
        self._a.shape = value

    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: self._view(self._a.T))
    mT = property(lambda self: self._view(np.swapaxes(self._a, -1, -2)))
    flags = property(lambda self: _Flags(self._a, self._own))

    @property
    def base(self) -> Any:
        if self._a.base is None or self._own:
            return None
        root = self._a
        while isinstance(root.base, np.ndarray):
            root = root.base
        return ndarray._new(root, self._dev, True)

    @property
    def device(self) -> Any:
        from .cuda import Device

        return Device(self._dev)

    @property
    def data(self) -> MemoryPointer:
        return MemoryPointer(self._a.__array_interface__["data"][0], self._dev, self)

    @property
    def real(self) -> ndarray:
        return self._view(self._a.real)

    @real.setter
    def real(self, value: Any) -> None:
        self._a.real = unwrap(value)

    @property
    def imag(self) -> ndarray:
        return self._view(self._a.imag)

    @imag.setter
    def imag(self, value: Any) -> None:
        self._a.imag = unwrap(value)

    @property
    def __cuda_array_interface__(self) -> dict:
        iface = dict(self._a.__array_interface__)
        iface["version"] = 3
        iface["stream"] = 1
        iface.pop("descr", None)
        return iface

    def _view(self, a: np.ndarray) -> ndarray:
        return ndarray._new(a, self._dev, False)

    # -- transfers (each one a device-to-host synchronisation) -------------------------------------
    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        _sync()
        if out is not None:
            if type(out) is not np.ndarray:
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            np.copyto(out, self._a)
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: Any, stream: Any = None) -> None:
        if type(arr) is not np.ndarray:
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, not {type(arr)}")
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        if arr.dtype != self.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        host_to_device()
        np.copyto(self._a, arr)

    def item(self) -> Any:
        _sync()
        return self._a.item()

    def tolist(self) -> Any:
        _sync()
        return self._a.tolist()

    def __float__(self) -> float:
        _sync()
        return float(self._a)

    def __int__(self) -> int:
        _sync()
        return int(self._a)

    def __complex__(self) -> complex:
        _sync()
        return complex(self._a)

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self.ndim != 0:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        _sync()
        return int(self._a)

    def __bool__(self) -> bool:
        _sync()
        return bool(self._a)

    def __repr__(self) -> str:
        _sync()
        return repr(self._a)

    def __str__(self) -> str:
        _sync()
        return str(self._a)

    def __format__(self, spec: str) -> str:
        _sync()
        return format(self._a, spec)

    def __reduce__(self) -> Any:
        from . import _funcs

        return (_funcs.array, (self.get(),))

    def toDlpack(self) -> Any:
        return self.__dlpack__()

    def __dlpack__(self, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        return _DLPackCapsule(self)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, self._dev)  # kDLCUDA

    # -- container protocol --------------------------------------------------------------------------
    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key: Any) -> ndarray:
        r = self._a[_key(key)]
        if type(r) is np.ndarray:
            return ndarray._new(r, self._dev, r.base is None)
        return ndarray._new(np.asarray(r), self._dev, True)

    def __setitem__(self, key: Any, value: Any) -> None:
        _check_device(self)
        self._a[_key(key)] = unwrap_host(value)

    __hash__ = None  # type: ignore[assignment]

    # -- methods -------------------------------------------------------------------------------------
    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None,
               copy: bool = True) -> ndarray:
        _check_device(self)
        r = self._a.astype(dtype, order=order, copy=copy)
        return self if r is self._a else ndarray._new(r, self._dev, True)

    def copy(self, order: str = "C") -> ndarray:
        _check_device(self)
        return ndarray._new(self._a.copy(order=order), self._dev, True)

    def view(self, *args: Any, **kwargs: Any) -> ndarray:
        if args and isinstance(args[0], type) and issubclass(args[0], ndarray):
            return self._view(self._a)
        return self._view(self._a.view(*args, **kwargs))

    def reshape(self, *shape: Any, order: str = "C") -> ndarray:
        r = self._a.reshape(*shape, order=order)
        return ndarray._new(r, self._dev, r.base is None and r is not self._a)

    def fill(self, value: Any) -> None:
        _check_device(self)
        self._a.fill(unwrap(value))

    def sort(self, axis: int = -1, kind: Any = None) -> None:
        _check_kind(kind)
        _check_device(self)
        self._a.sort(axis=axis, kind="stable")

    def argsort(self, axis: int = -1, kind: Any = None) -> ndarray:
        _check_kind(kind)
        _check_device(self)
        return ndarray._new(self._a.argsort(axis=axis, kind="stable"), self._dev, True)

    def __copy__(self) -> ndarray:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.copy()


def _writable(a: np.ndarray) -> np.ndarray:
    """A writable array on the same memory as the read-only view ``a`` (a copy where the memory itself is read-only)."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root is a or not root.flags.writeable:
        return a.copy()
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=root, offset=offset, strides=a.strides)


def _check_kind(kind: Any) -> None:
    """cupy sorts stably and accepts kind None or 'stable' only (``_core/core.pyx`` ``_check_kind_sort``)."""
    if kind is not None and kind != "stable":
        raise ValueError("kind can only be None or 'stable'")


# methods that are kernels on the array's data (the device check applies), returning arrays
_KERNEL_METHODS = ("all", "any", "argmax", "argmin", "argpartition", "choose", "clip", "compress", "conj",
                   "conjugate", "cumprod", "cumsum", "diagonal", "dot", "max", "mean", "min", "nonzero", "partition",
                   "prod", "ptp", "put", "repeat", "round", "searchsorted", "std", "sum", "take", "trace", "var")
# methods that return views (no kernel)
_VIEW_METHODS = ("ravel", "squeeze", "swapaxes", "transpose", "flatten")


def _make_kernel_method(name: str) -> Any:
    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        _check_device(self)
        out = kwargs.get("out")
        r = getattr(self._a, name)(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        if out is not None:
            return out
        return wrap(r, self._dev)

    method.__name__ = name
    return method


def _make_view_method(name: str) -> Any:
    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        r = getattr(self._a, name)(*args, **kwargs)
        return ndarray._new(r, self._dev, r.base is None)

    method.__name__ = name
    return method


for _name in _KERNEL_METHODS:
    setattr(ndarray, _name, _make_kernel_method(_name))
for _name in _VIEW_METHODS:
    setattr(ndarray, _name, _make_view_method(_name))


def _binary(ufunc_name: str, reflected: bool = False) -> Any:
    def op(self: ndarray, other: Any) -> Any:
        from . import _funcs

        if type(other) not in (ndarray, int, float, complex, bool) and not isinstance(other, np.generic):
            if type(other) is not np.ndarray and not isinstance(other, (list, tuple)):
                return NotImplemented
        fn = getattr(_funcs.module(), ufunc_name)
        return fn(other, self) if reflected else fn(self, other)

    return op


def _inplace(ufunc_name: str) -> Any:
    def op(self: ndarray, other: Any) -> Any:
        from . import _funcs

        getattr(_funcs.module(), ufunc_name)(self, other, out=self)
        return self

    return op


def _unary(ufunc_name: str) -> Any:
    def op(self: ndarray) -> Any:
        from . import _funcs

        return getattr(_funcs.module(), ufunc_name)(self)

    return op


for _op, _uf in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                 ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"), ("matmul", "matmul"),
                 ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"), ("lshift", "left_shift"),
                 ("rshift", "right_shift")):
    setattr(ndarray, f"__{_op}__", _binary(_uf))
    setattr(ndarray, f"__r{_op}__", _binary(_uf, True))
    setattr(ndarray, f"__i{_op}__", _inplace(_uf))
for _op, _uf in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                 ("eq", "equal"), ("ne", "not_equal")):
    setattr(ndarray, f"__{_op}__", _binary(_uf))
for _op, _uf in (("neg", "negative"), ("pos", "positive"), ("abs", "absolute"), ("invert", "invert")):
    setattr(ndarray, f"__{_op}__", _unary(_uf))


def _divmod(self: ndarray, other: Any) -> Any:
    from . import _funcs

    return _funcs.module().divmod(self, other)


ndarray.__divmod__ = _divmod  # type: ignore[attr-defined]


class _DLPackCapsule:
    """What ``__dlpack__`` hands out here: only this stand-in's ``from_dlpack`` can open it (a real capsule
    would name device memory that no cpu library can read)."""

    __slots__ = ("array",)

    def __init__(self, array: ndarray) -> None:
        self.array = array


def pointer_view(ptr: int, nbytes: int) -> np.ndarray:
    """The bytes at ``ptr`` (an address handed out as ``ndarray.data.ptr``) as a writable uint8 array."""
    buf = (ctypes.c_uint8 * nbytes).from_address(ptr)
    return np.frombuffer(buf, np.uint8, nbytes)
