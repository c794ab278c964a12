"""Views that reinterpret memory: view_as_real / view_as_complex (complex numbers as pairs of floats),
as_strided (any size and stride over the tensor's storage), and the conjugate-transpose properties
``Tensor.H`` / ``Tensor.mH``."""
from __future__ import annotations

import math
from typing import Any, Sequence

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from ._register import inplace_view, methods
from ._util import normalize_shape
from .shape import adjoint
from .shape._common import _as_strided

__all__ = ["view_as_real", "view_as_complex", "as_strided", "slice_inverse"]

_REAL_OF = {"complex64": "float32", "complex128": "float64"}
_COMPLEX_OF = {v: k for k, v in _REAL_OF.items()}


class ViewAsReal(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x[..., None].view(_REAL_OF[x.dtype.name])  # (..., 1) complex read as (..., 2) real

    def backward(self, grad: Tensor) -> Tensor:
        return view_as_complex(grad.contiguous())


class ViewAsComplex(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.view(_COMPLEX_OF[x.dtype.name])[..., 0]

    def backward(self, grad: Tensor) -> Tensor:
        return view_as_real(grad)


def view_as_real(input: Tensor) -> Tensor:
    if input.dtype.category != D.COMPLEX:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    if input.dtype not in (D.float32, D.float64):
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {input.dtype}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride(-1) != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in input.stride()[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


# -- as_strided ---------------------------------------------------------------------------------------------
def _storage_of(t: Tensor) -> Any:
    """The flat array of the storage ``t`` views (its base's memory, or its own)."""
    root = t._base._data if t._base is not None else t._data
    return root.ravel(order="K")  # a view for any contiguous layout


def _positions(xp: Any, size: tuple, stride: tuple, offset: int) -> Any:
    """The storage index of every element of a (size, stride, offset) view, in row-major order."""
    pos = xp.full(size, offset, dtype="int64")
    for d, (n, s) in enumerate(zip(size, stride)):
        pos += (xp.arange(n, dtype="int64") * s).reshape((n,) + (1,) * (len(size) - d - 1))
    return pos.reshape(-1)


class AsStrided(Op):
    view = True

    def forward(self, x: Any) -> Any:
        flat = self.storage
        item = flat.dtype.itemsize
        return _as_strided(flat[self.offset:], self.size, tuple(s * item for s in self.stride))

    def backward(self, grad: Tensor) -> Tensor:
        xp = array_module(grad._data)
        n = self.storage.size
        out_pos = Tensor._from_array(_positions(xp, self.size, self.stride, self.offset))
        in_pos = Tensor._from_array(_positions(xp, self.in_size, self.in_stride, self.in_offset))
        storage_grad = grad.new_zeros(n).index_add(0, out_pos, grad.reshape(-1))
        return storage_grad.take(in_pos).reshape(self.in_size)


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
    size, stride = normalize_shape((size,)), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    flat = _storage_of(input)
    item = flat.dtype.itemsize
    needed = 0 if math.prod(size) == 0 else offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if needed > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {needed * item} are out of bounds for "
                           f"storage of size {flat.size * item}")
    return AsStrided.apply(input, storage=flat, size=size, stride=stride, offset=offset, in_size=tuple(input.shape),
                           in_stride=input.stride(), in_offset=input.storage_offset())


# -- conjugate transposes ------------------------------------------------------------------------------------
def _H(self: Tensor) -> Tensor:
    if self.ndim != 2:
        hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.{hint}")
    return adjoint(self)


def _mH(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return adjoint(self)


methods({
    "view_as_real": view_as_real, "view_as_complex": view_as_complex, "as_strided": as_strided,
    "as_strided_": inplace_view(as_strided), "H": property(_H), "mH": property(_mH),
})


# -- slice_inverse ---------------------------------------------------------------------------------------------
class SliceInverse(AsStrided):
    """``input``'s storage seen with ``src``'s geometry: the base a slice ``input`` was cut from. Its gradient
    is the slice of the incoming gradient (PyTorch's SliceInverseBackward0), not as_strided's scatter."""

    def backward(self, grad: Tensor) -> Tensor:
        index = [slice(None)] * grad.ndim
        index[self.dim] = slice(self.start, self.end, self.step)
        return grad[tuple(index)]


def slice_inverse(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """The inverse of ``src.slice(dim, start, end, step)``: a view of ``input``'s storage with ``src``'s size,
    stride and storage offset (``input`` is the slice, ``src`` stands for the tensor it came from)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"slice_inverse(): argument 'src' (position 2) must be Tensor, not {type(src).__name__}")
    size, stride, offset = tuple(src.shape), src.stride(), src.storage_offset()
    flat = _storage_of(input)
    item = flat.dtype.itemsize
    needed = 0 if math.prod(size) == 0 else offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if needed > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {needed * item} are out of bounds for "
                           f"storage of size {flat.size * item}")
    dim = dim + len(size) if dim < 0 else dim
    return SliceInverse.apply(input, storage=flat, size=size, stride=stride, offset=offset, dim=dim, start=start,
                              end=end, step=step)


methods({"slice_inverse": slice_inverse, "name": property(lambda self: None, doc="Always None, as in PyTorch "
                                                                                  "(a read-only attribute).")})
