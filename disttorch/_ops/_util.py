"""Helpers shared by every op module: operand conversion, type promotion, broadcasting reduction."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor, _wrap_dim
from disttorch.autograd.broadcast import BroadcastTo, SumTo, sum_to  # noqa: F401 (op files import them from here)
from disttorch.backends import backend_for_array

_from_array = Tensor._from_array
_SCALARS = (int, float, bool, complex)


def wrap_dim(dim: int, ndim: int) -> int:
    return _wrap_dim(dim, ndim)


def wrap_dims(dims: Any, ndim: int) -> tuple[int, ...]:
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(_wrap_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out} appears multiple times in the list of dims")
    return out


def as_tensor_like(value: Any, like: Tensor, dtype: D.dtype | None = None) -> Tensor:
    """A constant Tensor for ``value`` on ``like``'s device (Python scalars become 0-dim tensors)."""
    if isinstance(value, Tensor):
        return value
    d = dtype if dtype is not None else D.scalar_dtype(value) if isinstance(value, _SCALARS) else None
    return _from_array(constant_like(value, like._data, d.np if d is not None else None))


def constant_like(value: Any, arr: Any, np_dtype: Any = None) -> Any:
    """``value`` as an array of ``arr``'s array type on ``arr``'s device (not the current device's)."""
    if type(arr) is np.ndarray:
        return np.asarray(value, dtype=np_dtype)
    backend = backend_for_array(arr)
    return backend.asarray(value, dtype=np_dtype, device_index=backend.device_index(arr))


def check_same_device(a: Tensor, b: Tensor) -> None:
    """PyTorch's rule: one device for all operands, except that a 0-dim tensor may join from the cpu (here: from
    another device type); two indices of one device type (cuda:0 and cuda:1) never mix."""
    da, db = a._data, b._data
    if type(da) is not type(db):
        if db.ndim > 0 and da.ndim > 0:
            _raise_two_devices(a, b)
    elif type(da) is not np.ndarray:
        backend = backend_for_array(da)
        if backend.device_index(da) != backend.device_index(db):
            _raise_two_devices(a, b)


def _raise_two_devices(a: Tensor, b: Tensor) -> None:
    if "meta" in (a.device.type, b.device.type):
        raise RuntimeError(f"Tensor on device {b.device} is not on the expected device {a.device}!")
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                       f"{a.device} and {b.device}!")


def to_device_of(t: Tensor, like: Tensor) -> Tensor:
    """A 0-dim tensor may join a tensor on another device (PyTorch allows cpu scalars); move it."""
    if type(t._data) is type(like._data):
        return t
    if t._requires_grad:
        return t.to(like.device)  # with its graph: the 0-dim tensor gets its gradient back on its own device
    return _from_array(like._backend.asarray(t.__array__()))


def promote_operands(a: Any, b: Any) -> tuple[Tensor, Tensor, D.dtype]:
    """Both operands as tensors of their common PyTorch result dtype, on the same device."""
    if not isinstance(a, Tensor):
        y, x, dt = promote_operands(b, a)
        return x, y, dt
    if isinstance(b, Tensor):
        check_same_device(a, b)
        if type(a._data) is not type(b._data) and a._data.ndim == 0 and b._data.ndim > 0:
            a = to_device_of(a, b)  # the 0-dim operand joins the other's device (the result lands there)
        if a._data.dtype == b._data.dtype:
            return a, to_device_of(b, a), a.dtype
        dt = D.result_type(a, b)
    else:
        dt = D.result_type(a, b)
        b = as_tensor_like(b, a, dt)
    return cast(a, dt), cast(to_device_of(b, a), dt), dt


def cast(t: Tensor, dt: D.dtype) -> Tensor:
    if t._data.dtype == dt.np:
        return t
    from disttorch._ops.creation import to_dtype_op

    return to_dtype_op(t, dt)




def normalize_shape(args: tuple) -> tuple[int, ...]:
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(torch.Size([2, 3]))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    try:
        return tuple(int(s) if not isinstance(s, Tensor) else int(s.item()) for s in args)
    except (TypeError, ValueError):
        raise TypeError(f"expected a sequence of integers for a size, got {args!r}") from None
