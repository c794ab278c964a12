"""Creating tensors and moving them between dtypes and devices."""
from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._device import default_state, to_device
from disttorch._layouts import (
    contiguous_format,
    dim_order_of,
    in_order,
    is_contiguous_as,
    like_order,
    preserve_format,
    suggested_format,
)
from disttorch._oom import raise_if_cupy_oom
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module as _array_module
from disttorch.backends import backend_for_array, get_backend
from disttorch.backends.float8 import (
    cast,
    check_scalar_fits,
    involves_float8,
    is_float8,
    refuse_on_device,
    to_float8,
)

from ._register import methods
from ._util import normalize_shape

_from_array = Tensor._from_array
_CPU = get_backend("cpu")

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "eye", "arange", "range_",
    "linspace", "logspace", "zeros_like", "ones_like", "full_like", "empty_like", "clone", "scalar_tensor",
    "complex", "empty_strided",
]


def _backend_and_index(device: Any) -> tuple[Any, int | None]:
    if device is None:
        device = default_state.device  # None: cpu
        if device is None:
            return _CPU, None
    dev = to_device(device)
    return get_backend(dev.type), dev.index


def _infer_np_dtype(data: Any, arr: np.ndarray) -> Any:
    """PyTorch's inference: Python floats -> default dtype, ints -> int64; numpy keeps its dtype."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return arr.dtype
    kind = arr.dtype.kind
    if kind == "f":
        return D.get_default_dtype().np
    if kind == "c":
        return D.complex128.np if D.get_default_dtype() is D.float64 else D.complex64.np
    if kind in "iu":
        return np.int64
    if kind == "b":
        return np.bool_
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


_NUMPY_TYPES = ("float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, uint32, "
                "uint16, uint8, and bool")


def _host_array(data: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.__array__()
    if isinstance(data, np.ndarray):
        if data.dtype not in D.from_np:
            raise TypeError(f"can't convert np.ndarray of type numpy.{data.dtype.type.__name__}. The only "
                            f"supported types are: {_NUMPY_TYPES}.")
        return data
    if isinstance(data, (list, tuple)) and data and any(isinstance(x, Tensor) for x in _flat_first(data)):
        return np.asarray([_host_array(x) for x in data])
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError):
        _check_sequence(data, _first_sizes(data), 0)
        raise
    if arr.dtype.kind in "OUSV" and arr.dtype not in D.from_np:
        _check_sequence(data, _first_sizes(data), 0)
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    return arr


def _first_sizes(data: Any) -> list[int]:
    sizes = []
    while isinstance(data, (list, tuple)):
        sizes.append(len(data))
        if not data:
            break
        data = data[0]
    return sizes


def _check_sequence(data: Any, sizes: list[int], dim: int) -> None:
    """Raise PyTorch's error for a ragged nested list or an element that is not a number."""
    if dim == len(sizes):
        if isinstance(data, (list, tuple)):
            raise TypeError(f"'{type(data).__name__}' object cannot be interpreted as an integer")
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if not isinstance(data, (bool, int, float, builtins.complex, np.generic)):
            raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
        return
    if not isinstance(data, (list, tuple)):
        raise TypeError("not a sequence")
    if len(data) != sizes[dim]:
        raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(data)})")
    for item in data:
        _check_sequence(item, sizes, dim + 1)


def _leaf(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._requires_grad = True
    return t


def _flat_first(data: Any) -> list:
    return list(data[:1]) if isinstance(data, (list, tuple)) else [data]


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, numpy arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "or sourceTensor.clone().detach().requires_grad_(True), rather than torch.tensor("
                      "sourceTensor).", UserWarning, stacklevel=2)
        if device is None:
            device = data.device
        host = data._data
    elif _is_backend_array(data):  # a device array (cupy's): copied
        return _leaf(as_tensor(data, dtype=dtype, device=device).clone(), requires_grad)
    else:
        host = _host_array(data)
    np_dtype = D.to_dtype(dtype).np if dtype is not None else (
        host.dtype if isinstance(data, Tensor) else _infer_np_dtype(data, host))
    backend, index = _backend_and_index(device)
    arr = backend.asarray(host, dtype=np_dtype, device_index=index, copy=True)
    return _leaf(_from_array(arr), requires_grad)


