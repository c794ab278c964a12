"""Joining and splitting: cat/stack and their h/v/d/column forms; narrow, select, split, chunk,
tensor_split, h/v/dsplit, unbind.

The pieces of a split are views sharing their input's storage and version counter.
"""
from __future__ import annotations

from typing import Any, Sequence

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, write_out
from .._util import cast, wrap_dim
from ..index.primitives import View as BasicView
from ._common import _ALL, _from_array, _share
from .views import atleast_1d, atleast_2d, atleast_3d, reshape


# -- cat / stack ------------------------------------------------------------------------------------
class Cat(Op):
    saved_names = {"dim": lambda n: n.dim}

    def forward(self, *xs: Any) -> Any:
        self.sizes = [x.shape[self.dim] if k else None for x, k in zip(xs, self.keep)]
        kept = [x for x, k in zip(xs, self.keep) if k]
        return array_module(kept[0]).concatenate(kept, axis=self.dim)

    def backward(self, grad: Tensor) -> tuple:
        outs = []
        start = 0
        for size, edge in zip(self.sizes, self.next_edges):
            if size is None:  # a skipped empty 1-D input
                outs.append(grad._new_zeros_np((0,), grad._data.dtype) if edge is not None else None)
                continue
            outs.append(narrow(grad, self.dim, start, size) if edge is not None else None)
            start += size
        return tuple(outs)


def _result_dtype(tensors: Sequence[Tensor]) -> D.dtype:
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = D.promote_types(dt, t.dtype)
    return dt


def _promote_all(tensors: Sequence[Tensor]) -> list:
    dt = _result_dtype(tensors)
    return [cast(t, dt) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # legacy: 1-D empty tensors are skipped whatever the other shapes
    keep = [t._data.shape != (0,) for t in tensors]
    ref = next((t for t, k in zip(tensors, keep) if k), None)
    if ref is None:
        result = _from_array(tensors[0]._xp.empty((0,), _result_dtype(tensors).np))
        return write_out(result, out)
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    n = ref._data.ndim
    d = wrap_dim(dim, n)
    rshape = ref._data.shape
    for i, (t, k) in enumerate(zip(tensors, keep)):
        if not k:
            continue
        s = t._data.shape
        if len(s) != n:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {n} and {len(s)}")
        for j in range(n):
            if j != d and s[j] != rshape[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {rshape[j]} "
                                   f"but got size {s[j]} for tensor number {i} in the list.")
    return write_out(Cat.apply(*_promote_all(tensors), dim=d, keep=keep), out)


class Stack(Op):
    def forward(self, *xs: Any) -> Any:
        return array_module(xs[0]).stack(xs, axis=self.dim)

    def backward(self, grad: Tensor) -> tuple:
        return unbind(grad, self.dim)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                               f"{list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(s0) + 1)
    return write_out(Stack.apply(*_promote_all(tensors), dim=d), out)


def hstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    return cat([atleast_2d(t) for t in tensors], 0, out=out)


row_stack = vstack


def dstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    return cat([atleast_3d(t) for t in tensors], 2, out=out)


def column_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    cols = [reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return hstack(cols, out=out)


# -- slicing views: narrow, select, split family -----------------------------------------------------
def _basic_view(input: Tensor, index: tuple, kind: str) -> Tensor:
    """``input[index]`` for a tuple of slices and ints: a view (the trailing Ellipsis keeps numpy from
    returning a scalar copy when every dim is selected), its node named ``<kind>Backward0``."""
    return BasicView.apply(input, idx=index + (Ellipsis,), kind=kind)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    start, size = int(start), shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _basic_view(input, (_ALL,) * dim + (slice(start, start + length),), "Slice")


def select(input: Tensor, dim: int, index: Any) -> Tensor:
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    index = int(index)
    if not -shape[dim] <= index < shape[dim]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {dim}")
    return _basic_view(input, (_ALL,) * dim + (index % shape[dim],), "Select")


class SplitView(Op):
    """Pieces along ``dim`` of the given sizes; the outputs are views of the input."""

    def forward(self, x: Any) -> tuple:
        lead = (_ALL,) * self.dim
        outs, start = [], 0
        for s in self.sizes:
            outs.append(x[lead + (slice(start, start + s),)])
            start += s
        return tuple(outs)

    def backward(self, *grads: Tensor) -> Tensor:
        return Cat.apply(*grads, dim=self.dim, keep=[True] * len(grads))

    def name(self) -> str:
        return "SplitWithSizesBackward0" if self.with_sizes else "SplitBackward0"


def _split_sizes(input: Tensor, sizes: Sequence[int], dim: int, with_sizes: bool) -> tuple:
    return _share(SplitView.apply(input, dim=dim, sizes=tuple(sizes), with_sizes=with_sizes), input)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    shape = tensor._data.shape
    if not shape:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, len(shape))
    n = shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sizes}")
        return _split_sizes(tensor, sizes, dim, True)
    size = int(split_size_or_sections)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size == 0:
        if n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        return _split_sizes(tensor, [0], dim, False)
    sizes = [size] * (n // size) + ([n % size] if n % size or n == 0 else [])
    return _split_sizes(tensor, sizes, dim, False)


def split_with_sizes(self: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    return split(self, list(split_sizes), dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    shape = input._data.shape
    if not shape:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, len(shape))
    n = shape[dim]
    if n == 0:
        return _split_sizes(input, [0] * chunks, dim, False)
    return split(input, -(-n // chunks), dim)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    shape = input._data.shape
    if not shape:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    dim = wrap_dim(dim, len(shape))
    n = shape[dim]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios._data.ndim == 0 else ios.tolist()
    lead = (_ALL,) * dim
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        small, extra = divmod(n, ios)
        bounds, start = [], 0
        for i in range(ios):
            stop = start + small + (1 if i < extra else 0)
            bounds.append(slice(start, stop))
            start = stop
    else:
        points = [0] + [int(i) for i in ios] + [None]
        bounds = [slice(a, b) for a, b in zip(points[:-1], points[1:])]
    return tuple(_basic_view(input, lead + (b,), "Slice") for b in bounds)


def _split_dim(name: str, dim: int, min_dim: int) -> Any:
    def fn(input: Tensor, indices_or_sections: Any) -> tuple:
        n = input._data.ndim
        if n < min_dim:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor "
                               f"with {n} dimensions!")
        d = 0 if name == "hsplit" and n == 1 else dim
        if isinstance(indices_or_sections, int):
            size = input._data.shape[d]
            if indices_or_sections == 0 or size % indices_or_sections:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the size of the "
                                   f"dimension {size} is not divisible by the split_size {indices_or_sections}!")
        return tensor_split(input, indices_or_sections, d)

    fn.__name__ = name
    return fn


hsplit = _split_dim("hsplit", 1, 1)
vsplit = _split_dim("vsplit", 0, 2)
dsplit = _split_dim("dsplit", 2, 3)


class Unbind(Op):
    def forward(self, x: Any) -> tuple:
        lead = (_ALL,) * self.dim
        return tuple(x[lead + (i, Ellipsis)] for i in range(x.shape[self.dim]))  # views, even when 0-dim

    def backward(self, *grads: Tensor) -> Tensor:
        return Stack.apply(*grads, dim=self.dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return _share(Unbind.apply(input, dim=wrap_dim(dim, input._data.ndim)), input)


concat = concatenate = cat

methods({
    "split": split, "split_with_sizes": split_with_sizes, "tensor_split": tensor_split, "hsplit": hsplit,
    "vsplit": vsplit, "dsplit": dsplit, "chunk": chunk, "unbind": unbind, "narrow": narrow, "select": select,
})
