"""The ``meta`` backend: arrays with a shape and a dtype but no values (PyTorch's meta device).

A ``MetaArray`` is a numpy array whose strides are all zero over a single element, so a meta array of any
size holds one element of memory. Elementwise ufuncs compute their result's shape and dtype from 0-d
operands (no pass over the data); every other function (matmul, reductions, indexing, the convolution
kernels) runs numpy on the zero-stride views, so it costs the time and the temporary memory of the real
computation on the cpu, and its result is turned back into a zero-stride meta array. Values are never
exposed: ``to_numpy`` and ``item`` raise PyTorch's errors, and an op mixing a meta array with a cpu array of
one or more dimensions raises PyTorch's device-mismatch error.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np

from . import special_numpy
from .base import Backend

_NO_DATA = "Cannot copy out of meta tensor; no data!"
# PyTorch's words for ops whose result shape depends on the values
_NONZERO = ("The register_meta function for torch.nonzero() raises unimplemented by default, as a correct "
            "data-independent implementation does not exist.")
_VALUE_SHAPED = {"unique": "_unique2", "bincount": "bincount", "nonzero": None, "argwhere": None,
                 "flatnonzero": None, "extract": None, "compress": None}


def _refuse_value_shaped(name: str) -> None:
    if name in _VALUE_SHAPED:
        aten = _VALUE_SHAPED[name]
        if aten is None:
            raise NotImplementedError(_NONZERO)
        raise NotImplementedError(f"aten::{aten}: attempted to run this operator with Meta tensors, but there was "
                                  "no fake impl or Meta kernel registered.")


def meta_empty(shape: Any, dtype: Any) -> MetaArray:
    """A meta array of ``shape`` and ``dtype``: zero strides over one element of memory."""
    shape = tuple(int(s) for s in shape)
    one = np.zeros((), dtype)
    return np.lib.stride_tricks.as_strided(one, shape, (0,) * len(shape), writeable=True).view(MetaArray)


def _plain(obj: Any) -> Any:
    """``obj`` with meta arrays seen as plain numpy arrays (recursing into tuples and lists)."""
    if isinstance(obj, MetaArray):
        return obj.view(np.ndarray)
    if isinstance(obj, tuple):
        return tuple(_plain(o) for o in obj)
    if isinstance(obj, list):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _to_meta(obj: Any) -> Any:
    """Results as meta arrays (numpy scalars become 0-d meta arrays)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, MetaArray) and not any(obj.strides):
            return obj
        return meta_empty(np.shape(obj), obj.dtype)
    if isinstance(obj, tuple):
        return tuple(_to_meta(o) for o in obj)
    if isinstance(obj, list):
        return [_to_meta(o) for o in obj]
    return obj


def _check_no_host_arrays(args: Any) -> None:
    """A cpu array of one or more dimensions must not meet a meta array (0-d ones may, as cpu scalars do)."""
    for a in args:
        if isinstance(a, (tuple, list)):
            _check_no_host_arrays(a)
        elif type(a) is np.ndarray and a.ndim > 0:
            raise RuntimeError("Tensor on device cpu is not on the expected device meta!")


def _matmul_shape(sa: tuple, sb: tuple) -> tuple:
    """numpy's matmul result shape (1-d operands promoted and their dimension dropped again)."""
    if not sa or not sb:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    a = sa if len(sa) > 1 else (1, *sa)
    b = sb if len(sb) > 1 else (*sb, 1)
    if a[-1] != b[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {b[-2]} is different from {a[-1]})")
    out = (*np.broadcast_shapes(a[:-2], b[:-2]), a[-2], b[-1])
    if len(sb) == 1:
        out = out[:-1]
    if len(sa) == 1:
        out = out[:-2] + out[-1:] if len(sb) > 1 else out[:-1]
    return out


