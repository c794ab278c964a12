"""Shape and view ops: view/reshape, squeeze, transpose/permute, expand, cat/stack, split family,
narrow/select, flips and rolls, triangles and diagonals, meshgrid, unfold.

View ops (``view = True``, or ``_share`` for multi-output ones) return tensors over the same
storage and version counter as their input, as in PyTorch; the rest copy.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Size, Tensor
from disttorch.autograd.graph import Op, _share_view

from ._util import attach, cast, normalize_shape, self_xp, sum_to, wrap_dim, wrap_dims

__all__ = [
    "reshape", "flatten", "unflatten", "ravel", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims",
    "permute", "t", "adjoint", "expand_copy", "broadcast_to", "broadcast_tensors", "broadcast_shapes", "tile",
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack", "split",
    "tensor_split", "hsplit", "vsplit", "dsplit", "chunk", "unbind", "narrow", "select", "movedim", "moveaxis",
    "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diagonal", "diag", "diag_embed", "meshgrid",
    "atleast_1d", "atleast_2d", "atleast_3d",
]

_from_array = Tensor._from_array
_ALL = slice(None)


def _share(outs: tuple, base: Tensor) -> tuple:
    """Multi-output views: every output shares storage and version counter with ``base``."""
    for o in outs:
        _share_view(o, base)
    return outs


def _as_strided(arr: Any, shape: tuple, strides: tuple) -> Any:
    """A view with explicit byte strides, writable when ``arr`` is."""
    return self_xp(arr).lib.stride_tricks.as_strided(arr, shape=shape, strides=strides)


def _dims_arg(dims: tuple) -> tuple:
    """Accept f(0, 1) and f((0, 1))."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return dims


# -- view / reshape ----------------------------------------------------------------------------------
def _infer_size(shape: tuple, numel: int) -> tuple:
    infer = None
    prod = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
        else:
            prod *= s
    if infer is None:
        if prod != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if prod == 0:
        if numel == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                               "unspecified dimension size -1 can be any value and is ambiguous")
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    if numel % prod:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:infer] + (numel // prod,) + shape[infer + 1:]


def _view_strides(arr: Any, shape: tuple) -> tuple | None:
    """Byte strides that lay ``shape`` over ``arr``'s memory without a copy, or None if there are none.

    Dimensions of ``arr`` are grouped into chunks that are contiguous with each other; every chunk
    must be covered exactly by a run of the new dimensions."""
    old, old_st = arr.shape, arr.strides
    new_st = [0] * len(shape)
    view_d = len(shape) - 1
    base_stride = old_st[-1]
    chunk_numel = view_numel = 1
    for d in range(len(old) - 1, -1, -1):
        chunk_numel *= old[d]
        if d == 0 or (old[d - 1] != 1 and old_st[d - 1] != chunk_numel * base_stride):
            while view_d >= 0 and (view_numel < chunk_numel or shape[view_d] == 1):
                new_st[view_d] = view_numel * base_stride
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != chunk_numel:
                return None
            if d > 0:
                base_stride = old_st[d - 1]
                chunk_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_st)


def _reshape_view(arr: Any, shape: tuple) -> Any | None:
    """``arr`` reshaped without copying, or None when that is impossible."""
    if arr.flags.c_contiguous or arr.size == 0:
        return arr.reshape(shape)
    strides = _view_strides(arr, shape)
    return None if strides is None else _as_strided(arr, shape, strides)


class View(Op):
    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        out = _reshape_view(x, self.shape)
        if out is None:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return reshape(grad, self.in_shape)


class UnsafeView(Op):
    """A reshape that had to copy."""

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return reshape(grad, self.in_shape)


def _view(self: Tensor, *shape: Any, dtype: Any = None) -> Tensor:
    if dtype is None and len(shape) == 1 and isinstance(shape[0], (D.dtype, type)):
        dtype = shape[0]
    if dtype is not None:  # reinterpret the bytes; no gradient flows through this
        out = _from_array(self._data.view(D.to_dtype(dtype).np))
        _share_view(out, self)
        return out
    return View.apply(self, shape=_infer_size(normalize_shape(shape), self._data.size))


def reshape(input: Tensor, *shape: Any) -> Tensor:
    shape = _infer_size(normalize_shape(shape), input._data.size)
    arr = input._data
    if arr.flags.c_contiguous or arr.size == 0 or _view_strides(arr, shape) is not None:
        return View.apply(input, shape=shape)
    return UnsafeView.apply(input, shape=shape)


