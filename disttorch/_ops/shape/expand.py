"""Broadcasting ops: expand/expand_as, broadcast_to/tensors/shapes, repeat/tile, meshgrid.

``expand`` is a view (zero strides); ``repeat`` and ``tile`` copy.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from disttorch._tensor import Size, Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods
from .._util import normalize_shape, sum_to
from .views import reshape


class Expand(Op):
    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return array_module(x).broadcast_to(x, self.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return sum_to(grad, self.in_shape)


def _expand_shape(t: Tensor, sizes: tuple) -> tuple:
    shape = t._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(f"expand({t.type_name()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shape)})")
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            out.append(s)
            continue
        old = shape[i - lead]
        if s == -1:
            s = old
        elif old != s and old != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({old}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        out.append(s)
    return tuple(out)


def expand(self: Tensor, *sizes: Any) -> Tensor:
    return Expand.apply(self, shape=_expand_shape(self, normalize_shape(sizes)))


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._data.shape)


def expand_copy(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, size).clone()


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, size)


def broadcast_shapes(*shapes: Any) -> Size:
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, v in enumerate(s):
            j = ndim - len(s) + i
            if v != 1 and out[j] != 1 and out[j] != v:
                raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is "
                                   f"between arg 0 and arg {shapes.index(s)}.")
            if v != 1:
                out[j] = v
    return Size(out)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    tensors = tuple(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) else tensors
    shape: tuple = ()
    for t in tensors:
        s = t._data.shape
        n = max(len(shape), len(s))
        a, b = (1,) * (n - len(shape)) + shape, (1,) * (n - len(s)) + s
        for d, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                                   f"non-singleton dimension {d}")
        shape = tuple(y if x == 1 else x for x, y in zip(a, b))
    return tuple(t if t._data.shape == shape else Expand.apply(t, shape=shape) for t in tensors)


class Repeat(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return array_module(x).tile(x, self.reps)

    def backward(self, grad: Tensor) -> Tensor:
        # out dim i is reps[i] copies of size s[i]: split each into (rep, size) and sum over the reps
        padded = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        split = tuple(v for r, s in zip(self.reps, padded) for v in (r, s))
        g = sum_to(reshape(grad, split), tuple(v for s in padded for v in (1, s)))
        return reshape(g, self.in_shape)


def repeat(self: Tensor, *sizes: Any) -> Tensor:
    reps = normalize_shape(sizes)
    if len(reps) < self._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return Repeat.apply(self, reps=reps)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    reps = normalize_shape((dims,))
    return repeat(input, (1,) * (input._data.ndim - len(reps)) + reps)

# -- meshgrid ----------------------------------------------------------------------------------------
def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("torch.meshgrid: Expected at least one tensor")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have the same dtype")
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for t, p in zip(tensors, pos):
        shape[p] = t._data.size
    outs = []
    for t, p in zip(tensors, pos):
        view_shape = [1] * len(tensors)
        view_shape[p] = -1
        outs.append(expand(reshape(t, view_shape), shape))
    return tuple(outs)


def _tile_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return tile(self, normalize_shape(dims) if dims else kw["dims"])


methods({"expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "repeat": repeat,
         "tile": _tile_method})
