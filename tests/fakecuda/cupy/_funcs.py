"""The stand-in's routines: numpy's, run on the unwrapped arrays, for the names cupy has (a whitelist: any
other name is an AttributeError, as on cupy), with cupy's differences where cupy documents them."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._core import _check_device, _check_kind, _DLPackCapsule, call, current_device, host_to_device, ndarray, unwrap


def module() -> Any:
    return sys.modules["cupy"]


# cupy docs, "Universal functions (cupy.ufunc)", Methods: reduce and accumulate for add and multiply only,
# reduceat for add, outer for all, at for add, subtract, maximum, minimum, bitwise_and, bitwise_or, bitwise_xor.
_REDUCE = {"add", "multiply"}
_REDUCEAT = {"add"}
_AT = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}


class ufunc:
    """A cupy ufunc: numpy's, on device arrays only; the methods cupy lacks raise NotImplementedError."""

    def __init__(self, np_ufunc: Any) -> None:
        self._np = np_ufunc
        self.__name__ = self.name = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        r = call(self._np, args, kwargs)
        if out is not None and type(out) is tuple and len(out) == 1:
            return out[0]
        return r

    def _unsupported(self, method: str) -> None:
        raise NotImplementedError(f"`{self.name}.{method}` is not supported yet")

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        if self.name not in _REDUCE:
            self._unsupported("reduce")
        return call(self._np.reduce, args, kwargs)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        if self.name not in _REDUCE:
            self._unsupported("accumulate")
        return call(self._np.accumulate, args, kwargs)

    def reduceat(self, *args: Any, **kwargs: Any) -> Any:
        if self.name not in _REDUCEAT:
            self._unsupported("reduceat")
        return call(self._np.reduceat, args, kwargs)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return call(self._np.outer, args, kwargs)

    def at(self, a: Any, indices: Any, b: Any = None) -> None:
        if self.name not in _AT:
            self._unsupported("at")
        if type(a) is not ndarray:
            raise TypeError(f"Unsupported type {type(a)}")
        args = (a, indices) if b is None else (a, indices, b)
        call(self._np.at, args, {})


# -- creation: these accept host data (numpy arrays, lists) and copy it to the current device ----------------
_SUPPORTED_CHARS = set("?bBhHiIlLqQefdFD")


def _check_dtype(a: np.ndarray) -> np.ndarray:
    if a.dtype.char not in _SUPPORTED_CHARS:
        raise ValueError(f"Unsupported dtype {a.dtype}")
    return a


def _host(obj: Any) -> Any:
    """``obj`` with every stand-in array replaced by its data (copied across devices as cupy does)."""
    if type(obj) is ndarray:
        return obj._a
    if type(obj) in (list, tuple):
        return type(obj)(_host(v) for v in obj)
    if hasattr(obj, "__cuda_array_interface__") and type(obj) is not np.ndarray:
        iface = obj.__cuda_array_interface__
        return _from_interface(iface)
    return obj


def _from_interface(iface: dict) -> np.ndarray:
    """The memory an object's ``__cuda_array_interface__`` describes (addresses here are host addresses)."""
    from ._core import pointer_view

    dtype = np.dtype(iface["typestr"])
    shape = tuple(iface["shape"])
    strides = iface.get("strides")
    n = int(np.prod(shape)) if shape else 1
    if strides is None:
        return pointer_view(iface["data"][0], n * dtype.itemsize).view(dtype).reshape(shape)
    span = sum((s - 1) * st for s, st in zip(shape, strides)) + dtype.itemsize if n else dtype.itemsize
    span = -(-span // dtype.itemsize) * dtype.itemsize
    base = pointer_view(iface["data"][0], span).view(dtype)
    return np.lib.stride_tricks.as_strided(base, shape, strides)


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0) -> ndarray:
    src = _host(obj)
    if type(obj) is not ndarray and not hasattr(obj, "__cuda_array_interface__"):
        host_to_device()
    a = np.array(src, dtype=dtype, copy=True if copy else None, order=order, ndmin=ndmin)
    if type(obj) is ndarray and obj._dev == current_device() and not copy and a is obj._a:
        return obj
    return ndarray._new(_check_dtype(a), current_device(), True)


