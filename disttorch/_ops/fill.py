"""Writing values into a tensor: ``copy_``, ``fill_``, ``zero_``, ``fill_diagonal_``, and the cpu-only
Python-callable forms ``apply_``, ``map_``, ``map2_``.

``copy_`` and ``fill_`` cast into the tensor's dtype whatever the source's (as PyTorch does); with autograd
the gradient goes to the source (summed over broadcast dimensions) and none to the overwritten values.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._shapes import broadcast_shape
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends.float8 import check_scalar_fits, is_float8, to_float8

from ._register import _OVERLAP, check_no_overlap, inplace, methods, overlaps
from ._util import as_tensor_like
from .compare import masked_fill
from .creation import zeros_like
from .shape import expand

_from_array = Tensor._from_array


def _into_shape_of(self: Tensor, src: Tensor) -> Tensor:
    """``src`` in ``self``'s dtype, on its device, broadcast to its shape."""
    shape = broadcast_shape(self._data.shape, src._data.shape)
    if shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(shape)}")
    moved = src if src.device == self.device and src.dtype is self.dtype else src.to(self.device, self.dtype)
    return moved if moved._data.shape == self._data.shape else expand(moved, self._data.shape)


class Replace(Op):
    """``new`` in place of ``old``: the gradient goes to ``new``; ``old`` gets zeros, as PyTorch's copy_ and
    fill_ give the values they overwrite."""

    def forward(self, old: Any, new: Any) -> Any:
        return new

    def backward(self, grad: Tensor) -> tuple:
        keep_old, keep_new = self.next_edges
        return (zeros_like(grad) if keep_old else None), (grad if keep_new else None)

    def name(self) -> str:
        return self.label


def _copied(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
    return Replace.apply(self, _into_shape_of(self, src), label="CopyBackwards")


def _filled(self: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        check_no_overlap(self)  # PyTorch fills an expanded tensor from a number only
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        return Replace.apply(self, _into_shape_of(self, value), label="FillBackward1")
    return _into_shape_of(self, as_tensor_like(value, self, self.dtype))


def _set_all(arr: Any, value: Any) -> None:
    arr[...] = to_float8(_host(value), arr.dtype) if is_float8(arr.dtype) else value


def _fill_all(arr: Any, value: Any) -> None:
    if getattr(value, "ndim", 0) != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                           "dimensions.")
    if hasattr(value, "ndim") and overlaps(arr):  # a tensor's value (a number is written into expanded tensors)
        raise RuntimeError(_OVERLAP)
    if is_float8(arr.dtype):
        if not hasattr(value, "ndim"):
            check_scalar_fits(value, arr.dtype, D._SCALAR_NAMES[D.from_np[arr.dtype]])
        value = to_float8(_host(value), arr.dtype)
    arr[...] = value


def _host(value: Any) -> Any:
    """A value written into a float8 (host) array, as a numpy array or number."""
    return value.get() if hasattr(value, "get") and hasattr(value, "__cuda_array_interface__") else value


def _zeroed(self: Tensor) -> Tensor:
    return zeros_like(self)


def _diagonal_mask(shape: tuple, wrap: bool) -> np.ndarray:
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    return mask


def _diagonal_filled(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    mask = _from_array(self._backend.asarray(_diagonal_mask(self._data.shape, wrap),
                                             device_index=self._backend.device_index(self._data)))
    return masked_fill(self, mask, fill_value)


# -- Python callables, element by element (cpu only, no autograd: PyTorch's contract) -----------------------
def _check_callable_target(self: Tensor, what: str, *others: Tensor) -> None:
    for t in (self, *others):
        if not t.is_cpu:
            raise TypeError(f"{what} is only implemented on CPU tensors")
    if grad_mode.is_grad_enabled() and self._requires_grad:
        raise RuntimeError(f"{what}(): Can't call {what}() on Variable that requires grad. Use "
                           f"var.detach().{what}() instead.")


def apply_(self: Tensor, callable: Callable[[Any], Any]) -> Tensor:
    """Replace every element ``v`` by ``callable(v)`` (a Python function; slow, cpu only)."""
    _check_callable_target(self, "apply_")
    flat = self._data.reshape(-1)
    values = [callable(v) for v in flat.tolist()]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


def map_(self: Tensor, tensor: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:
    """``self[i] = callable(self[i], tensor[i])`` with ``tensor`` broadcast to this shape (cpu only)."""
    _check_callable_target(self, "map_", tensor)
    other = np.broadcast_to(tensor._data, self._data.shape)
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(), other.reshape(-1).tolist())]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable[[Any, Any, Any], Any]) -> Tensor:
    """``self[i] = callable(self[i], x[i], y[i])`` with ``x`` and ``y`` broadcast to this shape (cpu only)."""
    _check_callable_target(self, "map2_", x, y)
    xs = np.broadcast_to(x._data, self._data.shape).reshape(-1).tolist()
    ys = np.broadcast_to(y._data, self._data.shape).reshape(-1).tolist()
    values = [callable(a, b, c) for a, b, c in zip(self._data.reshape(-1).tolist(), xs, ys)]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


methods({
    "copy_": inplace(_copied, _set_all, "copy_", cast=True),
    "fill_": inplace(_filled, _fill_all, "fill_", cast=True, on_expanded="allow"),
    "zero_": inplace(_zeroed, lambda arr: _set_all(arr, 0), "zero_", cast=True, on_expanded="allow"),
    "fill_diagonal_": inplace(_diagonal_filled, name="fill_diagonal_", cast=True),
    "apply_": apply_, "map_": map_, "map2_": map2_,
})