def view_as(self: Tensor, other: Tensor) -> Tensor:
    return _view(self, other._data.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    sizes = normalize_shape((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = _infer_size(sizes, shape[dim])
    except RuntimeError:
        if sizes.count(-1) > 1:
            raise
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({shape[dim]}) in the input tensor") from None
    return View.apply(input, shape=shape[:dim] + sizes + shape[dim + 1:])


def ravel(input: Tensor) -> Tensor:
    return reshape(input, (-1,))


# -- squeeze / unsqueeze -----------------------------------------------------------------------------
class Squeeze(Op):
    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.squeeze(axis=self.dims)

    def backward(self, grad: Tensor) -> Tensor:
        return reshape(grad, self.in_shape)

    def name(self) -> str:
        return f"SqueezeBackward{self.kind}"


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        kind, dims = 0, tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        kind = 1 if isinstance(dim, int) else 2
        dims = tuple(d for d in wrap_dims(dim, len(shape)) if shape and shape[d] == 1)
    return Squeeze.apply(input, dims=dims, kind=kind)


class Unsqueeze(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x[(_ALL,) * self.dim + (None,)]

    def backward(self, grad: Tensor) -> Tensor:
        return Squeeze.apply(grad, dims=(self.dim,), kind=1)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return Unsqueeze.apply(input, dim=wrap_dim(dim, input._data.ndim + 1))


# -- transpose / permute -----------------------------------------------------------------------------
class Transpose(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.swapaxes(self.dim0, self.dim1)

    def backward(self, grad: Tensor) -> Tensor:
        return Transpose.apply(grad, dim0=self.dim0, dim1=self.dim1)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    if n == 0:
        return Permute.apply(input, dims=())
    return Transpose.apply(input, dim0=d0, dim1=d1)


class Permute(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.transpose(self.dims)

    def backward(self, grad: Tensor) -> Tensor:
        return Permute.apply(grad, dims=tuple(np.argsort(self.dims).tolist()))


class TransposeT(Permute):
    def name(self) -> str:
        return "TBackward0"


def permute(input: Tensor, *dims: Any) -> Tensor:
    dims = _dims_arg(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           "length of the desired ordering of dimensions i.e. input.dim() = "
                           f"{n} is not equal to len(dims) = {len(dims)}")
    wrapped = tuple(wrap_dim(d, n) for d in dims)
    if len(set(wrapped)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=wrapped)


def t(input: Tensor) -> Tensor:
    n = input._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return TransposeT.apply(input, dims=tuple(range(n - 1, -1, -1)))


def _T(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n == 0:
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
                      UserWarning, stacklevel=2)
    elif n != 2:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                      "tensor.", UserWarning, stacklevel=2)
    return Permute.apply(self, dims=tuple(range(n - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {n}-D tensor.")
    return Transpose.apply(self, dim0=n - 2, dim1=n - 1)


def adjoint(input: Tensor) -> Tensor:
    out = _mT(input)
    return out.conj() if input._data.dtype.kind == "c" else out


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    n = input._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
                           f"the same number of dims as destination ({list(dst)} dims)")
    src = tuple(wrap_dim(d, n) for d in src)
    dst = tuple(wrap_dim(d, n) for d in dst)
    for what, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{what}` ({list(ds)})")
    order = [-1] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = tuple(o if o != -1 else next(rest) for o in order)
    return Permute.apply(input, dims=order)


# -- expand / broadcast / repeat ---------------------------------------------------------------------
class Expand(Op):
    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return self_xp(x).broadcast_to(x, self.shape)

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
        return self_xp(x).tile(x, self.reps)

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


# -- cat / stack ------------------------------------------------------------------------------------
class Cat(Op):
    def forward(self, *xs: Any) -> Any:
        self.sizes = [x.shape[self.dim] if k else None for x, k in zip(xs, self.keep)]
        kept = [x for x, k in zip(xs, self.keep) if k]
        return self_xp(kept[0]).concatenate(kept, axis=self.dim)

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
        return _write_out(result, out)
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
    return _write_out(Cat.apply(*_promote_all(tensors), dim=d, keep=keep), out)


def _write_out(result: Tensor, out: Tensor | None) -> Tensor:
    if out is None:
        return result
    from disttorch._ops.arith import _out

    return _out(result, out)


class Stack(Op):
    def forward(self, *xs: Any) -> Any:
        return self_xp(xs[0]).stack(xs, axis=self.dim)

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
    return _write_out(Stack.apply(*_promote_all(tensors), dim=d), out)


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
class IndexView(Op):
    """``x[index]`` for a tuple of slices and ints (always a view)."""

    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, grad: Tensor) -> Tensor:
        return Embed.apply(grad, shape=self.in_shape, index=self.index)


class Slice(IndexView):
    pass


class Select(IndexView):
    pass


class Embed(Op):
    """Backward of an index view: the gradient placed into zeros of the input's shape."""

    def forward(self, g: Any) -> Any:
        out = self_xp(g).zeros(self.shape, g.dtype)
        out[self.index] = g
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return IndexView.apply(grad, index=self.index)


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
    return Slice.apply(input, index=(_ALL,) * dim + (slice(start, start + length),))


def select(input: Tensor, dim: int, index: Any) -> Tensor:
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    index = int(index)
    if not -shape[dim] <= index < shape[dim]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {dim}")
    return Select.apply(input, index=(_ALL,) * dim + (index % shape[dim],))


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
    return tuple(Slice.apply(input, index=lead + (b,)) for b in bounds)


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
        return tuple(x[lead + (i,)] for i in range(x.shape[self.dim]))

    def backward(self, *grads: Tensor) -> Tensor:
        return Stack.apply(*grads, dim=self.dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return _share(Unbind.apply(input, dim=wrap_dim(dim, input._data.ndim)), input)


# -- flips, rolls, rotations (copies) ----------------------------------------------------------------
class Flip(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).flip(x, self.dims).copy() if self.dims else x.copy()

    def backward(self, grad: Tensor) -> Tensor:
        return Flip.apply(grad, dims=self.dims)


def flip(input: Tensor, dims: Any) -> Tensor:
    n = input._data.ndim
    wrapped = tuple(wrap_dim(d, n) for d in ((dims,) if isinstance(dims, int) else dims))
    for i, d in enumerate(wrapped):
        if d in wrapped[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, dims=wrapped)


def fliplr(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


def flipud(input: Tensor) -> Tensor:
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


class Roll(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, grad: Tensor) -> Tensor:
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return Roll.apply(grad, shifts=neg, dims=self.dims)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    n = input._data.ndim
    if dims is None or (isinstance(dims, (tuple, list)) and not dims):
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            shifts = shifts[0]
        return Roll.apply(input, shifts=int(shifts), dims=None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return Roll.apply(input, shifts=shifts, dims=tuple(wrap_dim(d, n) for d in dims))


class Rot90(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).rot90(x, self.k, axes=self.dims).copy()

    def backward(self, grad: Tensor) -> Tensor:
        return Rot90.apply(grad, k=-self.k, dims=self.dims)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    n = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = wrap_dim(dims[0], n), wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return Rot90.apply(input, k=k % 4, dims=(d0, d1))


# -- triangles and diagonals -------------------------------------------------------------------------
class Tril(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).tril(x, self.k)

    def backward(self, grad: Tensor) -> Tensor:
        return Tril.apply(grad, k=self.k)


class Triu(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).triu(x, self.k)

    def backward(self, grad: Tensor) -> Tensor:
        return Triu.apply(grad, k=self.k)


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return _write_out(Tril.apply(input, k=int(diagonal)), out)


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return _write_out(Triu.apply(input, k=int(diagonal)), out)


def _diag_view(x: Any, offset: int, d1: int, d2: int) -> Any:
    """A writable view of a diagonal (numpy's own ``diagonal`` is read-only)."""
    index = [_ALL] * x.ndim
    index[d1], index[d2] = slice(max(-offset, 0), None), slice(max(offset, 0), None)
    corner = x[tuple(index)]
    d = self_xp(x).diagonal(corner, 0, d1, d2)
    if type(d) is np.ndarray and not d.flags.writeable and corner.flags.writeable:
        d = _as_strided(corner, d.shape, d.strides)
    return d


class Diagonal(Op):
    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return _diag_view(x, self.offset, self.dim1, self.dim2)

    def backward(self, grad: Tensor) -> Tensor:
        return DiagEmbed.apply(grad, shape=self.in_shape, offset=self.offset, dim1=self.dim1, dim2=self.dim2)


class DiagonalCopy(Diagonal):
    view = False

    def forward(self, x: Any) -> Any:
        return Diagonal.forward(self, x).copy()

    def name(self) -> str:
        return "DiagonalBackward0"


class DiagEmbed(Op):
    """Zeros of ``shape`` with the input written on a diagonal."""

    def forward(self, g: Any) -> Any:
        out = self_xp(g).zeros(self.shape, g.dtype)
        _diag_view(out, self.offset, self.dim1, self.dim2)[...] = g
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return Diagonal.apply(grad, offset=self.offset, dim1=self.dim1, dim2=self.dim2)


def _diag_dims(n: int, dim1: int, dim2: int) -> tuple[int, int]:
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    d1, d2 = _diag_dims(input._data.ndim, dim1, dim2)
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    shape = input._data.shape
    d1, d2 = _diag_dims(len(shape) + 1, dim1, dim2)
    n = (shape[-1] if shape else 1) + abs(offset)
    out = list(shape[:-1])
    lo, hi = sorted((d1, d2))
    out.insert(lo, n)
    out.insert(hi, n)
    return DiagEmbed.apply(input, shape=tuple(out), offset=int(offset), dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    n = input._data.ndim
    if n == 1:
        return _write_out(diag_embed(input, diagonal, 0, 1), out)
    if n == 2:
        return _write_out(DiagonalCopy.apply(input, offset=int(diagonal), dim1=0, dim2=1), out)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


# -- unfold ------------------------------------------------------------------------------------------
class Unfold(Op):
    """Sliding windows of ``size`` every ``step`` along ``dim``; the window is the new last dim."""

    view = True

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        d, size, step = self.dim, self.size, self.step
        count = (x.shape[d] - size) // step + 1
        shape = x.shape[:d] + (count,) + x.shape[d + 1:] + (size,)
        strides = x.strides[:d] + (x.strides[d] * step,) + x.strides[d + 1:] + (x.strides[d],)
        return _as_strided(x, shape, strides)

    def backward(self, grad: Tensor) -> Tensor:
        return UnfoldBackward.apply(grad, shape=self.in_shape, dim=self.dim, size=self.size, step=self.step)


class UnfoldBackward(Op):
    """Sum of the windows' gradients back into the input's shape."""

    def forward(self, g: Any) -> Any:
        out = self_xp(g).zeros(self.shape, g.dtype)
        count = g.shape[self.dim]
        lead = (_ALL,) * self.dim
        for k in range(self.size):
            out[lead + (slice(k, k + self.step * (count - 1) + 1, self.step),)] += g[..., k]
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return Unfold.apply(grad, dim=self.dim, size=self.size, step=self.step)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    if self._data.ndim == 0:
        return unfold(reshape(self, (1,)), 0, size, step).squeeze(0)
    dim = wrap_dim(dimension, self._data.ndim)
    n = self._data.shape[dim]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(self, dim=dim, size=size, step=step)


# -- meshgrid, atleast_nd ----------------------------------------------------------------------------
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


def _atleast(fn: Any) -> Any:
    def wrapper(*tensors: Any) -> Any:
        if len(tensors) == 1 and isinstance(tensors[0], Tensor):
            return fn(tensors[0])
        if len(tensors) == 1:
            tensors = tuple(tensors[0])
        return tuple(fn(t) for t in tensors)

    wrapper.__name__ = fn.__name__
    return wrapper


@_atleast
def atleast_1d(t: Tensor) -> Tensor:
    return reshape(t, (1,)) if t._data.ndim == 0 else t


@_atleast
def atleast_2d(t: Tensor) -> Tensor:
    n = t._data.ndim
    return reshape(t, (1, 1)) if n == 0 else unsqueeze(t, 0) if n == 1 else t


@_atleast
def atleast_3d(t: Tensor) -> Tensor:
    n = t._data.ndim
    if n == 0:
        return reshape(t, (1, 1, 1))
    if n == 1:
        return unsqueeze(unsqueeze(t, 0), 2)
    return unsqueeze(t, 2) if n == 2 else t


# -- aliases and Tensor methods ----------------------------------------------------------------------
swapaxes = swapdims = transpose
moveaxis = movedim
concat = concatenate = cat


def _permute_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return permute(self, *(dims or (kw["dims"],)))


def _squeeze_method(self: Tensor, *dims: Any, dim: Any = None) -> Tensor:
    if dims:
        dim = dims[0] if len(dims) == 1 else dims
    return squeeze(self, dim)


def _flip_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return flip(self, _dims_arg(dims) if dims else kw["dims"])


def _tile_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return tile(self, normalize_shape(dims) if dims else kw["dims"])


for _name, _fn in (
    ("view", _view), ("view_as", view_as), ("reshape", reshape), ("reshape_as", reshape_as), ("flatten", flatten),
    ("unflatten", unflatten), ("ravel", ravel), ("squeeze", _squeeze_method), ("unsqueeze", unsqueeze),
    ("transpose", transpose), ("swapaxes", transpose), ("swapdims", transpose), ("permute", _permute_method),
    ("t", t), ("adjoint", adjoint), ("expand", expand), ("expand_as", expand_as), ("broadcast_to", broadcast_to),
    ("repeat", repeat), ("tile", _tile_method), ("split", split), ("split_with_sizes", split_with_sizes),
    ("tensor_split", tensor_split), ("hsplit", hsplit), ("vsplit", vsplit), ("dsplit", dsplit), ("chunk", chunk),
    ("unbind", unbind), ("narrow", narrow), ("select", select), ("movedim", movedim), ("moveaxis", movedim),
    ("flip", _flip_method), ("fliplr", fliplr), ("flipud", flipud), ("roll", roll), ("rot90", rot90),
    ("tril", tril), ("triu", triu), ("diagonal", diagonal), ("diag", diag), ("diag_embed", diag_embed),
    ("unfold", unfold),
):
    attach(_name, _fn)

Tensor.T = property(_T)
Tensor.mT = property(_mT)