def asarray(a: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
    if type(a) is ndarray and a._dev == current_device():
        if dtype is None or np.dtype(dtype) == a.dtype:
            return a
        return a.astype(dtype)
    return array(a, dtype=dtype, copy=False, order=order or "K")


asanyarray = asarray


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    if type(a) is ndarray:
        _check_device(a)
        r = np.ascontiguousarray(a._a, dtype=dtype)
        return a if r is a._a else ndarray._new(r, a._dev, True)
    return array(a, dtype=dtype, order="C")


def asfortranarray(a: Any, dtype: Any = None) -> ndarray:
    if type(a) is ndarray:
        _check_device(a)
        r = np.asfortranarray(a._a, dtype=dtype)
        return a if r is a._a else ndarray._new(r, a._dev, True)
    return array(a, dtype=dtype, order="F")


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
    if type(a) is ndarray:
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    if hasattr(a, "__cuda_array_interface__"):
        return asnumpy(asarray(a), stream, order, out, blocking)
    r = np.asarray(a, order=order)
    if out is not None:
        out[...] = r
        return out
    return r


def get_array_module(*args: Any) -> Any:
    for a in args:
        if type(a) is ndarray:
            return module()
    return np


def from_dlpack(x: Any, *, device: Any = None, copy: Any = None) -> ndarray:
    """Only this stand-in's arrays (capsules) are read: cupy refuses host memory (``kDLCPU``)."""
    if isinstance(x, _DLPackCapsule):
        return x.array._view(x.array._a)
    if type(x) is ndarray:
        return x._view(x._a)
    dev = getattr(x, "__dlpack_device__", None)
    if dev is not None and dev()[0] != 2:
        raise RuntimeError("CuPy currently does not support CPU arrays via DLPack (device type "
                           f"{dev()[0]}); copy to the host with numpy instead")
    if dev is not None:
        return from_dlpack(x.__dlpack__())
    raise TypeError(f"{type(x)} is not a DLPack exporter this stand-in can read")


fromDlpack = from_dlpack


def _creator(name: str) -> Any:
    fn = getattr(np, name)

    def create(*args: Any, **kwargs: Any) -> ndarray:
        kwargs.pop("order", None) if name in ("arange", "linspace", "eye", "identity", "tri") else None
        uargs = tuple(a._a if type(a) is ndarray else a for a in args)
        if any(type(a) is np.ndarray for a in uargs):
            raise TypeError(f"Unsupported type {np.ndarray}")
        r = fn(*uargs, **{k: (v._a if type(v) is ndarray else v) for k, v in kwargs.items()})
        return ndarray._new(_check_dtype(np.asarray(r)), current_device(), True)

    create.__name__ = name
    return create


def _like(name: str) -> Any:
    fn = getattr(np, name)

    def create(a: Any, *args: Any, **kwargs: Any) -> ndarray:
        if type(a) is not ndarray:
            a = asarray(a)
        kwargs.pop("subok", None)
        r = fn(a._a, *args, **kwargs)
        return ndarray._new(np.asarray(r), current_device(), True)

    create.__name__ = name
    return create


def _routine(name: str, np_fn: Any) -> Any:
    def routine(*args: Any, **kwargs: Any) -> Any:
        return call(np_fn, args, kwargs)

    routine.__name__ = name
    return routine


def _view_routine(name: str, np_fn: Any) -> Any:
    """Routines that only make views (no kernel): no device check; the result stays on its input's device."""

    def routine(a: Any, *args: Any, **kwargs: Any) -> Any:
        if type(a) is np.ndarray:
            raise TypeError(f"Unsupported type {np.ndarray}")
        dev = a._dev if type(a) is ndarray else (a[0]._dev if type(a) in (list, tuple) and a
                                                 and type(a[0]) is ndarray else current_device())

        def raw(x: Any) -> Any:
            if type(x) is ndarray:
                return x._a
            if type(x) in (list, tuple):
                return type(x)(raw(v) for v in x)
            if type(x) is np.ndarray:
                raise TypeError(f"Unsupported type {np.ndarray}")
            return x

        r = np_fn(raw(a), *args, **kwargs)
        return _wrap_views(r, dev)

    routine.__name__ = name
    return routine


def _wrap_views(r: Any, dev: int) -> Any:
    if type(r) is np.ndarray:
        return ndarray._new(r, dev, r.base is None)
    if type(r) in (list, tuple):
        return type(r)(_wrap_views(v, dev) for v in r)
    return r


def argsort(a: Any, axis: int = -1, kind: Any = None) -> ndarray:
    _check_kind(kind)
    return call(np.argsort, (a,), {"axis": axis, "kind": "stable"})


def sort(a: Any, axis: int = -1, kind: Any = None) -> ndarray:
    _check_kind(kind)
    return call(np.sort, (a,), {"axis": axis, "kind": "stable"})


def copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = None) -> None:
    if type(dst) is not ndarray:
        raise TypeError(f"dst must be cupy.ndarray, not {type(dst)}")
    kwargs = {"casting": casting} if where is None else {"casting": casting, "where": where}
    call(np.copyto, (dst, src), kwargs)


def shape(a: Any) -> tuple:
    return a.shape if type(a) is ndarray else np.shape(unwrap(a))


def ndim(a: Any) -> int:
    return a.ndim if type(a) is ndarray else np.ndim(unwrap(a))


def size(a: Any, axis: Any = None) -> int:
    return a.size if type(a) is ndarray and axis is None else np.size(unwrap(a), axis)


def may_share_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    return bool(np.may_share_memory(a._a, b._a))


def shares_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    return bool(np.shares_memory(a._a, b._a))


def get_default_memory_pool() -> Any:
    from .cuda import _MEMORY_POOL

    return _MEMORY_POOL


def get_default_pinned_memory_pool() -> Any:
    from .cuda import _PINNED_POOL

    return _PINNED_POOL