def _is_backend_array(data: Any) -> bool:
    """Whether ``data`` is an array of a device backend (cupy's ndarray...), not a host array or a sequence."""
    if type(data) is np.ndarray or not hasattr(data, "__cuda_array_interface__"):
        return False
    try:
        backend_for_array(data)
    except TypeError:
        return False
    return True


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like tensor(), but shares memory with a numpy array or tensor when dtype and device allow."""
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = data.to(device=device, dtype=dtype)
        return out
    if _is_backend_array(data):  # a device array (cupy's): shared, as PyTorch shares it
        out = _from_array(data)
        return out.to(device=device, dtype=dtype) if dtype is not None or device is not None else out
    if isinstance(data, np.ndarray) and data.dtype in D.from_np:
        backend, index = _backend_and_index(device)
        np_dtype = D.to_dtype(dtype).np if dtype is not None else None
        return _from_array(backend.asarray(data, dtype=np_dtype, device_index=index))
    return tensor(data, dtype=dtype, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype=dtype, device=device)
    return _leaf(t, requires_grad)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (writes through either are seen by both)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    if arr.dtype not in D.from_np:
        raise TypeError(f"can't convert np.ndarray of type numpy.{arr.dtype.type.__name__}. The only supported "
                        f"types are: {_NUMPY_TYPES}.")
    return _from_array(arr)


def _on(backend: Any, index: int | None) -> Any:
    """The context that makes new arrays land on device ``index`` of ``backend``."""
    return backend.device_guard(index)


def _check_sizes(shape: tuple, what: str | None = None) -> None:
    for s in shape:
        if s < 0:
            if what is not None:
                raise RuntimeError(f"{what}: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")


def _factory(fill: Any, shape: tuple, dtype: Any, device: Any, requires_grad: bool, default: Any = None) -> Tensor:
    backend, index = _backend_and_index(device)
    dt = D.to_dtype(dtype) if dtype is not None else (default or D.get_default_dtype())
    if shape and min(shape) < 0:
        _check_sizes(shape)
    try:
        with _on(backend, index):
            arr = _fill(backend.xp, fill, shape, dt)
    except MemoryError as exc:  # cupy's OutOfMemoryError: PyTorch's
        raise_if_cupy_oom(exc)
        raise
    return _leaf(_from_array(arr), requires_grad)


def _fill(xp: Any, fill: Any, shape: tuple, dt: D.dtype) -> Any:
    if dt.itemsize == 1 and dt in D.FLOAT8:
        if xp is not np:
            refuse_on_device(dt.np)
        if fill is not None and not (fill == 0 and type(fill) is int):  # zeros: all bits 0, as PyTorch's
            # PyTorch's check and rounding of the value
            check_scalar_fits(fill, dt.np, D._SCALAR_NAMES[dt])
            fill = to_float8(np.asarray(fill), dt.np)
    if fill is None:
        return xp.empty(shape, dt.np)
    if fill == 0:
        return xp.zeros(shape, dt.np)
    return xp.full(shape, fill, dt.np)


def _sizes(name: str, positional: tuple, size: Any) -> tuple:
    """The sizes of a factory given as ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    if size is None:
        return positional
    if positional:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return (size,)


def _into(result: Tensor, out: Any) -> Tensor:
    """``out=``: the factory's result written into ``out`` (resized as PyTorch does)."""
    if out is None:
        return result
    from ._register import write_out

    return write_out(result, out)