class MetaArray(np.ndarray):
    """A numpy array without values: every result of an operation on it is a meta array again."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _check_no_host_arrays(inputs)
        out = kwargs.get("out")
        if method == "at":
            return None  # an in-place scatter into an array without values changes nothing
        if method == "__call__" and ufunc is np.matmul and out is None and len(inputs) == 2:  # no product to form
            a, b = (np.zeros((1,) * max(np.ndim(x), 1), np.asarray(x).dtype) for x in inputs)
            return meta_empty(_matmul_shape(np.shape(inputs[0]), np.shape(inputs[1])), np.matmul(a, b).dtype)
        if method == "__call__" and ufunc.signature is None:  # elementwise: shape and dtype from 0-d operands
            shape = np.broadcast_shapes(*(np.shape(a) for a in inputs))
            zeros = [np.zeros((), a.dtype) if isinstance(a, np.ndarray) else a for a in inputs]
            kwargs.pop("where", None)
            if out is not None:  # numpy's checks on the outputs: their shapes, then the casting (on 0-d outputs)
                for o in out:
                    if np.broadcast_shapes(shape, o.shape) != o.shape:
                        raise ValueError(f"non-broadcastable output operand with shape {o.shape} doesn't match the "
                                         f"broadcast shape {shape}")
                kwargs["out"] = tuple(np.zeros((), o.dtype) for o in out)
            with np.errstate(all="ignore"):
                probe = getattr(ufunc, method)(*zeros, **kwargs)
            if out is not None:
                return out[0] if len(out) == 1 else out
            if isinstance(probe, tuple):
                return tuple(meta_empty(shape, np.asarray(p).dtype) for p in probe)
            return meta_empty(shape, np.asarray(probe).dtype)
        if out is not None:
            kwargs["out"] = _plain(out)
        with np.errstate(all="ignore"):
            result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        return out[0] if out is not None and len(out) == 1 else _to_meta(result)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        _refuse_value_shaped(func.__name__)
        _check_no_host_arrays(args)
        _check_no_host_arrays(tuple(kwargs.values()))
        with np.errstate(all="ignore"):
            return _to_meta(func(*_plain(args), **_plain(kwargs)))

    def item(self, *args: Any) -> Any:
        raise RuntimeError("Tensor.item() cannot be called on meta tensors")

    __float__ = __int__ = __complex__ = __index__ = item

    def __bool__(self) -> bool:
        return False  # an op's check on values ("any zero divisor?") finds nothing wrong; Tensor.__bool__ raises

    def nonzero(self) -> Any:
        raise NotImplementedError(_NONZERO)

    def tolist(self) -> Any:
        raise NotImplementedError(_NO_DATA)

    def copy(self, order: str = "C") -> MetaArray:
        return meta_empty(self.shape, self.dtype)

    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> MetaArray:
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return meta_empty(self.shape, dtype)

    def __getitem__(self, key: Any) -> Any:
        keys = key if isinstance(key, tuple) else (key,)
        _check_no_host_arrays(keys)
        if any(isinstance(k, np.ndarray) and k.dtype == np.bool_ and k.ndim for k in keys):
            raise NotImplementedError(_NONZERO)  # a mask's result size is its count of True values
        return _to_meta(self.view(np.ndarray)[_plain(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        _check_no_host_arrays((key if isinstance(key, tuple) else (key,)) + (value,))
        # no values to write; the key and the value's shape must still fit, as numpy checks
        target = meta_empty(self.shape, np.bool_).view(np.ndarray)[_plain(key)]
        try:
            fits = np.broadcast_shapes(np.shape(value), target.shape) == target.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"could not broadcast input array from shape {np.shape(value)} into shape "
                             f"{target.shape}")


def _through_plain(name: str) -> Any:
    """An ndarray method run on the plain view, its result made meta (numpy scalars included)."""
    def method(self: MetaArray, *args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return _to_meta(getattr(self.view(np.ndarray), name)(*_plain(args), **_plain(kwargs)))

    method.__name__ = name
    return method


# methods whose C implementations may hand back numpy scalars or plain arrays without passing a ufunc
for _name in ("all", "any", "argmax", "argmin", "argsort", "clip", "cumprod", "cumsum", "diagonal", "dot", "max",
              "mean", "min", "prod", "ptp", "repeat", "round", "sort", "std", "sum", "take", "trace", "var"):
    if hasattr(np.ndarray, _name):
        setattr(MetaArray, _name, _through_plain(_name))


def _filled(name: str) -> Any:
    """numpy's ``empty``/``zeros``/``ones``/``full`` and their ``_like`` forms, made meta without allocating."""
    like = name.endswith("_like")
    full = name.startswith("full")

    def make(first: Any, *args: Any, dtype: Any = None, shape: Any = None, **kwargs: Any) -> MetaArray:
        fill = args[0] if full else 0
        if full and len(args) > 1:
            dtype = args[1]
        elif not full and args:
            dtype = args[0]
        if like:
            shape = np.shape(first) if shape is None else shape
            dtype = np.asarray(first).dtype if dtype is None else dtype
        else:
            shape = first
        dtype = np.full((), fill, dtype).dtype if full else np.dtype(dtype)  # np.dtype(None) is float64
        return meta_empty((shape,) if isinstance(shape, (int, np.integer)) else shape, dtype)

    make.__name__ = name
    return make


