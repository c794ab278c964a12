"""What the unary op files share: float promotion of integer inputs, the complex chain rule, errors."""
from __future__ import annotations

from typing import Any, Callable

from disttorch import _autocast
from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import backend_for_array

from .._register import type_word, write_out

_from_array = Tensor._from_array


def cj(t: Any) -> Any:
    """Conjugate for complex tensors (the chain rule for holomorphic functions), identity otherwise."""
    return t.conj() if type(t) is Tensor and t._data.dtype.kind == "c" else t


def zeros_like(t: Tensor) -> Tensor:
    return _from_array(t._xp.zeros_like(t._data))


def copy_of(t: Tensor) -> Tensor:
    """A constant copy: what PyTorch returns where an op is the identity on a dtype (round of an int)."""
    return _from_array(t._data.copy())


def floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions compute in the default float dtype."""
    if x._data.dtype.kind in "biu":
        return _from_array(x._data.astype(D.get_default_dtype().np))
    return x


def not_implemented(x: Tensor, kinds: str, kernel: str) -> None:
    """PyTorch's error for a dtype its kernel does not cover."""
    if x._data.dtype.kind in kinds:
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{type_word(x.dtype)}'")


def float_fn(op: type[Op], name: str) -> Callable[..., Tensor]:
    """The public function ``name(input, *, out=None)`` of a float op (integer inputs compute in float)."""

    if name in _autocast.FP32["cuda"] or name in _autocast.FP32["cpu"]:  # autocast runs it in float32
        def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
            if _autocast.on:
                input = _autocast.cast_input(name, input)
            return write_out(op.apply(floating(input)), out)
    else:
        def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
            return write_out(op.apply(floating(input)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


def kernel(arr: Any, name: str) -> Callable[..., Any]:
    """The backend kernel ``name`` for ``arr`` (a backend without it raises NotImplementedError naming both)."""
    return backend_for_array(arr).kernels[name]
