"""Reordering ops (copies): flip/fliplr/flipud, roll, rot90."""
from __future__ import annotations

from typing import Any, Sequence

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods
from .._util import wrap_dim
from ._common import _dims_arg


class Flip(Op):
    def forward(self, x: Any) -> Any:
        return array_module(x).flip(x, self.dims).copy() if self.dims else x.copy()

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
        return array_module(x).roll(x, self.shifts, axis=self.dims)

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
        return array_module(x).rot90(x, self.k, axes=self.dims).copy()

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


def _flip_method(self: Tensor, *dims: Any, **kw: Any) -> Tensor:
    return flip(self, _dims_arg(dims) if dims else kw["dims"])


methods({"flip": _flip_method, "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90})