_FILLED = {n: _filled(n) for n in ("empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like",
                                   "full_like")}


class _MetaModule:
    """numpy, except that array-returning functions return meta arrays (``xp`` of the meta backend)."""

    def __init__(self, module: Any = np) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if self._module is np and name in _FILLED:
            return _FILLED[name]
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return _MetaModule(attr)
        if isinstance(attr, (type, np.ufunc)) or not callable(attr):
            return attr  # dtypes, constants; ufuncs already keep meta arrays meta (MetaArray.__array_ufunc__)

        def call(*args: Any, **kwargs: Any) -> Any:
            _refuse_value_shaped(name)
            with np.errstate(all="ignore"):
                return _to_meta(attr(*_plain(args), **_plain(kwargs)))

        call.__name__ = name
        return call


class _MetaRandom(_MetaModule):
    """A numpy ``Generator`` whose draws are meta arrays; ``random``, ``standard_normal`` and any method given
    ``size=`` draw one element to learn the dtype instead of the whole array."""

    _SIZE_FIRST = ("random", "standard_normal")

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._module, name)
        if not callable(method):
            return method

        def draw(*args: Any, **kwargs: Any) -> Any:
            if "size" in kwargs and kwargs["size"] is not None:
                shape = kwargs.pop("size")
            elif name in self._SIZE_FIRST and args:
                shape, args = args[0], args[1:]
            else:
                return _to_meta(method(*_plain(args), **_plain(kwargs)))
            one = method(*_plain(args), size=(), **_plain(kwargs))
            return meta_empty((shape,) if isinstance(shape, int) else shape, np.asarray(one).dtype)

        return draw


def _meta_kernel(host_fn: Any) -> Any:
    def kernel(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return _to_meta(host_fn(*_plain(args)))

    kernel.__name__ = getattr(host_fn, "__name__", "kernel")
    return kernel


class MetaBackend(Backend):
    name = "meta"
    device_type = "meta"
    array_types = (MetaArray,)
    has_data = False

    def __init__(self) -> None:
        super().__init__()
        self._xp = _MetaModule()
        # the special functions are numpy code: run them on the zero-stride views, not through to_numpy
        self.kernels.update({k: _meta_kernel(f) for k, f in special_numpy.kernel_table().items()})

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, obj: Any, dtype: Any = None, device_index: int | None = None, copy: bool = False) -> Any:
        if device_index not in (None, 0):
            raise RuntimeError(f"meta has a single device, got index {device_index}")
        if isinstance(obj, MetaArray):
            return obj if dtype is None or np.dtype(dtype) == obj.dtype else meta_empty(obj.shape, dtype)
        if hasattr(obj, "__cuda_array_interface__") and hasattr(obj, "shape"):
            return meta_empty(obj.shape, obj.dtype if dtype is None else dtype)  # no need to read device memory
        arr = np.asarray(obj, dtype=dtype)
        return meta_empty(arr.shape, arr.dtype)

    def to_numpy(self, arr: Any) -> Any:
        raise NotImplementedError(_NO_DATA)

    def element_strides(self, arr: Any) -> tuple[int, ...]:
        """The strides PyTorch reports for a meta tensor: contiguous ones (the zero strides are an implementation
        detail)."""
        strides, step = [], 1
        for size in reversed(arr.shape):
            strides.append(step)
            step *= max(int(size), 1)
        return tuple(reversed(strides))

    def generator(self, seed: int) -> Any:
        return _MetaRandom(np.random.Generator(np.random.PCG64(seed)))

    def generator_state(self, rng: Any) -> Any:
        return rng._module.bit_generator.state

    def set_generator_state(self, rng: Any, state: Any) -> None:
        rng._module.bit_generator.state = state
