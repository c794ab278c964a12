"""``torch.layout`` and ``torch.memory_format``: the layout objects (only ``torch.strided``: tensors are dense)
and the memory formats, with the stride arithmetic behind ``contiguous(memory_format=...)``, ``clone``,
``is_contiguous(memory_format=...)`` and the ``*_like`` factories.

A memory format is an order of the dims in memory: ``contiguous_format`` is row-major, ``channels_last`` keeps
the channel dim innermost for 4-d tensors (N, C, H, W stored as N, H, W, C), ``channels_last_3d`` the same for
5-d ones, and ``preserve_format`` keeps the input's own order when it is dense (PyTorch's rule).
"""
from __future__ import annotations

from typing import Any

__all__ = ["layout", "strided", "memory_format", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format", "legacy_contiguous_format"]


class _NamedConstant:
    """A constant that prints and pickles as the module attribute of its name (``torch.strided``)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name  # pickles as the module attribute of that name


class layout(_NamedConstant):
    """A tensor layout; disttorch tensors are all ``torch.strided`` (dense)."""

    __slots__ = ()


class memory_format(_NamedConstant):
    """The order of a tensor's dims in memory (see the module docstring)."""

    __slots__ = ()


layout.__module__ = memory_format.__module__ = "disttorch"
strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
legacy_contiguous_format = memory_format("legacy_contiguous_format")

_CHANNELS_LAST_NDIM = {channels_last: 4, channels_last_3d: 5}


def dim_order_of(fmt: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The dims outermost to innermost that ``fmt`` asks for on a tensor of ``shape`` (None: row-major)."""
    if fmt is None or fmt is contiguous_format or fmt is legacy_contiguous_format:
        return None
    ndim = _CHANNELS_LAST_NDIM.get(fmt)
    if ndim is None:
        raise RuntimeError(f"unsupported memory format {fmt!r}")
    if len(shape) != ndim:
        name = "channels_last" if ndim == 4 else "channels_last_3d"
        raise RuntimeError(f"required rank {ndim} tensor to use {name} format")
    return (0, *range(2, ndim), 1)


def _dense_order(arr: Any) -> tuple[int, ...] | None:
    """The dims of ``arr`` by decreasing stride when its elements fill their memory without gaps or overlap
    (a permutation of a contiguous array), else None."""
    order = sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]))
    expected = arr.itemsize
    for d in reversed(order):
        if arr.shape[d] != 1:
            if arr.strides[d] != expected:
                return None
            expected *= arr.shape[d]
    return tuple(order)


def in_order(arr: Any, order: tuple[int, ...] | None, xp: Any) -> Any:
    """``arr`` with its values laid out in memory in dim ``order`` (a copy unless already so)."""
    if order is None:
        return arr if arr.flags.c_contiguous else xp.ascontiguousarray(arr)
    inverse = sorted(range(len(order)), key=order.__getitem__)
    stored = arr.transpose(order)
    if not stored.flags.c_contiguous:
        stored = xp.ascontiguousarray(stored)
    return stored.transpose(inverse)


def like_order(ref: Any, fmt: Any) -> tuple[int, ...] | None:
    """The dim order a result made from ``ref`` with memory format ``fmt`` gets (None: row-major).
    ``preserve_format`` (the default) keeps ``ref``'s order when ``ref`` is dense, else row-major."""
    if fmt is None or fmt is preserve_format:
        if ref.flags.c_contiguous:
            return None
        order = _dense_order(ref)
        return None if order is None or order == tuple(range(ref.ndim)) else order
    return dim_order_of(fmt, ref.shape)


def suggested_format(arr: Any) -> memory_format:
    """The memory format ``arr``'s strides look like (PyTorch's ``suggest_memory_format``)."""
    fmt = {4: channels_last, 5: channels_last_3d}.get(arr.ndim)
    if fmt is None or arr.flags.c_contiguous:
        return contiguous_format
    strides = arr.strides
    order = sorted(range(arr.ndim), key=lambda d: -strides[d])
    return fmt if tuple(order) == dim_order_of(fmt, arr.shape) else contiguous_format


def is_contiguous_as(arr: Any, fmt: Any) -> bool:
    """Whether ``arr``'s strides are the contiguous strides of memory format ``fmt`` (dims of size 1 free)."""
    order = dim_order_of(fmt, arr.shape) if fmt is not preserve_format else None
    if order is None:
        return bool(arr.flags.c_contiguous)
    expected = arr.itemsize
    for d in reversed(order):
        if arr.shape[d] != 1 and arr.strides[d] != expected:
            return False
        expected *= arr.shape[d]
    return True
