"""View ops: view/reshape/flatten, squeeze/unsqueeze, transpose/permute/t/T/mT/movedim, unfold, atleast_nd.

They return tensors over the same storage and version counter as their input, as in PyTorch
(``UnsafeView``, a reshape that had to copy, is the exception).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op, _share_view
from disttorch.backends import array_module

from .._register import method, methods
from .._util import normalize_shape, wrap_dim, wrap_dims
from ._common import _ALL, _as_strided, _dims_arg, _from_array


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
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
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


class UnsafeView(View):
    """A reshape that had to copy."""

    view = False

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)


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
        out = array_module(g).zeros(self.shape, g.dtype)
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


# -- atleast_nd --------------------------------------------------------------------------------------
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


def _permute_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return permute(self, *(dims or (kw["dims"],)))


def _squeeze_method(self: Tensor, *dims: Any, dim: Any = None) -> Tensor:
    if dims:
        dim = dims[0] if len(dims) == 1 else dims
    return squeeze(self, dim)


methods({
    "view": _view, "view_as": view_as, "reshape": reshape, "reshape_as": reshape_as, "flatten": flatten,
    "unflatten": unflatten, "ravel": ravel, "squeeze": _squeeze_method, "unsqueeze": unsqueeze,
    "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "permute": _permute_method, "t": t,
    "adjoint": adjoint, "movedim": movedim, "moveaxis": movedim, "unfold": unfold,
})
method("T", property(_T))
method("mT", property(_mT))
