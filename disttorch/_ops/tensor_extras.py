"""Tensor methods and torch functions that complete PyTorch's surface over existing ops: the method forms of
the ``*_scatter`` ops, the deprecated out-of-place ``resize``/``resize_as``, ``as_subclass``,
``new_empty_strided``, ``nonzero_static``, ``empty_permuted`` and ``binomial``."""
from __future__ import annotations

import math
import warnings
from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op

from ._register import methods
from ._util import normalize_shape
from .creation import _from_array, empty, empty_strided
from .index import nonzero
from .random import Generator, _generator_for
from .view_copies import as_strided_scatter, diagonal_scatter, select_scatter, slice_scatter

__all__ = ["nonzero_static", "empty_permuted", "binomial", "fill_"]


class Resize(Op):
    """The deprecated out-of-place ``resize``: a reshape that keeps the number of elements."""

    def forward(self, x: Any) -> Any:
        n = math.prod(self.shape)
        if n != x.size:
            sizes = " x ".join(str(s) for s in self.shape)
            raise RuntimeError(f"requested resize to {sizes} ({n} elements in total), but the given tensor has a "
                               f"size of {' x '.join(str(s) for s in x.shape)} ({x.size} elements). autograd's "
                               "resize can only change the shape of a given tensor, while preserving the number "
                               "of elements. ")
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return grad.contiguous().view(self.in_shape)


def resize(self: Tensor, *sizes: Any) -> Tensor:
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return Resize.apply(self, shape=normalize_shape(sizes))


def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return Resize.apply(self, shape=tuple(tensor.shape))


def as_subclass(self: Tensor, cls: type) -> Tensor:
    """``self``'s data and autograd history as an instance of the Tensor subclass ``cls`` (no copy)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): argument 'cls' must be a subclass of torch.Tensor, got {cls!r}")
    src = Alias.apply(self) if self._requires_grad and grad_mode._enabled[0] else self  # PyTorch's AliasBackward0
    out = object.__new__(cls)
    for slot in _SLOTS:
        object.__setattr__(out, slot, getattr(src, slot))
    out._extra = dict(src._extra) if src._extra else None
    return out


_SLOTS = tuple(s for s in Tensor.__slots__ if s not in ("__weakref__", "_extra"))


class Alias(Op):
    """The same values on the same storage, one autograd step further (as_subclass's node)."""

    view = True

    def forward(self, a: Any) -> Any:
        return a.view()

    def backward(self, grad: Tensor) -> Tensor:
        return grad


def new_empty_strided(self: Tensor, size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
                      requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                         requires_grad=requires_grad)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The indices of the first ``size`` nonzero elements as ``nonzero`` gives them, as a ``(size, ndim)``
    tensor padded with ``fill_value`` rows."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got {size}")
    found = nonzero(input)
    if found.shape[0] >= size:
        return found[:size].clone()
    pad = empty(size - found.shape[0], input.ndim, dtype=D.int64, device=input.device).fill_(fill_value)
    from .shape import cat

    return cat([found, pad])


def empty_permuted(size: Any, physical_layout: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims lie in memory in the order ``physical_layout``
    (outermost first): ``empty_permuted((N, C, H, W), (0, 2, 3, 1))`` is channels-last."""
    shape, order = normalize_shape((size,)), tuple(int(d) for d in physical_layout)
    if sorted(order) != list(range(len(shape))):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; "
                           f"or physical_layout {list(order)} is not a permutation of the dims of size "
                           f"{list(shape)}")
    stored = empty(*(shape[d] for d in order), dtype=dtype, device=device)
    inverse = sorted(range(len(order)), key=order.__getitem__)
    out = _from_array(stored._data.transpose(inverse))
    out.requires_grad_(requires_grad)
    return out


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """Draws from Binomial(count, prob), elementwise; floating-point ``count`` and ``prob``."""
    for name, t in (("count", count), ("prob", prob)):
        if not t.is_floating_point():
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: "
                             f"{D._SCALAR_NAMES[t.dtype]}")
    rng = _generator_for(count.device.type, generator)
    xp = count._xp
    n = xp.broadcast_to(count._data, prob._data.shape) if count._data.ndim < prob._data.ndim else count._data
    draws = rng.binomial(n.astype(xp.int64), xp.clip(prob._data.astype(xp.float64), 0, 1))
    return _from_array(draws.astype(count._data.dtype))


def is_nonzero(self: Tensor) -> bool:
    """The truth value of a one-element tensor."""
    n = self.numel()
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with " + ("no values" if n == 0 else "more than one value")
                           + " is ambiguous")
    return bool(self._data.reshape(()))


def fill_(input: Tensor, value: Any) -> Tensor:
    """``input.fill_(value)``."""
    return input.fill_(value)


methods({
    "slice_scatter": slice_scatter, "select_scatter": select_scatter, "diagonal_scatter": diagonal_scatter,
    "as_strided_scatter": as_strided_scatter, "resize": resize, "resize_as": resize_as, "as_subclass": as_subclass,
    "new_empty_strided": new_empty_strided, "nonzero_static": nonzero_static,
    "is_nonzero": is_nonzero,
})
