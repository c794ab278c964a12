"""Creating tensors and moving them between dtypes and devices."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._device import to_device
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import backend_for_array, get_backend

from ._util import attach, normalize_shape

_from_array = Tensor._from_array

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "eye", "arange", "range_",
    "linspace", "logspace", "zeros_like", "ones_like", "full_like", "empty_like", "clone", "scalar_tensor",
    "complex", "empty_strided",
]


def _backend_and_index(device: Any) -> tuple[Any, int | None]:
    if device is None:
        return get_backend("cpu"), None
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


def _host_array(data: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.__array__()
    if isinstance(data, (list, tuple)) and data and any(isinstance(x, Tensor) for x in _flat_first(data)):
        return np.asarray([_host_array(x) for x in data])
    arr = np.asarray(data)
    if arr.dtype == object:
        raise TypeError(f"can't convert {type(data).__name__} with mixed or non-numeric elements to a tensor")
    return arr


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
    else:
        host = _host_array(data)
    np_dtype = D.to_dtype(dtype).np if dtype is not None else (
        host.dtype if isinstance(data, Tensor) else _infer_np_dtype(data, host))
    backend, index = _backend_and_index(device)
    arr = backend.asarray(host, dtype=np_dtype, device_index=index, copy=True)
    t = _from_array(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like tensor(), but shares memory with a numpy array or tensor when dtype and device allow."""
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = data.to(device=device, dtype=dtype)
        return out
    if isinstance(data, np.ndarray) and data.dtype in D.from_np:
        backend, index = _backend_and_index(device)
        np_dtype = D.to_dtype(dtype).np if dtype is not None else None
        return _from_array(backend.asarray(data, dtype=np_dtype, device_index=index))
    return tensor(data, dtype=dtype, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype=dtype, device=device)
    return t.requires_grad_(True) if requires_grad else t


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (writes through either are seen by both)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    if arr.dtype not in D.from_np:
        raise TypeError(f"can't convert np.ndarray of type numpy.{arr.dtype}. The only supported types are: "
                        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, "
                        "and bool.")
    return _from_array(arr)


def _factory(fill: Any, shape: tuple, dtype: Any, device: Any, requires_grad: bool, default: Any = None) -> Tensor:
    backend, index = _backend_and_index(device)
    dt = D.to_dtype(dtype) if dtype is not None else (default or D.get_default_dtype())
    xp = backend.xp
    if index is not None and backend.device_type != "cpu":
        with xp.cuda.Device(index):
            arr = _fill(xp, fill, shape, dt)
    else:
        arr = _fill(xp, fill, shape, dt)
    t = _from_array(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _fill(xp: Any, fill: Any, shape: tuple, dt: D.dtype) -> Any:
    if fill is None:
        return xp.empty(shape, dt.np)
    if fill == 0:
        return xp.zeros(shape, dt.np)
    return xp.full(shape, fill, dt.np)


def zeros(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          layout: Any = None, pin_memory: bool = False) -> Tensor:
    return _factory(0, normalize_shape(size), dtype, device, requires_grad)


def ones(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         layout: Any = None, pin_memory: bool = False) -> Tensor:
    return _factory(1, normalize_shape(size), dtype, device, requires_grad)


def empty(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          layout: Any = None, pin_memory: bool = False, memory_format: Any = None) -> Tensor:
    return _factory(None, normalize_shape(size), dtype, device, requires_grad)


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    return _factory(None, normalize_shape((size,)), dtype, device, requires_grad)


def full(size: Any, fill_value: Any, *, out: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    default = D.scalar_dtype(fill_value) if dtype is None else None
    return _factory(fill_value, normalize_shape((size,)), dtype, device, requires_grad, default)


def scalar_tensor(value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return full((), value, dtype=dtype or D.get_default_dtype(), device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    backend, _ = _backend_and_index(device)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = _from_array(backend.xp.eye(n, n if m is None else m, dtype=dt.np))
    return t.requires_grad_(True) if requires_grad else t


def arange(start: Any, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dt = D.get_default_dtype() if any(isinstance(v, float) for v in vals) else D.int64
    else:
        dt = D.to_dtype(dtype)
    backend, _ = _backend_and_index(device)
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    # computed as start + i * step like PyTorch (not by repeated addition)
    arr = backend.xp.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64) * vals[2] + vals[0]
    t = _from_array(arr.astype(dt.np, copy=False))
    return t.requires_grad_(True) if requires_grad else t


def range_(start: Any, end: Any, step: Any = 1, *, dtype: Any = None, device: Any = None) -> Tensor:
    """torch.range (deprecated in PyTorch): includes ``end``."""
    n = int(math.floor((end - start) / step)) + 1
    return arange(0, n, dtype=D.float64, device=device).mul(step).add(start).to(dtype or D.get_default_dtype())


def linspace(start: Any, end: Any, steps: int, *, out: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    backend, _ = _backend_and_index(device)
    xp = backend.xp
    start, end = (float(v.item()) if isinstance(v, Tensor) else v for v in (start, end))
    if steps == 1:
        arr = xp.asarray([start], dtype=np.float64)
    else:
        # PyTorch fills the first half from start and the second half from end
        i = xp.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1)
        half = steps // 2
        arr = xp.where(i < half, start + step * i, end - step * (steps - 1 - i))
    t = _from_array(arr.astype(dt.np))
    return t.requires_grad_(True) if requires_grad else t


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    exps = linspace(start, end, steps, dtype=D.float64, device=device)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = _from_array((base ** exps._data).astype(dt.np))
    return t.requires_grad_(True) if requires_grad else t


def _like(fill: Any, input: Tensor, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    dt = dtype if dtype is not None else input.dtype
    dev = device if device is not None else input.device
    return _factory(fill, tuple(input.shape), dt, dev, requires_grad)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(0, input, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(1, input, dtype, device, requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(None, input, dtype, device, requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None, memory_format: Any = None) -> Tensor:
    return _like(fill_value, input, dtype, device, requires_grad)


def complex(real: Tensor, imag: Tensor) -> Tensor:
    return real + imag * 1j


# -- dtype / device conversion (differentiable) -----------------------------------------------------
class ToCopy(Op):
    """Cast (and/or move); the gradient is cast back to the input's dtype and device."""

    def forward(self, x: Any) -> Any:
        self.src_dtype = x.dtype
        self.src_backend = backend_for_array(x)
        self.src_index = self.src_backend.device_index(x)
        if self.backend is not None:
            x = self.backend.asarray(x, device_index=self.index, copy=False) if self.backend is not \
                self.src_backend or self.index != self.src_index else x
        if self.np_dtype is not None and x.dtype != self.np_dtype:
            return x.astype(self.np_dtype)
        return x.copy() if self.copy else x

    def backward(self, grad: Tensor) -> Tensor:
        back = grad
        if self.backend is not None and (self.backend is not self.src_backend):
            back = ToCopy.apply(back, backend=self.src_backend, index=self.src_index, np_dtype=None, copy=False)
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
    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, grad: Tensor) -> Tensor:
        return grad


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    return Clone.apply(input)


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    if self._data.flags.c_contiguous:
        return self
    return Clone.apply(self)


def _rebuild_tensor(arr: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    return tensor(arr, device=device, requires_grad=requires_grad)


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


attach("clone", clone)
attach("contiguous", contiguous)
attach("new_tensor", new_tensor)
attach("new_zeros", _new_factory(0))
attach("new_ones", _new_factory(1))
attach("new_empty", _new_factory(None))
attach("new_full", new_full)