def zeros(*sizes: Any, size: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    shape = normalize_shape(_sizes("zeros", sizes, size))
    if shape and min(shape) < 0:
        _check_sizes(shape, "zeros")
    return _into(_factory(0, shape, dtype, device, requires_grad), out)


def ones(*sizes: Any, size: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    return _into(_factory(1, normalize_shape(_sizes("ones", sizes, size)), dtype, device, requires_grad), out)


def empty(*sizes: Any, size: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, layout: Any = None, pin_memory: bool = False,
          memory_format: Any = None) -> Tensor:
    return _into(_factory(None, normalize_shape(_sizes("empty", sizes, size)), dtype, device, requires_grad), out)


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, device: Any = None, layout: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with exactly these (element) strides, on its own memory."""
    shape, strides = normalize_shape((size,)), tuple(int(s) for s in stride)
    if len(shape) != len(strides):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
                           f"({len(strides)})")
    if any(s < 0 for s in strides):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(strides)}")
    span = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    flat = _factory(None, (span,), dtype, device, False)._data
    item = flat.dtype.itemsize
    bits = flat.view("u1") if is_float8(flat.dtype) else flat  # numpy cannot parse float8's type string
    arr = _array_module(flat).lib.stride_tricks.as_strided(bits, shape, tuple(s * item for s in strides))
    arr = arr.view(flat.dtype) if bits is not flat else arr
    return _leaf(_from_array(arr), requires_grad)


def full(size: Any, fill_value: Any, *, out: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    default = D.scalar_dtype(fill_value) if dtype is None else None
    return _into(_factory(fill_value, normalize_shape((size,)), dtype, device, requires_grad, default), out)


def scalar_tensor(value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return full((), value, dtype=dtype or D.get_default_dtype(), device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, out: Any = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    backend, index = _backend_and_index(device)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    with _on(backend, index):
        t = _from_array(backend.xp.eye(n, m, dtype=dt.np))
    return _into(_leaf(t, requires_grad), out)


def arange(start: Any, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dt = D.get_default_dtype() if any(isinstance(v, float) for v in vals) else D.int64
    else:
        dt = D.to_dtype(dtype)
    if not dt.is_floating_point:  # PyTorch truncates the bounds and step to the integer type first
        vals = [int(v) for v in vals]
        if vals[2] == 0:
            raise ValueError("step must be nonzero")
    lo, hi, step = vals
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"unsupported range: {lo} -> {hi}")
    if (step > 0 and hi < lo) or (step < 0 and hi > lo):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    backend, index = _backend_and_index(device)
    n = max(0, math.ceil((hi - lo) / step))
    # computed as start + i * step like PyTorch (not by repeated addition)
    with _on(backend, index):
        arr = backend.xp.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64) * step + lo
        t = _from_array(arr.astype(dt.np, copy=False))
    return _into(_leaf(t, requires_grad), out)


def range_(start: Any, end: Any, step: Any = 1, *, dtype: Any = None, device: Any = None) -> Tensor:
    """torch.range (deprecated in PyTorch): includes ``end``."""
    n = int(math.floor((end - start) / step)) + 1
    return arange(0, n, dtype=D.float64, device=device).mul(step).add(start).to(dtype or D.get_default_dtype())


def linspace(start: Any, end: Any, steps: int, *, out: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    backend, index = _backend_and_index(device)
    xp = backend.xp
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if dt.category <= D.INT:  # PyTorch converts the bounds to the integer type first
        start, end = int(start), int(end)
    with _on(backend, index):
        return _into(_leaf(_from_array(_linspace(xp, start, end, steps).astype(dt.np)), requires_grad), out)


def _linspace(xp: Any, start: Any, end: Any, steps: int) -> Any:
    if steps == 1:
        arr = xp.asarray([start], dtype=np.float64)
    else:
        # PyTorch fills the first half from start and the second half from end
        i = xp.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1)
        half = steps // 2
        arr = xp.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return arr


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, out: Any = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    exps = linspace(start, end, steps, dtype=D.float64, device=device)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = _from_array((base ** exps._data).astype(dt.np))
    return _into(_leaf(t, requires_grad), out)


def _like(fill: Any, input: Tensor, dtype: Any, device: Any, requires_grad: bool, memory_format: Any = None,
          ) -> Tensor:
    dt = dtype if dtype is not None else input.dtype
    dev = device if device is not None else input.device
    out = _factory(fill, tuple(input.shape), dt, dev, requires_grad)
    if input._data.flags.c_contiguous and (memory_format is None or memory_format is preserve_format):
        return out
    order = like_order(input._data, memory_format)
    if order is not None:
        out._data = in_order(out._data, order, _array_module(out._data))
    return out


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(0, input, dtype, device, requires_grad, memory_format)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(1, input, dtype, device, requires_grad, memory_format)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(None, input, dtype, device, requires_grad, memory_format)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(fill_value, input, dtype, device, requires_grad, memory_format)


def complex(real: Tensor, imag: Tensor) -> Tensor:
    return real + imag * 1j


# -- dtype / device conversion (differentiable) -----------------------------------------------------
class ToCopy(Op):
    """Cast (and/or move); the gradient is cast back to the input's dtype and device."""

    def forward(self, x: Any) -> Any:
        self.src_dtype = x.dtype
        self.src_backend = backend_for_array(x)
        self.src_index = self.src_backend.device_index(x)
        fresh = False
        if self.np_dtype is not None and x.dtype != self.np_dtype:
            # cast on the source device (current here), then move; float8 with PyTorch's rounding
            if involves_float8(x.dtype, self.np_dtype):
                if type(x) is not np.ndarray:
                    refuse_on_device(self.np_dtype if is_float8(np.dtype(self.np_dtype)) else x.dtype)
                x, fresh = cast(x, self.np_dtype), True
            else:
                x, fresh = x.astype(self.np_dtype), True
        if self.backend is not None and (self.backend is not self.src_backend or self.index != self.src_index):
            if not self.src_backend.has_data:
                self.src_backend.to_numpy(x)  # raises the backend's error (meta: "Cannot copy out of meta tensor")
            x, fresh = self.backend.asarray(x, device_index=self.index, copy=False), True
        return x.copy() if self.copy and not fresh else x

    def backward(self, grad: Tensor) -> Tensor:
        back = grad
        if self.backend is not None and (self.backend is not self.src_backend or self.index != self.src_index):
            # back to the source device, index included (cuda:1 -> cuda:0 gives a gradient on cuda:1)
            back = ToCopy.apply(back, backend=self.src_backend, index=self.src_index, np_dtype=None, copy=False)
        if back._data.dtype.kind == "c" and self.src_dtype.kind != "c":
            back = back.real  # the gradient of a real-to-complex cast is the real part (no discard warning)
        if back._data.dtype != self.src_dtype:
            back = ToCopy.apply(back, backend=None, index=None, np_dtype=self.src_dtype, copy=False)
        return back

    def name(self) -> str:
        return "ToCopyBackward0"


def to_dtype_op(t: Tensor, dt: D.dtype) -> Tensor:
    return ToCopy.apply(t, backend=None, index=None, np_dtype=dt.np, copy=False)


def _parse_to_args(args: tuple, kwargs: dict) -> tuple[Any, Any, bool]:
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, D.dtype) or (isinstance(a, type) and a in (float, int, bool)):
            dtype = a
        elif isinstance(a, bool):
            copy = copy or False  # non_blocking positional
        elif a is not None:
            device = a
    return device, dtype, copy


def tensor_to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    fmt = kwargs.get("memory_format")
    if fmt is not None and fmt is not preserve_format:
        kwargs = {k: v for k, v in kwargs.items() if k != "memory_format"}
        moved = tensor_to(self, *args, **kwargs)
        if moved is self and suggested_format(self._data) is fmt:  # nothing to change: PyTorch aliases too
            return self
        if is_contiguous_as(moved._data, fmt):
            return moved
        return Clone.apply(moved, order=dim_order_of(fmt, moved._data.shape))
    device, dtype, copy = _parse_to_args(args, dict(kwargs))
    np_dtype = D.to_dtype(dtype).np if dtype is not None else None
    backend = index = None
    if device is not None:
        dev = to_device(device)
        backend = get_backend(dev.type)
        index = dev.index
        if backend.device_type == "cuda" and index is None:
            index = backend.current_device()
        src = backend_for_array(self._data)
        if src is backend and (index is None or src.device_index(self._data) == index):
            backend = None
    if backend is None and (np_dtype is None or np_dtype == self._data.dtype):
        return self.clone() if copy else self
    return ToCopy.apply(self, backend=backend, index=index, np_dtype=np_dtype, copy=copy)


class Clone(Op):
    """A copy laid out in memory in dim ``order`` (None: row-major)."""

    def forward(self, x: Any) -> Any:
        if self.order is None:
            return x.copy()
        inverse = sorted(range(x.ndim), key=self.order.__getitem__)
        return x.transpose(self.order).copy().transpose(inverse)

    def backward(self, grad: Tensor) -> Tensor:
        return grad


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy; by default (``torch.preserve_format``) with ``input``'s strides when it is dense."""
    return Clone.apply(input, order=like_order(input._data, memory_format))


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    if memory_format is None or memory_format is contiguous_format:
        if self._data.flags.c_contiguous:
            return self
        return Clone.apply(self, order=None)
    if memory_format is preserve_format:
        if self._data.flags.c_contiguous:
            return self
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    if is_contiguous_as(self._data, memory_format):
        return self
    return Clone.apply(self, order=dim_order_of(memory_format, self._data.shape))


def _rebuild_tensor(arr: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    return tensor(arr, device=device, requires_grad=requires_grad)


def _rebuild_subclass(cls: type, arr: np.ndarray, device: str, requires_grad: bool, state: dict | None) -> Tensor:
    """A pickled Tensor subclass instance: its values, its type, its Python attributes."""
    out = Tensor._make_subclass(cls, tensor(arr, device=device), requires_grad)
    if state:
        out.__dict__.update(state)
    return out


def new_tensor(self: Tensor, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_factory(fill: Any) -> Any:
    def method(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               **_: Any) -> Tensor:
        shape = normalize_shape(size)
        return _factory(fill, shape, dtype or self.dtype, device or self.device, requires_grad)

    return method


def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _factory(fill_value, normalize_shape((size,)), dtype or self.dtype, device or self.device, requires_grad)


def get_device(self: Tensor) -> int:
    """The device index of a tensor, -1 for cpu."""
    dev = self.device
    return -1 if dev.type == "cpu" else (dev.index or 0)


def _cast_method(name: str, dt: D.dtype) -> Any:
    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        return self.to(dt)

    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"``self.to({dt})``"
    return cast


methods({name: _cast_method(name, dt) for name, dt in (
    ("float", D.float32), ("double", D.float64), ("half", D.float16), ("bfloat16", D.bfloat16), ("long", D.int64),
    ("int", D.int32), ("short", D.int16), ("char", D.int8), ("byte", D.uint8), ("bool", D.bool_))})
methods({"get_device": get_device, "clone": clone, "contiguous": contiguous, "new_tensor": new_tensor,
         "new_zeros": _new_factory(0), "new_ones": _new_factory(1), "new_empty": _new_factory(None),
         "new_full": new_full})
