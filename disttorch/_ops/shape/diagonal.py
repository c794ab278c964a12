"""Triangles and diagonals: tril/triu, diagonal (a view), diag, diag_embed."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, write_out
from .._util import wrap_dim
from ._common import _ALL, _as_strided


class Tril(Op):
    def forward(self, x: Any) -> Any:
        return array_module(x).tril(x, self.k)

    def backward(self, grad: Tensor) -> Tensor:
        return Tril.apply(grad, k=self.k)


class Triu(Op):
    def forward(self, x: Any) -> Any:
        return array_module(x).triu(x, self.k)

    def backward(self, grad: Tensor) -> Tensor:
        return Triu.apply(grad, k=self.k)


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return write_out(Tril.apply(input, k=int(diagonal)), out)


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return write_out(Triu.apply(input, k=int(diagonal)), out)


def _diag_view(x: Any, offset: int, d1: int, d2: int) -> Any:
    """A writable view of a diagonal (numpy's own ``diagonal`` is read-only)."""
    index = [_ALL] * x.ndim
    index[d1], index[d2] = slice(max(-offset, 0), None), slice(max(offset, 0), None)
    corner = x[tuple(index)]
    d = array_module(x).diagonal(corner, 0, d1, d2)
    if not getattr(d.flags, "writeable", True) and getattr(corner.flags, "writeable", True):
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
        out = array_module(g).zeros(self.shape, g.dtype)
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
        return write_out(diag_embed(input, diagonal, 0, 1), out)
    if n == 2:
        return write_out(DiagonalCopy.apply(input, offset=int(diagonal), dim1=0, dim2=1), out)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


methods({"tril": tril, "triu": triu, "diagonal": diagonal, "diag": diag, "diag_embed": diag_embed})