def is_available() -> bool:
    return True


def fuse(*args: Any, **kwargs: Any) -> Any:
    """``cupy.fuse``: here the plain function (the arrays it is called on are stand-in arrays)."""
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return args[0]
    return lambda f: f


# cupy's main namespace (cupy docs, "API reference": routines), numpy's objects where cupy re-exports them
_NUMPY_OBJECTS = """
bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64 complex128 intp uintp
byte ubyte short ushort intc uintc int_ uint longlong ulonglong half single double csingle cdouble
number integer floating complexfloating signedinteger unsignedinteger inexact generic dtype finfo iinfo
can_cast common_type promote_types result_type min_scalar_type issubdtype isscalar
inf nan pi e newaxis euler_gamma binary_repr base_repr ndindex s_ index_exp
""".split()

_UFUNCS = """
add subtract multiply divide true_divide floor_divide negative positive power float_power remainder mod fmod divmod
absolute fabs rint sign heaviside conjugate conj exp exp2 log log2 log10 expm1 log1p sqrt square cbrt reciprocal
gcd lcm sin cos tan arcsin arccos arctan arctan2 hypot sinh cosh tanh arcsinh arccosh arctanh degrees radians
deg2rad rad2deg bitwise_and bitwise_or bitwise_xor invert left_shift right_shift greater greater_equal less
less_equal not_equal equal logical_and logical_or logical_xor logical_not maximum minimum fmax fmin isfinite isinf
isnan signbit copysign nextafter modf ldexp frexp floor ceil trunc logaddexp logaddexp2 matmul
""".split()

_CREATORS = "empty zeros ones full arange linspace logspace eye identity tri".split()
_LIKES = "empty_like zeros_like ones_like full_like".split()

_VIEWS = """
reshape ravel transpose swapaxes moveaxis rollaxis squeeze expand_dims broadcast_to broadcast_arrays atleast_1d
atleast_2d atleast_3d split array_split hsplit vsplit dsplit flip fliplr flipud diagonal real imag
""".split()

_ROUTINES = """
copy diag diagflat tril triu vander meshgrid concatenate stack column_stack dstack hstack vstack tile repeat append
resize trim_zeros unique roll rot90 require select nonzero where indices ix_ ravel_multi_index unravel_index
diag_indices diag_indices_from mask_indices tril_indices tril_indices_from triu_indices triu_indices_from take
take_along_axis put_along_axis choose compress extract place put putmask fill_diagonal all any isneginf isposinf
iscomplex iscomplexobj isfortran isreal isrealobj allclose isclose array_equal array_equiv in1d isin intersect1d
setdiff1d union1d setxor1d around round fix prod sum nanprod nansum cumprod cumsum nancumprod nancumsum diff
ediff1d gradient cross trapz i0 sinc angle convolve clip nan_to_num real_if_close interp lexsort msort
sort_complex partition argpartition argmax nanargmax argmin nanargmin argwhere flatnonzero searchsorted
count_nonzero amin amax min max nanmin nanmax ptp percentile quantile median average mean std var nanmedian nanmean
nanstd nanvar corrcoef correlate cov histogram histogram2d histogramdd bincount digitize dot vdot inner outer
tensordot einsum kron trace packbits unpackbits apply_along_axis piecewise asarray_chkfinite
""".split()

_OWN = {"array": array, "asarray": asarray, "asanyarray": asanyarray, "ascontiguousarray": ascontiguousarray,
        "asfortranarray": asfortranarray, "asnumpy": asnumpy, "get_array_module": get_array_module,
        "from_dlpack": from_dlpack, "fromDlpack": fromDlpack, "argsort": argsort, "sort": sort, "copyto": copyto,
        "shape": shape, "ndim": ndim, "size": size, "may_share_memory": may_share_memory,
        "shares_memory": shares_memory, "get_default_memory_pool": get_default_memory_pool,
        "get_default_pinned_memory_pool": get_default_pinned_memory_pool, "is_available": is_available,
        "fuse": fuse, "ndarray": ndarray, "ufunc": ufunc}


def namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {name: getattr(np, name) for name in _NUMPY_OBJECTS}
    for name in _UFUNCS:
        ns[name] = ufunc(getattr(np, name))
    ns["abs"] = ns["absolute"]
    ns["bitwise_not"] = ns["invert"]
    for name in _CREATORS:
        ns[name] = _creator(name)
    for name in _LIKES:
        ns[name] = _like(name)
    for name in _VIEWS:
        ns[name] = _view_routine(name, getattr(np, name))
    for name in _ROUTINES:
        np_fn = getattr(np, name, None)
        if np_fn is None:  # removed from this numpy (msort, trapz, in1d...): keep cupy's name over numpy's heir
            np_fn = {"msort": lambda a: np.sort(a, axis=0), "trapz": np.trapezoid, "in1d": np.isin,
                     "round_": np.round}.get(name)
            if np_fn is None:
                continue
        ns[name] = _routine(name, np_fn)
    ns.update(_OWN)
    return ns
